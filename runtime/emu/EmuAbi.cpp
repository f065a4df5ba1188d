//===- EmuAbi.cpp - the C functions that lowered GPU kernels call ----------===//
#include "runtime/emu/EmuAbi.h"
#include "runtime/emu/Emulator.h"
#include "runtime/emu/WarpOps.h"

#include <algorithm>
#include <cstring>

namespace attnc::emu {
namespace {
std::vector<std::string> &table() {
  static auto *locations = new std::vector<std::string>();
  return *locations;
}
} // namespace

int64_t component(Dim3 d, int64_t dim) { return dim == 0 ? d.x : dim == 1 ? d.y : d.z; }

void setLocationTable(std::vector<std::string> locations) {
  table() = std::move(locations);
}

const char *locationName(int64_t loc);
const char *locationName(int64_t loc) {
  if (loc >= 0 && size_t(loc) < table().size())
    return table()[size_t(loc)].c_str();
  return "<unknown location>";
}

std::vector<std::pair<std::string, void *>> emuAbiSymbols() {
  return {
      {"attnc_emu_thread_id", reinterpret_cast<void *>(&attnc_emu_thread_id)},
      {"attnc_emu_block_id", reinterpret_cast<void *>(&attnc_emu_block_id)},
      {"attnc_emu_block_dim", reinterpret_cast<void *>(&attnc_emu_block_dim)},
      {"attnc_emu_grid_dim", reinterpret_cast<void *>(&attnc_emu_grid_dim)},
      {"attnc_emu_lane_id", reinterpret_cast<void *>(&attnc_emu_lane_id)},
      {"attnc_emu_barrier", reinterpret_cast<void *>(&attnc_emu_barrier)},
      {"attnc_emu_shuffle", reinterpret_cast<void *>(&attnc_emu_shuffle)},
      {"attnc_emu_check_shared", reinterpret_cast<void *>(&attnc_emu_check_shared)},
      {"attnc_emu_check_shared_store",
       reinterpret_cast<void *>(&attnc_emu_check_shared_store)},
      {"attnc_emu_ldmatrix", reinterpret_cast<void *>(&attnc_emu_ldmatrix)},
      {"attnc_emu_mma_m16n8k16", reinterpret_cast<void *>(&attnc_emu_mma_m16n8k16)},
      {"attnc_emu_mma_m16n8k8_tf32", reinterpret_cast<void *>(&attnc_emu_mma_m16n8k8_tf32)},
      {"attnc_emu_out_of_bounds", reinterpret_cast<void *>(&attnc_emu_out_of_bounds)},
      {"attnc_emu_assert_failed", reinterpret_cast<void *>(&attnc_emu_assert_failed)},
      {"attnc_emu_wmma_load", reinterpret_cast<void *>(&attnc_emu_wmma_load)},
      {"attnc_emu_wmma_store", reinterpret_cast<void *>(&attnc_emu_wmma_store)},
      {"attnc_emu_wmma_compute", reinterpret_cast<void *>(&attnc_emu_wmma_compute)},
      {"attnc_emu_async_copy", reinterpret_cast<void *>(&attnc_emu_async_copy)},
      {"attnc_emu_async_commit", reinterpret_cast<void *>(&attnc_emu_async_commit)},
      {"attnc_emu_async_wait", reinterpret_cast<void *>(&attnc_emu_async_wait)},
      {"_mlir_ciface_attnc_emu_shared",
       reinterpret_cast<void *>(&_mlir_ciface_attnc_emu_shared)},
      {"_mlir_ciface_attnc_emu_dynamic_shared",
       reinterpret_cast<void *>(&_mlir_ciface_attnc_emu_dynamic_shared)},
      {"attnc_emu_launch", reinterpret_cast<void *>(&attnc_emu_launch)},
      {"attnc_emu_launch_async", reinterpret_cast<void *>(&attnc_emu_launch_async)},
      {"attnc_emu_wait", reinterpret_cast<void *>(&attnc_emu_wait)},
  };
}

} // namespace attnc::emu

namespace {
/// A pointer passed from generated code as an i64 address.
template <typename T> T *at(int64_t address) { return reinterpret_cast<T *>(address); }
} // namespace

using attnc::emu::component;
using attnc::emu::locationName;
using namespace attnc::emu;

extern "C" {
int64_t attnc_emu_thread_id(int64_t dim) { return component(threadIdx(), dim); }
int64_t attnc_emu_block_id(int64_t dim) { return component(blockIdx(), dim); }
int64_t attnc_emu_block_dim(int64_t dim) { return component(blockDim(), dim); }
int64_t attnc_emu_grid_dim(int64_t dim) { return component(gridDim(), dim); }
int64_t attnc_emu_lane_id() { return laneId(); }
void attnc_emu_barrier(int64_t loc) { barrier(locationName(loc)); }
int64_t attnc_emu_shuffle(int32_t value, int32_t offset, int32_t width, int32_t mode,
                          int64_t loc) {
  bool valid = false;
  uint32_t result = shuffle(uint32_t(value), offset, width, ShuffleMode(mode), &valid,
                            locationName(loc));
  return (int64_t(valid) << 32) | int64_t(result);
}
// Shared-memory accesses are profiled by site: the lowering gives each access site
// a location index of its own.
int64_t attnc_emu_check_shared(int64_t address, int64_t bytes, int64_t isWrite, int64_t loc) {
  profileSharedAccess(loc, reinterpret_cast<const void *>(address), size_t(bytes), false);
  return checkSharedAccess(reinterpret_cast<const void *>(address), size_t(bytes), isWrite != 0,
                    locationName(loc));
}
int64_t attnc_emu_check_shared_store(int64_t address, int64_t bytes, int64_t bits,
                                     int64_t loc) {
  profileSharedAccess(loc, reinterpret_cast<const void *>(address), size_t(bytes), false);
  // Little-endian: the low `bytes` bytes of `bits` are the stored value.
  return checkSharedAccess(reinterpret_cast<const void *>(address), size_t(bytes), /*isWrite=*/true,
                    locationName(loc), &bits);
}
void attnc_emu_ldmatrix(int64_t address, int64_t numTiles, int64_t transpose, int64_t out,
                        int64_t loc) {
  uint32_t regs[4] = {};
  ldmatrix(reinterpret_cast<const void *>(address), int(numTiles), transpose != 0, regs,
           locationName(loc));
  std::memcpy(at<uint32_t>(out), regs, size_t(std::max<int64_t>(0, std::min<int64_t>(numTiles, 4))) * 4);
}
void attnc_emu_mma_m16n8k16(int64_t a, int64_t b, int64_t c, int64_t d, int64_t isBf16,
                            int64_t loc) {
  profileMma();
  mmaM16N8K16(isBf16 ? MmaType::BF16 : MmaType::F16, at<uint16_t>(a), at<uint16_t>(b),
              at<float>(c), at<float>(d), locationName(loc));
}
void attnc_emu_mma_m16n8k8_tf32(int64_t a, int64_t b, int64_t c, int64_t d, int64_t loc) {
  profileMma();
  mmaM16N8K8Tf32(at<float>(a), at<float>(b), at<float>(c), at<float>(d), locationName(loc));
}
static WmmaTile wmmaTile(int64_t base, int64_t rows, int64_t cols, int64_t ld, int64_t type,
                         int64_t transpose, int64_t begin, int64_t end, int64_t shared) {
  return {at<const char>(base), rows, cols, ld, transpose != 0, WmmaType(type),
          at<const char>(begin), at<const char>(end), shared != 0};
}
void attnc_emu_wmma_load(int64_t lane, int64_t base, int64_t rows, int64_t cols, int64_t ld,
                         int64_t type, int64_t transpose, int64_t begin, int64_t end,
                         int64_t shared, int64_t loc) {
  wmmaLoad(wmmaTile(base, rows, cols, ld, type, transpose, begin, end, shared), at<void>(lane),
           locationName(loc));
}
void attnc_emu_wmma_store(int64_t lane, int64_t base, int64_t rows, int64_t cols, int64_t ld,
                          int64_t type, int64_t transpose, int64_t begin, int64_t end,
                          int64_t shared, int64_t loc) {
  wmmaStore(wmmaTile(base, rows, cols, ld, type, transpose, begin, end, shared),
            at<const void>(lane), locationName(loc));
}
void attnc_emu_wmma_compute(int64_t abType, int64_t cType, int64_t m, int64_t n, int64_t k,
                            int64_t a, int64_t b, int64_t c, int64_t d, int64_t loc) {
  wmmaCompute(WmmaType(abType), WmmaType(cType), m, n, k, at<const void>(a), at<const void>(b),
              at<const void>(c), at<void>(d), locationName(loc));
}
void attnc_emu_assert_failed(const char *message, int64_t loc) {
  reportError(std::string("assertion failed: ") + message, locationName(loc));
}
void attnc_emu_out_of_bounds(int64_t isWrite, int64_t loc) {
  reportError(std::string(isWrite ? "write" : "read") +
                  " outside a global-memory buffer (index out of its shape)",
              locationName(loc));
}
void attnc_emu_async_copy(int64_t dst, int64_t src, int64_t bytes, int64_t srcBytes,
                          int64_t loc) {
  profileSharedAccess(loc, at<void>(dst), size_t(bytes), true);
  asyncCopy(at<void>(dst), at<const void>(src), size_t(bytes), size_t(srcBytes),
            locationName(loc));
}
void attnc_emu_async_commit() { asyncCommitGroup(); }
void attnc_emu_async_wait(int64_t pendingGroups, int64_t loc) {
  asyncWait(pendingGroups, locationName(loc));
}
void _mlir_ciface_attnc_emu_shared(AttncEmuMemRef1D *result, int64_t id, int64_t bytes) {
  auto *p = static_cast<int8_t *>(sharedMemory(id, size_t(bytes)));
  *result = {p, p, 0, bytes, 1};
}
void _mlir_ciface_attnc_emu_dynamic_shared(AttncEmuMemRef1D *result) {
  size_t bytes = 0;
  auto *p = static_cast<int8_t *>(dynamicSharedMemory(&bytes));
  *result = {p, p, 0, int64_t(bytes), 1};
}
}
