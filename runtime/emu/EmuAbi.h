//===- EmuAbi.h - the C functions that lowered GPU kernels call ---*- C++ -*-===//
//
// `attn-gpu-to-emu` turns gpu/nvgpu operations into calls of these functions; the
// JIT resolves them with `emuAbiSymbols()`. Source locations travel as indices into
// a table the lowering stores in the module (`attn.emu.locations`) and the launcher
// installs with `setLocationTable`.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_EMU_EMUABI_H
#define ATTNC_RUNTIME_EMU_EMUABI_H

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace attnc::emu {

/// Installs the location strings that calls refer to by index.
void setLocationTable(std::vector<std::string> locations);

/// The location string of an index (or "<unknown location>").
const char *locationName(int64_t loc);
struct Dim3;
int64_t component(Dim3 d, int64_t dim);

/// Name → address of every ABI function, for the JIT.
std::vector<std::pair<std::string, void *>> emuAbiSymbols();

} // namespace attnc::emu

extern "C" {
int64_t attnc_emu_thread_id(int64_t dim);
int64_t attnc_emu_block_id(int64_t dim);
int64_t attnc_emu_block_dim(int64_t dim);
int64_t attnc_emu_grid_dim(int64_t dim);
int64_t attnc_emu_lane_id();
void attnc_emu_barrier(int64_t loc);
/// Returns (valid << 32) | value.
int64_t attnc_emu_shuffle(int32_t value, int32_t offset, int32_t width, int32_t mode,
                          int64_t loc);
/// Checks an access of `bytes` at `address` to workgroup memory: 1 when the access
/// may proceed, 0 when it lies outside every allocation (reported; the generated
/// code then does not perform it).
int64_t attnc_emu_check_shared(int64_t address, int64_t bytes, int64_t isWrite, int64_t loc);
/// The same for a scalar store of `bytes` (<= 8) bytes whose value is `bits`.
int64_t attnc_emu_check_shared_store(int64_t address, int64_t bytes, int64_t bits,
                                     int64_t loc);
/// ldmatrix: `address` of this lane's row, numTiles in {1, 2, 4}; writes numTiles
/// b32 registers to `out`.
void attnc_emu_ldmatrix(int64_t address, int64_t numTiles, int64_t transpose, int64_t out,
                        int64_t loc);
/// mma.sync m16n8k16 (f16 or bf16 inputs, f32 accumulators): a = 8 halves, b = 4
/// halves, c and d = 4 floats, all passed by address.
void attnc_emu_mma_m16n8k16(int64_t a, int64_t b, int64_t c, int64_t d, int64_t isBf16,
                            int64_t loc);
/// mma.sync m16n8k8 tf32: a = 4 floats, b = 2 floats, c and d = 4 floats.
void attnc_emu_mma_m16n8k8_tf32(int64_t a, int64_t b, int64_t c, int64_t d, int64_t loc);
/// WMMA (runtime/emu/WarpOps.h): a tile at `base` of rows x cols elements of `type`
/// (0 f16, 1 f32, 2 f64) with leading dimension `ld`, inside [begin, end) of its
/// memref; `lane` is this lane's copy of the whole matrix, row-major.
void attnc_emu_wmma_load(int64_t lane, int64_t base, int64_t rows, int64_t cols, int64_t ld,
                         int64_t type, int64_t transpose, int64_t begin, int64_t end,
                         int64_t shared, int64_t loc);
void attnc_emu_wmma_store(int64_t lane, int64_t base, int64_t rows, int64_t cols, int64_t ld,
                          int64_t type, int64_t transpose, int64_t begin, int64_t end,
                          int64_t shared, int64_t loc);
void attnc_emu_wmma_compute(int64_t abType, int64_t cType, int64_t m, int64_t n, int64_t k,
                            int64_t a, int64_t b, int64_t c, int64_t d, int64_t loc);
/// Reports an access outside a global-memory memref (the access itself is redirected
/// to element 0 so nothing outside the memref is touched).
void attnc_emu_out_of_bounds(int64_t isWrite, int64_t loc);
/// A cf.assert that failed in a kernel, with its message.
void attnc_emu_assert_failed(const char *message, int64_t loc);
/// cp.async of `bytes` (of which `srcBytes` are read; the rest zeroed) and its groups.
void attnc_emu_async_copy(int64_t dst, int64_t src, int64_t bytes, int64_t srcBytes,
                          int64_t loc);
void attnc_emu_async_commit();
void attnc_emu_async_wait(int64_t pendingGroups, int64_t loc);
/// memref<?xi8> descriptor of workgroup allocation `id` (C interface of a function
/// returning a memref).
struct AttncEmuMemRef1D {
  int8_t *allocated;
  int8_t *aligned;
  int64_t offset;
  int64_t size;
  int64_t stride;
};
void _mlir_ciface_attnc_emu_shared(AttncEmuMemRef1D *result, int64_t id, int64_t bytes);
/// memref<?xi8> descriptor of the block's dynamic shared memory.
void _mlir_ciface_attnc_emu_dynamic_shared(AttncEmuMemRef1D *result);
/// gpu.launch_func from host code (see runtime/emu/EmuHost.h): runs kernel `kernel`
/// of the installed kernel table with `argv` (its packed-interface arguments).
void attnc_emu_launch(int64_t kernel, int64_t gridX, int64_t gridY, int64_t gridZ,
                      int64_t blockX, int64_t blockY, int64_t blockZ,
                      int64_t dynamicSharedBytes, int64_t argv, int64_t loc);
/// gpu.launch_func async: the same, started on a thread of its own after the launches
/// `deps[0..numDeps)` (handles); the arguments are copied (`kinds[i]`: the rank of
/// memref argument i, or -1 for a scalar). Returns the launch's handle (> 0).
int64_t attnc_emu_launch_async(int64_t kernel, int64_t gridX, int64_t gridY, int64_t gridZ,
                               int64_t blockX, int64_t blockY, int64_t blockZ,
                               int64_t dynamicSharedBytes, int64_t argv, int64_t kinds,
                               int64_t numArgs, int64_t deps, int64_t numDeps, int64_t loc);
/// Waits for the asynchronous launch `handle` (0: returns at once).
void attnc_emu_wait(int64_t handle);
}

#endif // ATTNC_RUNTIME_EMU_EMUABI_H
