//===- SharedBanksTest.cpp - cuda-emu's shared-memory bank profile -----------===//
//
// The bank model on planted access patterns whose cost is known by hand (a
// conflict-free row, an n-way conflict, a broadcast, 16-byte phases), then the
// profile of emulated warps: ldmatrix on an unswizzled tile (8-way conflicts) and
// on the same tile with the 16-byte chunk XOR-swizzled by row (none), and per-lane
// stores grouped into warp instructions by access site.
//
//===----------------------------------------------------------------------===//
#include "runtime/emu/EmuAbi.h"
#include "runtime/emu/Emulator.h"
#include "runtime/emu/KernelProfile.h"
#include "runtime/emu/SharedBanks.h"
#include "runtime/emu/WarpOps.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

using namespace attnc;
using namespace attnc::emu;

namespace {

/// 32 lanes, lane i accessing `bytes` at base + i * stride.
std::vector<LaneAccess> strided(uint64_t stride, uint32_t bytes, uint64_t base = 0) {
  std::vector<LaneAccess> lanes;
  for (int64_t i = 0; i < 32; ++i)
    lanes.push_back({i, base + uint64_t(i) * stride, bytes});
  return lanes;
}

TEST(SharedBanks, WordsInDistinctBanksTakeOneWavefront) {
  BankCost c = warpAccessCost(strided(4, 4));
  EXPECT_EQ(c.wavefronts, 1);
  EXPECT_EQ(c.ideal, 1);
}

TEST(SharedBanks, AStrideOfTwoWordsIsATwoWayConflict) {
  BankCost c = warpAccessCost(strided(8, 4));
  EXPECT_EQ(c.wavefronts, 2);
  EXPECT_EQ(c.ideal, 1);
}

TEST(SharedBanks, OneColumnOfA32WordRowMatrixIsA32WayConflict) {
  EXPECT_EQ(warpAccessCost(strided(128, 4)).wavefronts, 32);
  // Padding each row by one word removes it.
  EXPECT_EQ(warpAccessCost(strided(132, 4)).wavefronts, 1);
}

TEST(SharedBanks, LanesReadingOneWordShareIt) {
  BankCost c = warpAccessCost(strided(0, 4, 64));
  EXPECT_EQ(c.wavefronts, 1);
  EXPECT_EQ(c.ideal, 1);
  // Two-byte accesses to both halves of each word: 16 words.
  EXPECT_EQ(warpAccessCost(strided(2, 2)).wavefronts, 1);
}

TEST(SharedBanks, SixteenByteAccessesAreServedInQuarterWarps) {
  // 512 contiguous bytes: four phases of 128.
  BankCost c = warpAccessCost(strided(16, 16));
  EXPECT_EQ(c.wavefronts, 4);
  EXPECT_EQ(c.ideal, 4);
  // Rows 128 bytes apart, the same 16-byte chunk: each phase of 8 lanes hits the
  // same 4 banks 8 times.
  c = warpAccessCost(strided(128, 16));
  EXPECT_EQ(c.wavefronts, 32);
  EXPECT_EQ(c.ideal, 4);
  // Eight-byte accesses: two phases of 16 lanes.
  c = warpAccessCost(strided(8, 8));
  EXPECT_EQ(c.wavefronts, 2);
  EXPECT_EQ(c.ideal, 2);
}

TEST(SharedBanks, APartialWarpCostsOnlyItsLanes) {
  std::vector<LaneAccess> lanes = strided(128, 4);
  lanes.resize(5);
  EXPECT_EQ(warpAccessCost(lanes).wavefronts, 5);
  EXPECT_EQ(warpAccessCost({}).wavefronts, 0);
}

/// Runs one warp with profiling on; returns its kernel's profile.
KernelProfile profileWarp(const std::function<void()> &body) {
  LaunchConfig config;
  config.kernel = "bank_test";
  config.block = {32, 1, 1};
  setProfiling(true);
  takeProfiles();
  Status s = launch(config, body);
  setProfiling(false);
  EXPECT_TRUE(bool(s)) << s.message();
  std::vector<KernelProfile> profiles = takeProfiles();
  EXPECT_EQ(profiles.size(), 1u);
  return profiles.empty() ? KernelProfile() : profiles.front();
}

/// ldmatrix.x4 of a 16 x 16 block (rows r, 16-byte chunks c and c + 1) of a
/// 64-column f16 tile whose rows are 128 bytes; chunk k of row r is stored at
/// chunk `swizzle(r, k)`.
KernelProfile ldmatrixProfile(int64_t (*swizzle)(int64_t, int64_t)) {
  return profileWarp([swizzle] {
    uint16_t *tile = static_cast<uint16_t *>(sharedMemory(0, 64 * 64 * 2));
    int64_t lane = laneId();
    int64_t row = lane % 8 + (lane / 8 % 2) * 8, chunk = lane / 16;
    uint32_t regs[4];
    ldmatrix(tile + row * 64 + swizzle(row, chunk) * 8, 4, false, regs, "test:1:1");
  });
}

TEST(SharedBanks, LdmatrixOnUnswizzledRowsIsAnEightWayConflict) {
  KernelProfile p = ldmatrixProfile([](int64_t, int64_t chunk) { return chunk; });
  EXPECT_EQ(p.ldmatrix, 1);
  EXPECT_EQ(p.sharedRequests, 1);
  EXPECT_EQ(p.sharedWavefronts, 32);
  EXPECT_EQ(p.sharedIdealWavefronts, 4);
}

TEST(SharedBanks, LdmatrixOnXorSwizzledRowsHasNoConflict) {
  KernelProfile p = ldmatrixProfile([](int64_t row, int64_t chunk) { return chunk ^ (row % 8); });
  EXPECT_EQ(p.sharedWavefronts, 4);
  EXPECT_EQ(p.sharedIdealWavefronts, 4);
}

TEST(SharedBanks, LaneAccessesAreGroupedBySiteAndOccurrence) {
  // Site 1: lane i stores word 32 i (a 32-way conflict), twice; site 2: word i + 1.
  KernelProfile p = profileWarp([] {
    auto *words = static_cast<uint32_t *>(sharedMemory(0, 32 * 32 * 4 + 4));
    int64_t lane = laneId();
    for (int rep = 0; rep < 2; ++rep) {
      auto address = int64_t(reinterpret_cast<uintptr_t>(words + 32 * lane));
      if (attnc_emu_check_shared(address, 4, 1, /*site=*/1))
        words[32 * lane] = uint32_t(rep);
    }
    barrier("test:2:1");
    auto address = int64_t(reinterpret_cast<uintptr_t>(words + lane + 1));
    if (attnc_emu_check_shared(address, 4, 0, /*site=*/2))
      (void)words[lane + 1];
  });
  EXPECT_EQ(p.sharedRequests, 3);
  EXPECT_EQ(p.sharedWavefronts, 32 + 32 + 1);
  EXPECT_EQ(p.sharedIdealWavefronts, 3);
  EXPECT_EQ(p.barriers, 1);
  EXPECT_EQ(p.blocks, 1);
}

TEST(SharedBanks, NothingIsCountedWithProfilingOff) {
  LaunchConfig config;
  config.kernel = "bank_test_off";
  config.block = {32, 1, 1};
  takeProfiles();
  ASSERT_TRUE(bool(launch(config, [] {
    uint32_t regs[4];
    auto *tile = static_cast<uint16_t *>(sharedMemory(0, 64 * 64 * 2));
    ldmatrix(tile + laneId() * 64, 4, false, regs, "test:3:1");
  })));
  EXPECT_TRUE(takeProfiles().empty());
}

} // namespace
