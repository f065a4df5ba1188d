//===- Emulator.cpp - the cuda-emu SIMT execution engine --------------------===//
//
// Fibers are ucontext coroutines. The scheduler of a block runs every ready fiber
// until it blocks (barrier, warp collective) or finishes, then resolves what is
// blocked: releases a barrier that every live thread reached, completes a warp
// collective that every lane of the warp reached, and otherwise reports the
// divergence or deadlock.
//
//===----------------------------------------------------------------------===//
#include "runtime/emu/Emulator.h"

#include "runtime/ThreadPool.h"
#include "runtime/emu/FiberSanitizer.h"
#include "runtime/emu/KernelProfile.h"

#include <ucontext.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <memory>
#include <unordered_map>
#include <vector>

namespace attnc::emu {
namespace {

constexpr int64_t kWarpSize = 32;
/// Every workgroup allocation is followed by a guard of this many bytes, filled with
/// kSharedGuardByte and checked when the block ends: an emulated access is checked
/// before it touches memory, so a damaged guard is a defect of the emulator itself.
constexpr size_t kSharedGuardBytes = 64;
constexpr char kSharedGuardByte = char(0xA5);

struct Fiber {
  enum class State { Ready, AtBarrier, AtCollective, Done };
  ucontext_t context;
  std::unique_ptr<char[]> stack;
  FiberStack sanitizerStack;
  Dim3 tid;
  int64_t linear = 0;
  State state = State::Ready;
  const char *waitLoc = "";
  /// cp.async copies issued by this thread: closed groups, then the open one.
  struct AsyncCopy {
    char *dst;
    const char *src;
    size_t bytes, srcBytes;
  };
  std::vector<std::vector<AsyncCopy>> asyncGroups;
  std::vector<AsyncCopy> openGroup;
  /// This lane's result of the last warp collective, copied out when the collective
  /// completes (the warp's scratch is reused by the next collective right away).
  std::vector<char> collectiveResult;
};

struct Collective {
  std::string what;
  int64_t participants = kWarpSize; ///< lanes [0, participants) take part
  const char *loc = "";
  size_t inBytes = 0, outBytes = 0;
  std::vector<char> inputs, outputs;
  std::function<void(const char *, char *)> compute;
  bool done = false;
};

/// The last accesses to one byte of shared memory since the last barrier.
struct Shadow {
  int64_t writer = -1, writeEpoch = -1;
  int64_t reader = -1, readEpoch = -1;
  bool manyReaders = false;
  /// The warp-collective count of the accessing thread's warp at the last write and
  /// the last read (a collective orders the accesses of its lanes), and the warp of
  /// the readers (-2 when they are in different warps).
  int64_t writeSync = -1, readSync = -1, readerWarp = -1;
};

struct Block {
  const LaunchConfig *config = nullptr;
  const std::function<void()> *body = nullptr;
  Dim3 blockIdx;
  std::vector<Fiber> fibers;
  ucontext_t scheduler;
  FiberStack schedulerStack;
  Fiber *current = nullptr;
  std::map<int64_t, std::pair<std::unique_ptr<char[]>, size_t>> shared;
  std::vector<Collective> warps;
  std::vector<int64_t> warpSync; ///< completed collectives per warp
  std::unordered_map<uintptr_t, Shadow> shadow;
  /// Workgroup bytes targeted by a cp.async that has not completed: byte → location.
  std::unordered_map<uintptr_t, const char *> pendingAsync;
  std::unique_ptr<BlockProfile> profile; ///< when profiling (KernelProfile.h)
  int64_t epoch = 0;
  std::string error;

  std::string where(const Fiber &f, const char *loc) const {
    auto d3 = [](Dim3 d) {
      return "(" + std::to_string(d.x) + ", " + std::to_string(d.y) + ", " +
             std::to_string(d.z) + ")";
    };
    return std::string(loc && *loc ? loc : "<unknown location>") + ": kernel '" +
           config->kernel + "', block " + d3(blockIdx) + ", thread " + d3(f.tid);
  }
  void fail(const Fiber &f, const char *loc, const std::string &message) {
    if (error.empty())
      error = where(f, loc) + ": " + message;
  }
  /// Appends to the error a report of every workgroup allocation whose guard was
  /// written (see kSharedGuardBytes).
  void checkSharedGuards() {
    for (auto &[id, allocation] : shared) {
      const char *guard = allocation.first.get() + allocation.second;
      size_t damaged = 0;
      for (size_t i = 0; i < kSharedGuardBytes; ++i)
        damaged += guard[i] != kSharedGuardByte;
      if (damaged)
        error += (error.empty() ? "" : "; ") + std::string("cuda-emu defect: ") +
                 std::to_string(damaged) + " guard bytes after workgroup allocation " +
                 std::to_string(id) + " of kernel '" + config->kernel +
                 "' were overwritten";
    }
  }
  ~Block() {
    for (Fiber &f : fibers)
      FiberSwitch::destroy(f.sanitizerStack);
  }
};

thread_local Block *gBlock = nullptr;

/// The first frame of every fiber: runs the kernel body, then returns to the
/// scheduler for good.
void fiberEntry() {
  Block *block = gBlock;
  Fiber *self = block->current;
  FiberSwitch::arrived(self->sanitizerStack, &block->schedulerStack);
  (*block->body)();
  self->state = Fiber::State::Done;
  FiberSwitch::leaveForever(block->schedulerStack);
  FiberSwitch::swap(&self->context, &block->scheduler);
}

/// Suspends the current fiber and returns to the scheduler.
void yieldToScheduler() {
  Block *block = gBlock;
  Fiber *self = block->current;
  FiberSwitch::leave(self->sanitizerStack, block->schedulerStack);
  FiberSwitch::swap(&self->context, &block->scheduler);
  FiberSwitch::arrived(self->sanitizerStack, &block->schedulerStack);
}

/// Runs fiber `f` until it blocks or finishes.
void switchToFiber(Block &block, Fiber &f) {
  block.current = &f;
  FiberSwitch::leave(block.schedulerStack, f.sanitizerStack);
  FiberSwitch::swap(&block.scheduler, &f.context);
  FiberSwitch::arrived(block.schedulerStack, nullptr);
}

int64_t warpOf(const Fiber &f) { return f.linear / kWarpSize; }

/// Resolves blocked fibers when none can run. Returns false if nothing changed.
bool resolve(Block &block) {
  std::vector<Fiber *> atBarrier, done, atCollective;
  for (Fiber &f : block.fibers) {
    if (f.state == Fiber::State::AtBarrier)
      atBarrier.push_back(&f);
    else if (f.state == Fiber::State::Done)
      done.push_back(&f);
    else if (f.state == Fiber::State::AtCollective)
      atCollective.push_back(&f);
  }
  // Warp collectives: complete those whose warp is entirely there.
  bool progressed = false;
  for (Fiber *f : atCollective) {
    if (f->state != Fiber::State::AtCollective)
      continue;
    int64_t warp = warpOf(*f);
    int64_t first = warp * kWarpSize;
    Collective &c = block.warps[size_t(warp)];
    int64_t last = std::min<int64_t>(first + c.participants, int64_t(block.fibers.size()));
    bool complete = true;
    for (int64_t i = first; i < last; ++i) {
      Fiber &lane = block.fibers[size_t(i)];
      if (lane.state == Fiber::State::AtCollective)
        continue;
      complete = false;
      if (lane.state != Fiber::State::Ready) {
        block.fail(*f, c.loc,
                   "warp collective '" + c.what + "' is not executed by every lane of "
                   "warp " + std::to_string(warp) + ": lane " +
                   std::to_string(i - first) +
                   (lane.state == Fiber::State::Done ? " has exited"
                                                     : std::string(" waits at a barrier at ") +
                                                           lane.waitLoc));
        return false;
      }
    }
    if (!complete)
      continue;
    c.compute(c.inputs.data(), c.outputs.data());
    c.done = true;
    ++block.warpSync[size_t(warp)];
    for (int64_t i = first; i < last; ++i) {
      Fiber &lane = block.fibers[size_t(i)];
      const char *result = c.outputs.data() + size_t(i - first) * c.outBytes;
      lane.collectiveResult.assign(result, result + c.outBytes);
      lane.state = Fiber::State::Ready;
    }
    progressed = true;
  }
  if (progressed)
    return true;
  if (!atBarrier.empty()) {
    if (!done.empty()) {
      block.fail(*atBarrier.front(), atBarrier.front()->waitLoc,
                 "barrier reached by " + std::to_string(atBarrier.size()) + " of " +
                     std::to_string(block.fibers.size()) +
                     " threads; the others have exited (divergent barrier)");
      return false;
    }
    for (Fiber *f : atBarrier)
      if (std::strcmp(f->waitLoc, atBarrier.front()->waitLoc) != 0) {
        block.fail(*f, f->waitLoc,
                   std::string("threads wait at different barriers (this one and ") +
                       atBarrier.front()->waitLoc + ")");
        return false;
      }
    if (!atCollective.empty()) {
      block.fail(*atCollective.front(), atCollective.front()->waitLoc,
                 "deadlock: this thread waits in a warp collective while others wait "
                 "at a barrier");
      return false;
    }
    for (Fiber *f : atBarrier)
      f->state = Fiber::State::Ready;
    ++block.epoch; // accesses before the barrier no longer race
    if (block.profile) {
      block.profile->flush();
      ++block.profile->counts.barriers;
    }
    block.shadow.clear();
    return true;
  }
  return false;
}

/// Creates one fiber per thread of the block.
void createFibers(Block &block) {
  int64_t n = block.config->block.count();
  block.fibers.resize(size_t(n));
  block.warps.resize(size_t((n + kWarpSize - 1) / kWarpSize));
  block.warpSync.assign(block.warps.size(), 0);
  const Dim3 &bd = block.config->block;
  for (int64_t i = 0; i < n; ++i) {
    Fiber &f = block.fibers[size_t(i)];
    f.linear = i;
    f.tid = {i % bd.x, (i / bd.x) % bd.y, i / (bd.x * bd.y)};
    f.stack.reset(new char[block.config->stackBytes]);
    getcontext(&f.context);
    f.context.uc_stack.ss_sp = f.stack.get();
    f.context.uc_stack.ss_size = block.config->stackBytes;
    f.context.uc_link = nullptr;
    makecontext(&f.context, fiberEntry, 0);
    FiberSwitch::create(f.sanitizerStack, f.stack.get(), block.config->stackBytes);
  }
  FiberSwitch::initScheduler(block.schedulerStack);
  if (profiling())
    block.profile = std::make_unique<BlockProfile>(n);
}

/// Runs the fibers until all finish or one fails (block.error).
void runFibers(Block &block) {
  while (true) {
    bool ran = false;
    for (Fiber &f : block.fibers) {
      if (f.state != Fiber::State::Ready)
        continue;
      switchToFiber(block, f);
      ran = true;
      if (!block.error.empty())
        return;
    }
    bool allDone = true;
    for (const Fiber &f : block.fibers)
      allDone &= f.state == Fiber::State::Done;
    if (allDone)
      return;
    if (ran)
      continue;
    if (!resolve(block)) {
      if (block.error.empty())
        block.fail(block.fibers.front(), "", "deadlock: no thread can make progress");
      return;
    }
  }
}

/// Runs one block: its threads, then the check of its workgroup memory's guards.
Status runBlock(Block &block) {
  createFibers(block);
  runFibers(block);
  block.checkSharedGuards();
  if (block.profile)
    block.profile->flush();
  if (!block.error.empty())
    return Status::error(block.error);
  return Status::ok();
}

Block &currentBlock() { return *gBlock; }

} // namespace

Status launch(const LaunchConfig &config, const std::function<void()> &body) {
  if (config.block.count() < 1 || config.grid.count() < 1)
    return Status::error("kernel '" + config.kernel + "': empty grid or block");
  if (config.block.count() > 1024)
    return Status::error("kernel '" + config.kernel + "': " +
                         std::to_string(config.block.count()) +
                         " threads per block (at most 1024)");
  const Dim3 &g = config.grid;
  // Blocks are independent: they run on the CPU thread pool, each on one thread.
  // The error of the lowest-numbered failing block is reported, so the result does
  // not depend on scheduling.
  std::mutex errorMutex;
  int64_t errorBlock = g.count();
  std::string error;
  KernelProfile profile;
  profile.kernel = config.kernel;
  profile.launches = 1;
  auto runBlocks = [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      {
        std::lock_guard<std::mutex> lock(errorMutex);
        if (errorBlock < i)
          return; // an earlier block already failed
      }
      Block block;
      block.config = &config;
      block.body = &body;
      block.blockIdx = {i % g.x, (i / g.x) % g.y, i / (g.x * g.y)};
      Block *saved = gBlock;
      gBlock = &block;
      Status s = runBlock(block);
      gBlock = saved;
      if (block.profile) {
        std::lock_guard<std::mutex> lock(errorMutex);
        block.profile->counts.blocks = 1;
        profile.add(block.profile->counts);
      }
      if (!s) {
        std::lock_guard<std::mutex> lock(errorMutex);
        if (i < errorBlock) {
          errorBlock = i;
          error = s.message();
        }
        return;
      }
    }
  };
  if (config.parallelBlocks)
    ThreadPool::global().parallelFor(g.count(), runBlocks);
  else
    runBlocks(0, g.count());
  if (profile.blocks)
    recordLaunch(profile);
  if (errorBlock < g.count())
    return Status::error(error);
  return Status::ok();
}

Dim3 threadIdx() { return currentBlock().current->tid; }
Dim3 blockIdx() { return currentBlock().blockIdx; }
Dim3 blockDim() { return currentBlock().config->block; }
Dim3 gridDim() { return currentBlock().config->grid; }
int64_t linearThreadId() { return currentBlock().current->linear; }
int64_t laneId() { return currentBlock().current->linear % kWarpSize; }

void barrier(const char *loc) {
  Block &block = currentBlock();
  block.current->state = Fiber::State::AtBarrier;
  block.current->waitLoc = loc;
  yieldToScheduler();
}

void warpCollective(const char *what, const void *in, size_t inBytes, void *out,
                    size_t outBytes,
                    const std::function<void(const char *, char *)> &compute,
                    const char *loc, int64_t participants) {
  Block &block = currentBlock();
  Fiber &self = *block.current;
  Collective &c = block.warps[size_t(warpOf(self))];
  int64_t lane = self.linear % kWarpSize;
  bool first = true;
  int64_t warpFirst = warpOf(self) * kWarpSize;
  for (int64_t i = warpFirst;
       i < std::min<int64_t>(warpFirst + kWarpSize, int64_t(block.fibers.size())); ++i)
    if (block.fibers[size_t(i)].state == Fiber::State::AtCollective)
      first = false;
  if (first) {
    c.what = what;
    c.participants = participants;
    c.loc = loc;
    c.inBytes = inBytes;
    c.outBytes = outBytes;
    c.inputs.assign(inBytes * kWarpSize, 0);
    c.outputs.assign(outBytes * kWarpSize, 0);
    c.compute = compute;
    c.done = false;
  } else if (c.what != what || c.inBytes != inBytes || c.outBytes != outBytes) {
    block.fail(self, loc,
               "lanes of warp " + std::to_string(warpOf(self)) +
                   " execute different collectives ('" + c.what + "' and '" + what + "')");
    self.state = Fiber::State::Done;
    yieldToScheduler();
    return;
  }
  std::memcpy(c.inputs.data() + size_t(lane) * inBytes, in, inBytes);
  self.state = Fiber::State::AtCollective;
  self.waitLoc = loc;
  yieldToScheduler();
  std::memcpy(out, self.collectiveResult.data(), outBytes);
}

uint32_t shuffle(uint32_t value, int32_t offset, int32_t width, ShuffleMode mode,
                 bool *valid, const char *loc) {
  Block &block = currentBlock();
  Fiber &self = *block.current;
  int64_t lanes = std::min<int64_t>(
      kWarpSize, int64_t(block.fibers.size()) - warpOf(self) * kWarpSize);
  if (width < 1 || width > lanes) {
    block.fail(self, loc,
               "gpu.shuffle width " + std::to_string(width) + " is outside [1, " +
                   std::to_string(lanes) + "], the lanes of this warp");
    return value;
  }
  if (laneId() >= width) {
    block.fail(self, loc,
               "lane " + std::to_string(laneId()) + " executes a gpu.shuffle of width " +
                   std::to_string(width) + ": only lanes 0.." + std::to_string(width - 1) +
                   " take part (shfl.sync member mask)");
    return value;
  }
  struct In {
    uint32_t value;
    int32_t offset;
  } in{value, offset};
  struct Out {
    uint32_t value;
    uint32_t valid;
  } out{};
  char what[32]; // not a std::string: nothing on the heap across a yield
  std::snprintf(what, sizeof(what), "shuffle.%s width %d",
                mode == ShuffleMode::Xor   ? "xor"
                : mode == ShuffleMode::Idx ? "idx"
                : mode == ShuffleMode::Up  ? "up"
                                           : "down",
                int(width));
  warpCollective(
      what, &in, sizeof(In), &out, sizeof(Out),
      [=](const char *inputs, char *outputs) {
        auto inAt = [&](int64_t l) { return reinterpret_cast<const In *>(inputs)[l]; };
        // shfl.sync as upstream's NVVM lowering issues it: member mask = lanes
        // [0, width), no segments, clamp c = width - 1 (up: 32 - width).
        int64_t clamp = mode == ShuffleMode::Up ? kWarpSize - width : width - 1;
        for (int64_t l = 0; l < width; ++l) {
          int64_t b = inAt(l).offset & (kWarpSize - 1), src = l;
          bool ok = false;
          switch (mode) {
          case ShuffleMode::Xor: src = l ^ b; ok = src <= clamp; break;
          case ShuffleMode::Idx: src = b; ok = src <= clamp; break;
          case ShuffleMode::Up: src = l - b; ok = src >= clamp; break;
          case ShuffleMode::Down: src = l + b; ok = src <= clamp; break;
          }
          Out &o = reinterpret_cast<Out *>(outputs)[l];
          o.value = ok ? inAt(src).value : inAt(l).value;
          o.valid = ok;
        }
      },
      loc, width);
  if (valid)
    *valid = out.valid != 0;
  return out.value;
}

void *sharedMemory(int64_t id, size_t bytes) {
  Block &block = currentBlock();
  auto it = block.shared.find(id);
  if (it == block.shared.end()) {
    std::unique_ptr<char[]> memory(new char[bytes + kSharedGuardBytes]());
    std::memset(memory.get() + bytes, kSharedGuardByte, kSharedGuardBytes);
    it = block.shared.emplace(id, std::make_pair(std::move(memory), bytes)).first;
  }
  return it->second.first.get();
}

void *dynamicSharedMemory(size_t *bytes) {
  *bytes = currentBlock().config->dynamicSharedBytes;
  return sharedMemory(-1, *bytes); // static allocations have ids >= 0
}

bool checkSharedAccess(const void *ptr, size_t bytes, bool isWrite, const char *loc,
                       const void *newValue) {
  Block &block = currentBlock();
  Fiber &self = *block.current;
  uintptr_t p = reinterpret_cast<uintptr_t>(ptr);
  bool inside = false;
  for (auto &[id, allocation] : block.shared) {
    uintptr_t base = reinterpret_cast<uintptr_t>(allocation.first.get());
    if (p >= base && p + bytes <= base + allocation.second)
      inside = true;
  }
  if (!inside) {
    block.fail(self, loc,
               std::string(isWrite ? "write" : "read") + " of " + std::to_string(bytes) +
                   " bytes outside every workgroup memory allocation");
    return false;
  }
  if (!block.pendingAsync.empty())
    for (size_t i = 0; i < bytes; ++i) {
      auto pending = block.pendingAsync.find(p + i);
      if (pending != block.pendingAsync.end()) {
        block.fail(self, loc,
                   std::string(isWrite ? "write" : "read") +
                       " of workgroup memory whose cp.async (issued at " + pending->second +
                       ") has not completed: missing nvgpu.device_async_wait");
        return true;
      }
    }
  if (!block.config->checkRaces)
    return true;
  int64_t warp = warpOf(self), sync = block.warpSync[size_t(warp)];
  // An earlier access by a lane of this warp is ordered before this one when a warp
  // collective (which all its lanes must reach) has completed since.
  auto ordered = [&](int64_t otherWarp, int64_t otherSync) {
    return otherWarp == warp && sync > otherSync;
  };
  const auto *newBytes = static_cast<const unsigned char *>(newValue);
  for (size_t i = 0; i < bytes; ++i) {
    Shadow &s = block.shadow[p + i];
    bool writtenByOther = s.writeEpoch == block.epoch && s.writer != self.linear &&
                          !ordered(s.writer / kWarpSize, s.writeSync);
    if (isWrite) {
      // Writing the value the memory already holds (several threads storing the
      // same result) is a benign race, as compute-sanitizer's racecheck treats it.
      if (writtenByOther && newBytes &&
          *reinterpret_cast<const unsigned char *>(p + i) == newBytes[i])
        writtenByOther = false;
      bool readByOther = s.readEpoch == block.epoch &&
                         (s.manyReaders || s.reader != self.linear) &&
                         !(s.readerWarp >= 0 && ordered(s.readerWarp, s.readSync));
      if (writtenByOther || readByOther) {
        block.fail(self, loc,
                   "data race on workgroup memory: this write and an access by thread " +
                       std::to_string(writtenByOther ? s.writer : s.reader) +
                       " (linear id) with no barrier between them");
        return true; // inside the allocation: a race does not make it fault
      }
      s.writer = self.linear;
      s.writeEpoch = block.epoch;
      s.writeSync = sync;
    } else {
      if (writtenByOther) {
        block.fail(self, loc,
                   "data race on workgroup memory: this read and a write by thread " +
                       std::to_string(s.writer) +
                       " (linear id) with no barrier between them");
        return true;
      }
      if (s.readEpoch != block.epoch) {
        s.reader = self.linear;
        s.readEpoch = block.epoch;
        s.manyReaders = false;
        s.readerWarp = warp;
      } else if (s.reader != self.linear) {
        s.manyReaders = true;
        if (s.readerWarp != warp)
          s.readerWarp = -2;
      }
      s.readSync = sync;
    }
  }
  return true;
}

void asyncCopy(void *dst, const void *src, size_t bytes, size_t srcBytes, const char *loc) {
  Block &block = currentBlock();
  Fiber &self = *block.current;
  // The destination must be workgroup memory (checked as a write now: the copy will
  // land there later).
  if (!checkSharedAccess(dst, bytes, /*isWrite=*/true, loc))
    return; // reported; a faulting copy writes nothing
  uintptr_t p = reinterpret_cast<uintptr_t>(dst);
  for (size_t i = 0; i < bytes; ++i)
    block.pendingAsync[p + i] = loc;
  self.openGroup.push_back({static_cast<char *>(dst), static_cast<const char *>(src), bytes,
                            std::min(srcBytes, bytes)});
}

void asyncCommitGroup() {
  Fiber &self = *currentBlock().current;
  self.asyncGroups.push_back(std::move(self.openGroup));
  self.openGroup.clear();
}

void asyncWait(int64_t pendingGroups, const char *loc) {
  Block &block = currentBlock();
  Fiber &self = *block.current;
  int64_t complete = int64_t(self.asyncGroups.size()) - std::max<int64_t>(0, pendingGroups);
  for (int64_t g = 0; g < complete; ++g)
    for (const Fiber::AsyncCopy &c : self.asyncGroups[size_t(g)]) {
      std::memcpy(c.dst, c.src, c.srcBytes);
      std::memset(c.dst + c.srcBytes, 0, c.bytes - c.srcBytes);
      uintptr_t p = reinterpret_cast<uintptr_t>(c.dst);
      for (size_t i = 0; i < c.bytes; ++i)
        block.pendingAsync.erase(p + i);
    }
  if (complete > 0)
    self.asyncGroups.erase(self.asyncGroups.begin(), self.asyncGroups.begin() + complete);
}

void profileSharedAccess(int64_t site, const void *ptr, size_t bytes, bool async) {
  Block &block = currentBlock();
  if (block.profile)
    block.profile->access(block.current->linear, site, reinterpret_cast<uintptr_t>(ptr),
                          uint32_t(bytes), async);
}

void profileWarpInstruction(const BankCost &cost, bool isLdmatrix) {
  Block &block = currentBlock();
  if (!block.profile)
    return;
  block.profile->warpInstruction(cost);
  block.profile->counts.ldmatrix += isLdmatrix;
}

void profileMma() {
  Block &block = currentBlock();
  if (block.profile && block.current->linear % kWarpSize == 0)
    ++block.profile->counts.mma;
}

void reportError(const std::string &message, const char *loc) {
  Block &block = currentBlock();
  block.fail(*block.current, loc, message);
}

} // namespace attnc::emu
