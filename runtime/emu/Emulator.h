//===- Emulator.h - the cuda-emu SIMT execution engine ------------*- C++ -*-===//
//
// Runs a GPU kernel's threads on the CPU, faithfully enough to catch the classic
// GPU bugs. Each thread of a block is a fiber with its own stack; the block's fibers
// are scheduled cooperatively on one OS thread:
//   - a barrier suspends a thread until every live thread of its block arrives;
//     a barrier that some threads reach while others exit is reported;
//   - a warp collective (shuffle, ldmatrix, mma.sync...) suspends each lane until all
//     lanes of its warp arrive at the same collective, then computes every lane's
//     result at once from per-warp scratch; a lane that is missing is reported;
//   - workgroup (shared) memory is allocated per block, and with race checking on,
//     every access is checked against a shadow record of the last writer and readers
//     since the last barrier: a write and another thread's access with no barrier
//     between them is a data race and is reported.
// Errors name the kernel, the source location given by the caller, the block and the
// thread. Blocks run in parallel on the CPU thread pool (each block on one thread).
// The code-generation side (lowering gpu.func
// to calls into this engine) is separate.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_EMU_EMULATOR_H
#define ATTNC_RUNTIME_EMU_EMULATOR_H

#include "runtime/Status.h"
#include "runtime/emu/SharedBanks.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace attnc::emu {

struct Dim3 {
  int64_t x = 1, y = 1, z = 1;
  int64_t count() const { return x * y * z; }
};

struct LaunchConfig {
  std::string kernel = "kernel";
  Dim3 grid, block;
  bool checkRaces = true;
  bool parallelBlocks = true; ///< run blocks on the CPU thread pool
  size_t stackBytes = 256 * 1024; ///< per emulated thread
  size_t dynamicSharedBytes = 0;  ///< gpu.dynamic_shared_memory of each block
};

/// Runs `body` once per thread of every block. Inside `body` the functions below
/// describe and synchronise the calling thread.
Status launch(const LaunchConfig &config, const std::function<void()> &body);

// --- Called from inside a running kernel -------------------------------------------

Dim3 threadIdx();
Dim3 blockIdx();
Dim3 blockDim();
Dim3 gridDim();
/// Linear thread index within the block (x fastest), lane and warp.
int64_t linearThreadId();
int64_t laneId();

/// __syncthreads(). `loc` names the source location for diagnostics.
void barrier(const char *loc);

enum class ShuffleMode { Xor, Idx, Up, Down };
/// gpu.shuffle on 32-bit values, as upstream MLIR lowers it to NVVM (shfl.sync with
/// the member mask of lanes [0, width), no segments, clamp width - 1, or 32 - width
/// for `Up`): xor reads lane l ^ offset, idx lane offset, down lane l + offset,
/// valid when that lane is <= width - 1; up reads lane l - offset, valid when it is
/// >= 32 - width. An invalid shuffle returns the lane's own value. Lanes
/// [0, width) of the warp must all call it with the same mode and width; a width
/// beyond the warp's lanes, or a lane >= width calling it, is reported (undefined on
/// the hardware).
uint32_t shuffle(uint32_t value, int32_t offset, int32_t width, ShuffleMode mode,
                 bool *valid, const char *loc);

/// Barriers and warp collectives suspend the calling fiber; when its block fails,
/// a suspended fiber is never resumed and its stack is freed without unwinding. Code
/// running on a fiber must therefore hold nothing that owns heap memory (a
/// std::string, a large std::function) across these calls.
///
/// A generic warp collective: every lane of the warp deposits `in` (inBytes), and
/// once all have arrived `compute(inputs, outputs)` runs once with 32 slots of
/// inBytes / outBytes each; then each lane copies its slot to `out`. `what` names the
/// collective in diagnostics (and lanes must agree on it). Only lanes
/// [0, participants) take part (a shuffle's member mask); the others run on.
void warpCollective(const char *what, const void *in, size_t inBytes, void *out,
                    size_t outBytes,
                    const std::function<void(const char *inputs, char *outputs)> &compute,
                    const char *loc, int64_t participants = 32);

/// Workgroup memory of the current block: allocation `id` of `bytes` bytes (zeroed;
/// the same pointer for every thread of the block).
void *sharedMemory(int64_t id, size_t bytes);

/// The block's dynamic shared memory (LaunchConfig::dynamicSharedBytes, zeroed).
void *dynamicSharedMemory(size_t *bytes);

/// Checks an access of `bytes` bytes at `ptr` to shared memory (bounds always, races
/// when enabled) and records it. False when the access lies outside every workgroup
/// allocation (reported): the caller must then not perform it.
/// A warp collective orders the accesses of its warp's lanes before and after it. A
/// write whose bytes `newValue` equal what the memory holds does not race with an
/// earlier write (the same value stored by several threads).
bool checkSharedAccess(const void *ptr, size_t bytes, bool isWrite, const char *loc,
                       const void *newValue = nullptr);

/// nvgpu.device_async_copy (cp.async): copies `srcBytes` bytes from `src` (and zeros
/// up to `bytes`) into workgroup memory at `dst` — but only when a later
/// asyncWait() completes its group. Until then the destination holds its old
/// contents and reading it is reported (a missing or too weak wait).
void asyncCopy(void *dst, const void *src, size_t bytes, size_t srcBytes, const char *loc);
/// nvgpu.device_async_create_group: closes the current group of copies.
void asyncCommitGroup();
/// nvgpu.device_async_wait {numGroups = n}: completes every group but the n most
/// recent ones.
void asyncWait(int64_t pendingGroups, const char *loc);

/// Profiling (KernelProfile.h; no-ops unless it is on): a lane's access of `bytes`
/// at `ptr` at access site `site` (a cp.async destination when `async`), a whole
/// warp's shared-memory instruction already costed (an ldmatrix when `isLdmatrix`),
/// and an mma.sync (counted once per warp, by lane 0).
void profileSharedAccess(int64_t site, const void *ptr, size_t bytes, bool async);
void profileWarpInstruction(const BankCost &cost, bool isLdmatrix);
void profileMma();

/// Reports an error from emulated code (e.g. an out-of-bounds global access); the
/// launch fails with it after the current block.
void reportError(const std::string &message, const char *loc);

} // namespace attnc::emu

#endif // ATTNC_RUNTIME_EMU_EMULATOR_H
