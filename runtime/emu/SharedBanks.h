//===- SharedBanks.h - the cost of a warp's shared-memory access ---*- C++ -*-===//
//
// The bank model cuda-emu's profile uses (the one Nsight Compute reports as
// "wavefronts"): shared memory has 32 banks of 4-byte words; one wavefront serves
// at most one word per bank (several lanes reading the same word share it). A
// warp-wide instruction is served in phases by access width, as the hardware does:
//   up to 4 bytes per lane   one phase of 32 lanes
//   8 bytes per lane         two phases of 16 lanes
//   16 bytes per lane        four phases of 8 lanes (cp.async, ld/st.shared.v4)
//   ldmatrix.xN              N phases, one per 8x8 matrix (its 8 rows of 16 bytes)
// A phase costs the largest number of distinct words any bank holds (an n-way
// conflict costs n); its ideal is ceil(distinct words / 32).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_EMU_SHAREDBANKS_H
#define ATTNC_RUNTIME_EMU_SHAREDBANKS_H

#include <cstdint>
#include <vector>

namespace attnc::emu {

/// One lane's part of a warp-wide shared-memory instruction.
struct LaneAccess {
  int64_t lane = 0;
  uint64_t address = 0; ///< byte address (only its offset modulo 128 matters)
  uint32_t bytes = 0;
};

/// Wavefronts an instruction takes, and how many it would take without conflicts.
struct BankCost {
  int64_t wavefronts = 0, ideal = 0;
  BankCost &operator+=(const BankCost &o) {
    wavefronts += o.wavefronts;
    ideal += o.ideal;
    return *this;
  }
};

/// The cost of lanes served together in one phase.
BankCost phaseCost(const std::vector<LaneAccess> &accesses);

/// The cost of a warp-wide access: the lanes split into phases by the widest access
/// (see the file comment), in lane order.
BankCost warpAccessCost(std::vector<LaneAccess> accesses);

/// The cost of ldmatrix.xN: `rows[i]` is the address lane i gives (8 rows per
/// matrix, 16 bytes each).
BankCost ldmatrixCost(const uint64_t *rows, int numMatrices);

} // namespace attnc::emu

#endif // ATTNC_RUNTIME_EMU_SHAREDBANKS_H
