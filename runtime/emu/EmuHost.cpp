//===- EmuHost.cpp - kernel launches from emulated host code ---------------===//
#include "runtime/emu/EmuHost.h"
#include "runtime/emu/EmuAbi.h"

#include <algorithm>
#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <cstdio>
#include <cstdlib>

namespace attnc::emu {
namespace {
std::vector<KernelEntry> &kernelTable() {
  static auto *table = new std::vector<KernelEntry>();
  return *table;
}
std::atomic<int64_t> failures{0};
} // namespace

void setKernelTable(std::vector<KernelEntry> kernels) { kernelTable() = std::move(kernels); }

int64_t failedLaunches() { return failures.load(); }
void resetFailedLaunches() { failures = 0; }

Status checkLaunchConfig(const std::string &kernel, Dim3 grid, Dim3 block,
                         int64_t dynamicSharedBytes) {
  auto d3 = [](Dim3 d) {
    return "(" + std::to_string(d.x) + ", " + std::to_string(d.y) + ", " +
           std::to_string(d.z) + ")";
  };
  std::string what = "invalid launch of kernel '" + kernel + "' with grid " + d3(grid) +
                     " and block " + d3(block) + ": ";
  if (grid.x < 1 || grid.y < 1 || grid.z < 1 || block.x < 1 || block.y < 1 || block.z < 1)
    return Status::error(what + "every dimension must be at least 1");
  if (block.x > 1024 || block.y > 1024 || block.z > 64 || block.count() > 1024)
    return Status::error(what + "a block has at most 1024 threads (x, y <= 1024, z <= 64)");
  if (grid.x > 2147483647 || grid.y > 65535 || grid.z > 65535)
    return Status::error(what + "the grid is at most (2^31 - 1, 65535, 65535)");
  // sm_90: up to 227 KiB of shared memory per block with the opt-in attribute.
  if (dynamicSharedBytes < 0 || dynamicSharedBytes > 227 * 1024)
    return Status::error(what + std::to_string(dynamicSharedBytes) +
                         " bytes of dynamic shared memory (at most 232448)");
  return Status::ok();
}

namespace {

struct LaunchErrors {
  std::mutex mutex;
  bool print = true;
  std::vector<std::string> messages;
};
LaunchErrors &launchErrors() {
  static auto *errors = new LaunchErrors();
  return *errors;
}

/// Records a launch error (printed as it happens unless told otherwise) and counts it.
void reportLaunchError(const std::string &message, int64_t loc, bool withLocation) {
  // Emulator errors start with the location of the faulty operation already.
  std::string text = withLocation ? std::string(locationName(loc)) + ": " + message : message;
  LaunchErrors &errors = launchErrors();
  std::lock_guard<std::mutex> lock(errors.mutex);
  errors.messages.push_back(text);
  if (errors.print) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", text.c_str());
    std::fflush(stderr);
  }
  ++failures;
}

void runLaunch(int64_t kernel, Dim3 grid, Dim3 block, int64_t dynamicSharedBytes, void **args,
               int64_t loc, bool parallelBlocks) {
  const std::vector<KernelEntry> &table = kernelTable();
  if (kernel < 0 || size_t(kernel) >= table.size() || !table[size_t(kernel)].entry)
    return reportLaunchError("launch of unknown kernel #" + std::to_string(kernel), loc, true);
  const KernelEntry &entry = table[size_t(kernel)];
  if (Status s = checkLaunchConfig(entry.name, grid, block, dynamicSharedBytes); !s)
    return reportLaunchError(s.message(), loc, true);
  LaunchConfig config;
  config.kernel = entry.name;
  config.grid = grid;
  config.block = block;
  config.dynamicSharedBytes = size_t(dynamicSharedBytes);
  config.parallelBlocks = parallelBlocks;
  PackedKernel fn = entry.entry;
  if (Status s = launch(config, [&] { fn(args); }); !s)
    reportLaunchError(s.message(), loc, false);
}

/// Launches started by gpu.launch_func async, by handle (0: nothing to wait for).
struct AsyncLaunches {
  std::mutex mutex;
  std::unordered_map<int64_t, std::shared_future<void>> pending;
  int64_t next = 1;
};
AsyncLaunches &asyncLaunches() {
  static auto *launches = new AsyncLaunches();
  return *launches;
}

std::shared_future<void> futureOf(int64_t handle) {
  AsyncLaunches &a = asyncLaunches();
  std::lock_guard<std::mutex> lock(a.mutex);
  auto it = a.pending.find(handle);
  return it == a.pending.end() ? std::shared_future<void>() : it->second;
}

/// A launch's arguments copied out of the caller's stack frame: the scalars' slots
/// and the memrefs' descriptors (kinds[i] = rank, or -1 for a scalar).
struct PackedArgs {
  std::vector<int64_t> slots;
  std::vector<std::vector<int64_t>> descriptors;
  std::vector<void *> argv;
  PackedArgs(void **args, const int64_t *kinds, int64_t count)
      : slots(size_t(count)), descriptors(size_t(count)), argv(size_t(count)) {
    for (int64_t i = 0; i < count; ++i) {
      if (kinds[i] >= 0) {
        const int64_t *desc = *static_cast<int64_t **>(args[i]);
        descriptors[size_t(i)].assign(desc, desc + 3 + 2 * kinds[i]);
        slots[size_t(i)] = int64_t(reinterpret_cast<intptr_t>(descriptors[size_t(i)].data()));
      } else {
        slots[size_t(i)] = *static_cast<int64_t *>(args[i]);
      }
      argv[size_t(i)] = &slots[size_t(i)];
    }
  }
};

} // namespace

void setPrintLaunchErrors(bool print) {
  std::lock_guard<std::mutex> lock(launchErrors().mutex);
  launchErrors().print = print;
}

std::vector<std::string> takeLaunchErrors() {
  std::lock_guard<std::mutex> lock(launchErrors().mutex);
  std::vector<std::string> messages;
  messages.swap(launchErrors().messages);
  return messages;
}

void waitForAsyncLaunches() {
  AsyncLaunches &a = asyncLaunches();
  std::unordered_map<int64_t, std::shared_future<void>> all;
  {
    std::lock_guard<std::mutex> lock(a.mutex);
    all.swap(a.pending);
  }
  for (auto &[handle, future] : all)
    future.wait();
}

} // namespace attnc::emu

using namespace attnc;
using namespace attnc::emu;

extern "C" void attnc_emu_launch(int64_t kernel, int64_t gridX, int64_t gridY, int64_t gridZ,
                                 int64_t blockX, int64_t blockY, int64_t blockZ,
                                 int64_t dynamicSharedBytes, int64_t argv, int64_t loc) {
  runLaunch(kernel, {gridX, gridY, gridZ}, {blockX, blockY, blockZ}, dynamicSharedBytes,
            reinterpret_cast<void **>(argv), loc, /*parallelBlocks=*/true);
}

extern "C" int64_t attnc_emu_launch_async(int64_t kernel, int64_t gridX, int64_t gridY,
                                          int64_t gridZ, int64_t blockX, int64_t blockY,
                                          int64_t blockZ, int64_t dynamicSharedBytes,
                                          int64_t argv, int64_t kinds, int64_t numArgs,
                                          int64_t deps, int64_t numDeps, int64_t loc) {
  auto args = std::make_shared<PackedArgs>(reinterpret_cast<void **>(argv),
                                           reinterpret_cast<const int64_t *>(kinds), numArgs);
  std::vector<std::shared_future<void>> waits;
  for (int64_t i = 0; i < numDeps; ++i)
    if (auto f = futureOf(reinterpret_cast<const int64_t *>(deps)[i]); f.valid())
      waits.push_back(f);
  Dim3 grid{gridX, gridY, gridZ}, block{blockX, blockY, blockZ};
  // Each asynchronous launch runs on its own thread (its blocks one after the other),
  // so launches that are not ordered by tokens run concurrently, as on a GPU.
  std::shared_future<void> future =
      std::async(std::launch::async, [=] {
        for (const std::shared_future<void> &w : waits)
          w.wait();
        runLaunch(kernel, grid, block, dynamicSharedBytes, args->argv.data(), loc,
                  /*parallelBlocks=*/false);
      }).share();
  AsyncLaunches &a = asyncLaunches();
  std::lock_guard<std::mutex> lock(a.mutex);
  int64_t handle = a.next++;
  a.pending[handle] = future;
  return handle;
}

extern "C" void attnc_emu_wait(int64_t handle) {
  if (std::shared_future<void> f = futureOf(handle); f.valid())
    f.wait();
}
