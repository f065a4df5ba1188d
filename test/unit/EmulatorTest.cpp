//===- EmulatorTest.cpp - the cuda-emu SIMT engine --------------------------===//
//
// Each emulated operation against a scalar reference written from the PTX ISA
// (shfl.sync as upstream lowers gpu.shuffle), correct kernels (ids, a block reduction
// with shuffles and shared memory, a tiled transpose with barriers) and broken ones
// that must be reported: a missing barrier (data race), a divergent barrier, a warp
// collective that not every lane executes, an out-of-bounds shared-memory access.
//
//===----------------------------------------------------------------------===//
#include "runtime/emu/Emulator.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <vector>

using namespace attnc;
using namespace attnc::emu;

namespace {

LaunchConfig config(Dim3 grid, Dim3 block, const char *name = "test_kernel") {
  LaunchConfig c;
  c.kernel = name;
  c.grid = grid;
  c.block = block;
  return c;
}

float loadShared(const float *p, const char *loc) {
  return checkSharedAccess(p, sizeof(float), false, loc) ? *p : 0.0f;
}
/// A store as generated code performs it: only when the check lets it.
void storeShared(float *p, float v, const char *loc) {
  if (checkSharedAccess(p, sizeof(float), true, loc))
    *p = v;
}

TEST(Emulator, EveryThreadOfEveryBlockRunsOnceWithItsIds) {
  Dim3 grid{2, 3, 1}, block{4, 2, 2};
  std::vector<int> hits(size_t(grid.count() * block.count()), 0);
  Status s = launch(config(grid, block), [&] {
    Dim3 t = threadIdx(), b = blockIdx();
    EXPECT_EQ(blockDim().count(), 16);
    EXPECT_EQ(gridDim().count(), 6);
    int64_t blockLinear = b.x + b.y * grid.x;
    int64_t threadLinear = t.x + t.y * block.x + t.z * block.x * block.y;
    EXPECT_EQ(threadLinear, linearThreadId());
    EXPECT_EQ(laneId(), threadLinear % 32);
    ++hits[size_t(blockLinear * block.count() + threadLinear)];
  });
  ASSERT_TRUE(s) << s.message();
  for (int h : hits)
    EXPECT_EQ(h, 1);
}

/// The PTX ISA's shfl.sync pseudo-code for lane `l`, with the operand c that
/// upstream's gpu.shuffle → NVVM lowering passes: ((segmask << 8) | clamp) with
/// segmask 0 and clamp width - 1 (32 - width for up).
bool referenceShuffle(ShuffleMode mode, int64_t l, int64_t b, int64_t width, int64_t &src) {
  int64_t c = mode == ShuffleMode::Up ? 32 - width : width - 1;
  int64_t segmask = (c >> 8) & 31, cval = c & 31, bval = b & 31;
  int64_t maxLane = (l & segmask) | (cval & ~segmask), minLane = l & segmask;
  bool p = false;
  switch (mode) {
  case ShuffleMode::Up: src = l - bval; p = src >= maxLane; break;
  case ShuffleMode::Down: src = l + bval; p = src <= maxLane; break;
  case ShuffleMode::Xor: src = l ^ bval; p = src <= maxLane; break;
  case ShuffleMode::Idx: src = minLane | (bval & ~segmask); p = src <= maxLane; break;
  }
  return p;
}

TEST(Emulator, ShuffleMatchesThePtxReferenceInEveryMode) {
  // 48 threads: the second warp has 16 lanes. Every lane of a warp takes part, so
  // widths go up to the warp's lane count.
  for (int64_t blockSize : {32, 48, 13})
    for (ShuffleMode mode :
         {ShuffleMode::Xor, ShuffleMode::Idx, ShuffleMode::Up, ShuffleMode::Down})
      for (int32_t offset : {0, 1, 3, 5, 16, 31, 37}) {
        int64_t lastLanes = (blockSize - 1) % 32 + 1;
        std::vector<uint32_t> got(static_cast<size_t>(blockSize));
        std::vector<int> valid(static_cast<size_t>(blockSize));
        Status s = launch(config({1, 1, 1}, {blockSize, 1, 1}), [&] {
          int64_t t = linearThreadId();
          int32_t width = t < blockSize / 32 * 32 ? 32 : int32_t(lastLanes);
          bool ok = false;
          got[size_t(t)] = shuffle(uint32_t(1000 + t), offset, width, mode, &ok, "here");
          valid[size_t(t)] = ok;
        });
        ASSERT_TRUE(s) << s.message();
        for (int64_t t = 0; t < blockSize; ++t) {
          int64_t warpBase = t / 32 * 32, src = 0;
          int64_t width = t < blockSize / 32 * 32 ? 32 : lastLanes;
          bool ok = referenceShuffle(mode, t - warpBase, offset, width, src);
          EXPECT_EQ(bool(valid[size_t(t)]), ok)
              << "mode " << int(mode) << " width " << width << " offset " << offset
              << " lane " << t;
          EXPECT_EQ(got[size_t(t)], uint32_t(1000 + (ok ? warpBase + src : t)))
              << "mode " << int(mode) << " width " << width << " offset " << offset
              << " lane " << t;
        }
      }
}

TEST(Emulator, ShuffleOutsideTheMemberMaskIsReported) {
  // Width 16 in a full warp: lanes 16..31 are not in shfl.sync's member mask.
  Status s = launch(config({1, 1, 1}, {32, 1, 1}), [&] {
    bool ok;
    shuffle(1, 1, 16, ShuffleMode::Xor, &ok, "narrow.mlir:3:5");
  });
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("narrow.mlir:3:5"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("only lanes 0..15 take part"), std::string::npos) << s.message();
  // Width 32 in a warp of 13 threads: lanes that do not exist.
  s = launch(config({1, 1, 1}, {13, 1, 1}), [&] {
    bool ok;
    shuffle(1, 1, 32, ShuffleMode::Down, &ok, "wide.mlir:4:5");
  });
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("width 32 is outside [1, 13]"), std::string::npos) << s.message();
}

TEST(Emulator, BlockReductionWithShufflesAndSharedMemory) {
  const int64_t threads = 96;
  std::vector<float> input(threads);
  for (int64_t i = 0; i < threads; ++i)
    input[size_t(i)] = 0.5f * float(i) - 7.0f;
  float result = 0;
  Status s = launch(config({1, 1, 1}, {threads, 1, 1}, "reduce"), [&] {
    int64_t t = linearThreadId();
    float v = input[size_t(t)];
    for (int32_t off = 16; off >= 1; off /= 2) {
      uint32_t bits, other;
      std::memcpy(&bits, &v, 4);
      other = shuffle(bits, off, 32, ShuffleMode::Xor, nullptr, "reduce.mlir:3");
      float o;
      std::memcpy(&o, &other, 4);
      v += o;
    }
    auto *sums = static_cast<float *>(sharedMemory(0, 3 * sizeof(float)));
    if (laneId() == 0)
      storeShared(&sums[t / 32], v, "reduce.mlir:5");
    barrier("reduce.mlir:6");
    if (t == 0)
      result = loadShared(&sums[0], "a") + loadShared(&sums[1], "b") +
               loadShared(&sums[2], "c");
  });
  ASSERT_TRUE(s) << s.message();
  float expected = 0;
  for (float x : input)
    expected += x;
  EXPECT_FLOAT_EQ(result, expected);
}

/// A 32x32 transpose through shared memory; `withBarrier` = false is the classic bug.
Status transpose(bool withBarrier, std::vector<float> &out) {
  const int64_t n = 32;
  std::vector<float> in(n * n);
  for (int64_t i = 0; i < n * n; ++i)
    in[size_t(i)] = float(i);
  out.assign(n * n, -1);
  return launch(config({1, 1, 1}, {n, 8, 1}, "transpose"), [&, withBarrier] {
    auto *tile = static_cast<float *>(sharedMemory(0, n * n * sizeof(float)));
    Dim3 t = threadIdx();
    for (int64_t r = t.y; r < n; r += 8)
      storeShared(&tile[r * n + t.x], in[size_t(r * n + t.x)], "transpose.mlir:4");
    if (withBarrier)
      barrier("transpose.mlir:5");
    for (int64_t r = t.y; r < n; r += 8)
      out[size_t(r * n + t.x)] = loadShared(&tile[t.x * n + r], "transpose.mlir:7");
  });
}

TEST(Emulator, TiledTransposeWithBarrierIsCorrect) {
  std::vector<float> out;
  Status s = transpose(true, out);
  ASSERT_TRUE(s) << s.message();
  for (int64_t r = 0; r < 32; ++r)
    for (int64_t c = 0; c < 32; ++c)
      EXPECT_EQ(out[size_t(r * 32 + c)], float(c * 32 + r));
}

TEST(Emulator, MissingBarrierIsReportedAsARace) {
  std::vector<float> out;
  Status s = transpose(false, out);
  ASSERT_FALSE(s);
  // Whichever of the two conflicting accesses comes second is reported: here a
  // thread's write of a tile element that thread 0 already read.
  EXPECT_NE(s.message().find("transpose.mlir:4: kernel 'transpose', block (0, 0, 0), thread ("),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("data race on workgroup memory: this write and an access by "
                             "thread 0 (linear id) with no barrier between them"),
            std::string::npos)
      << s.message();
}

TEST(Emulator, WriteAfterReadByAnotherThreadIsARace) {
  Status s = launch(config({1, 1, 1}, {2, 1, 1}), [] {
    auto *x = static_cast<float *>(sharedMemory(0, sizeof(float)));
    if (linearThreadId() == 0)
      (void)loadShared(x, "war.mlir:1");
    else
      storeShared(x, 1.0f, "war.mlir:2");
  });
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("war.mlir:2"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("this write and an access by thread 0"), std::string::npos)
      << s.message();
}

TEST(Emulator, SameThreadAndSeparatedAccessesDoNotRace) {
  Status s = launch(config({1, 1, 1}, {64, 1, 1}), [] {
    auto *x = static_cast<float *>(sharedMemory(0, 64 * sizeof(float)));
    int64_t t = linearThreadId();
    storeShared(&x[t], 1.0f, "a");
    (void)loadShared(&x[t], "b"); // own write
    barrier("c");
    (void)loadShared(&x[63 - t], "d"); // other thread's write, before the barrier
    barrier("e");
    storeShared(&x[(t + 1) % 64], 2.0f, "f"); // others read it before the barrier
  });
  EXPECT_TRUE(s) << s.message();
}

TEST(Emulator, DivergentBarrierIsReported) {
  Status s = launch(config({2, 1, 1}, {64, 1, 1}, "diverge"), [] {
    if (linearThreadId() < 16)
      barrier("diverge.mlir:9");
  });
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("diverge.mlir:9: kernel 'diverge', block (0, 0, 0)"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("barrier reached by 16 of 64 threads"), std::string::npos)
      << s.message();
}

TEST(Emulator, DifferentBarriersAreReported) {
  Status s = launch(config({1, 1, 1}, {8, 1, 1}), [] {
    if (linearThreadId() % 2)
      barrier("odd.mlir:1");
    else
      barrier("even.mlir:1");
  });
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("threads wait at different barriers"), std::string::npos)
      << s.message();
}

TEST(Emulator, CollectiveNotExecutedByEveryLaneIsReported) {
  Status s = launch(config({1, 1, 1}, {32, 1, 1}, "partial"), [] {
    if (laneId() % 2 == 0)
      (void)shuffle(1, 1, 32, ShuffleMode::Xor, nullptr, "partial.mlir:4");
  });
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("partial.mlir:4"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("is not executed by every lane of warp 0: lane 1 has exited"),
            std::string::npos)
      << s.message();
}

TEST(Emulator, OutOfBoundsSharedAccessIsReported) {
  Status s = launch(config({1, 1, 1}, {4, 1, 1}), [] {
    auto *x = static_cast<float *>(sharedMemory(0, 4 * sizeof(float)));
    storeShared(&x[linearThreadId() + 1], 0.0f, "oob.mlir:2");
  });
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("oob.mlir:2"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("thread (3, 0, 0)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("write of 4 bytes outside every workgroup memory allocation"),
            std::string::npos)
      << s.message();
}

TEST(Emulator, AFaultingSharedAccessIsRefused) {
  // The check says whether the access may proceed: inside the allocation yes, one
  // element past it no (the generated code then skips the store).
  std::vector<int> verdicts(2, -1);
  Status s = launch(config({1, 1, 1}, {1, 1, 1}), [&] {
    auto *x = static_cast<float *>(sharedMemory(0, 4 * sizeof(float)));
    verdicts[0] = checkSharedAccess(&x[3], sizeof(float), true, "in.mlir:1");
    verdicts[1] = checkSharedAccess(&x[4], sizeof(float), true, "out.mlir:1");
  });
  EXPECT_FALSE(s);
  EXPECT_EQ(verdicts[0], 1);
  EXPECT_EQ(verdicts[1], 0);
}

TEST(Emulator, BadLaunchesAreErrors) {
  EXPECT_FALSE(launch(config({1, 1, 1}, {0, 1, 1}), [] {}));
  Status big = launch(config({1, 1, 1}, {2048, 1, 1}), [] {});
  ASSERT_FALSE(big);
  EXPECT_NE(big.message().find("2048 threads per block (at most 1024)"), std::string::npos);
}

TEST(Emulator, BlocksRunInParallelAndTheFirstFailingBlockIsReported) {
  for (bool parallel : {true, false}) {
    LaunchConfig c = config({16, 1, 1}, {32, 1, 1}, "blocks");
    c.parallelBlocks = parallel;
    std::vector<std::atomic<int>> sums(16);
    for (auto &x : sums)
      x = 0;
    Status ok = launch(c, [&] { sums[size_t(blockIdx().x)] += int(linearThreadId()); });
    ASSERT_TRUE(ok) << ok.message();
    for (auto &x : sums)
      EXPECT_EQ(x.load(), 31 * 32 / 2);
    // Blocks 5 and 11 diverge at a barrier; block 5's error is the one reported.
    Status bad = launch(c, [&] {
      int64_t b = blockIdx().x;
      if ((b == 5 || b == 11) && linearThreadId() == 0)
        return;
      barrier("blocks.mlir:3");
    });
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.message().find("kernel 'blocks', block (5, 0, 0)"), std::string::npos)
        << bad.message();
  }
}

TEST(Emulator, SharedMemoryIsPerBlock) {
  std::vector<float> seen(4, -1);
  Status s = launch(config({4, 1, 1}, {2, 1, 1}), [&] {
    auto *x = static_cast<float *>(sharedMemory(0, sizeof(float)));
    if (linearThreadId() == 0)
      storeShared(x, float(blockIdx().x), "w");
    barrier("b");
    if (linearThreadId() == 1)
      seen[size_t(blockIdx().x)] = loadShared(x, "r");
  });
  ASSERT_TRUE(s) << s.message();
  for (int64_t b = 0; b < 4; ++b)
    EXPECT_EQ(seen[size_t(b)], float(b));
}

} // namespace
