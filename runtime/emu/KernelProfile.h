//===- KernelProfile.h - what an emulated kernel did, as a profiler counts it -*- C++ -*-===//
//
// With profiling on (`attnc run|bench --target cuda-emu --profile`), cuda-emu counts
// per kernel what Nsight Compute would: warp-wide shared-memory requests and their
// wavefronts against the conflict-free ideal (SharedBanks.h), ldmatrix, mma.sync,
// cp.async and barriers. A warp instruction is made of its lanes' accesses: the
// n-th execution of an access site by each lane of a warp since the last barrier
// (converged SIMT code executes them together; a lane that skips one, predicated
// off, is simply absent from it).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_EMU_KERNELPROFILE_H
#define ATTNC_RUNTIME_EMU_KERNELPROFILE_H

#include "runtime/emu/SharedBanks.h"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace attnc::emu {

/// The counters of one kernel, summed over its launches and blocks.
struct KernelProfile {
  std::string kernel;
  int64_t launches = 0, blocks = 0;
  int64_t sharedRequests = 0;        ///< warp-wide shared-memory instructions
  int64_t sharedWavefronts = 0;      ///< wavefronts they took
  int64_t sharedIdealWavefronts = 0; ///< wavefronts without bank conflicts
  int64_t ldmatrix = 0, mma = 0, cpAsync = 0, barriers = 0; ///< per warp (barriers per block)

  void add(const KernelProfile &o);
  /// One line of JSON: {"kernel": ..., "shared_requests": ..., ...}.
  std::string json() const;
};

/// Turns profiling on or off (off by default; counting slows the emulator).
void setProfiling(bool on);
bool profiling();
/// The profiles of the kernels launched since the last call, one per kernel name in
/// the order of their first launch (and forgets them).
std::vector<KernelProfile> takeProfiles();
/// Adds a finished launch's counters (thread-safe).
void recordLaunch(const KernelProfile &launch);

/// A block's counting: accesses are grouped into warp instructions and costed at
/// each barrier and at the end of the block.
class BlockProfile {
public:
  explicit BlockProfile(int64_t threads) : occurrences(size_t(threads)) {}
  /// Thread `thread` accesses `bytes` at `address` at access site `site` (the
  /// destination of a cp.async when `async`).
  void access(int64_t thread, int64_t site, uint64_t address, uint32_t bytes, bool async);
  /// An ldmatrix or another whole-warp shared instruction, already costed.
  void warpInstruction(const BankCost &cost) {
    ++counts.sharedRequests;
    counts.sharedWavefronts += cost.wavefronts;
    counts.sharedIdealWavefronts += cost.ideal;
  }
  /// Costs the pending accesses (every thread is at a barrier or has exited).
  void flush();

  KernelProfile counts;

private:
  /// (warp, site, n-th execution) → its lanes' accesses.
  std::map<std::tuple<int64_t, int64_t, int64_t>, std::vector<LaneAccess>> pending;
  std::vector<std::unordered_map<int64_t, int64_t>> occurrences; ///< per thread, per site
  std::set<int64_t> asyncSites;
};

} // namespace attnc::emu

#endif // ATTNC_RUNTIME_EMU_KERNELPROFILE_H
