//===- SharedBanks.cpp - the cost of a warp's shared-memory access ---------===//
#include "runtime/emu/SharedBanks.h"

#include <algorithm>
#include <set>

namespace attnc::emu {

namespace {

constexpr int64_t kBanks = 32;
constexpr uint64_t kWordBytes = 4;

} // namespace

BankCost phaseCost(const std::vector<LaneAccess> &accesses) {
  std::set<uint64_t> words;
  for (const LaneAccess &a : accesses)
    for (uint64_t w = a.address / kWordBytes; w * kWordBytes < a.address + a.bytes; ++w)
      words.insert(w);
  if (words.empty())
    return {};
  int64_t perBank[kBanks] = {};
  for (uint64_t w : words)
    ++perBank[w % kBanks];
  BankCost cost;
  cost.wavefronts = *std::max_element(perBank, perBank + kBanks);
  cost.ideal = (int64_t(words.size()) + kBanks - 1) / kBanks;
  return cost;
}

BankCost warpAccessCost(std::vector<LaneAccess> accesses) {
  uint32_t widest = 0;
  for (const LaneAccess &a : accesses)
    widest = std::max(widest, a.bytes);
  int64_t lanesPerPhase = widest <= 4 ? 32 : widest <= 8 ? 16 : 8;
  std::sort(accesses.begin(), accesses.end(),
            [](const LaneAccess &x, const LaneAccess &y) { return x.lane < y.lane; });
  BankCost total;
  for (int64_t first = 0; first < 32; first += lanesPerPhase) {
    std::vector<LaneAccess> phase;
    for (const LaneAccess &a : accesses)
      if (a.lane >= first && a.lane < first + lanesPerPhase)
        phase.push_back(a);
    total += phaseCost(phase);
  }
  return total;
}

BankCost ldmatrixCost(const uint64_t *rows, int numMatrices) {
  BankCost total;
  for (int m = 0; m < numMatrices; ++m) {
    std::vector<LaneAccess> phase;
    for (int r = 0; r < 8; ++r)
      phase.push_back({8 * m + r, rows[8 * m + r], 16});
    total += phaseCost(phase);
  }
  return total;
}

} // namespace attnc::emu
