//===- WarpOps.cpp - emulated warp-level matrix operations -----------------===//
#include "runtime/emu/WarpOps.h"
#include "runtime/Tensor.h"
#include "runtime/emu/Emulator.h"

#include <cstdio>
#include <cstring>
#include <string>

namespace attnc::emu {
namespace {

float halfToF32(MmaType type, uint16_t h) {
  return type == MmaType::F16 ? halfToFloat(h) : bf16ToFloat(h);
}

float toTf32(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  bits &= 0xFFFFE000u;
  std::memcpy(&x, &bits, 4);
  return x;
}

struct M16N8K16In {
  uint16_t a[8], b[4];
  float c[4];
};
struct M16N8K8In {
  float a[4], b[2], c[4];
};
struct MmaOut {
  float d[4];
};

/// Scatters per-lane C fragments into / gathers D fragments from a 16x8 matrix.
void cRowCol(int lane, int i, int &row, int &col) {
  int g = lane / 4, t = lane % 4;
  row = g + (i >= 2 ? 8 : 0);
  col = 2 * t + (i % 2);
}

/// The shared half of both mma shapes: the C fragments into a 16x8 matrix, then
/// D = A·B + C handed back per lane (accumulated in f32, in k order).
template <int K, typename In>
void finishMma(const In *lanes, const float (&A)[16][K], const float (&B)[K][8],
               char *outputs) {
  float C[16][8] = {};
  for (int lane = 0; lane < 32; ++lane)
    for (int i = 0; i < 4; ++i) {
      int row, col;
      cRowCol(lane, i, row, col);
      C[row][col] = lanes[lane].c[i];
    }
  auto *results = reinterpret_cast<MmaOut *>(outputs);
  for (int lane = 0; lane < 32; ++lane)
    for (int i = 0; i < 4; ++i) {
      int row, col;
      cRowCol(lane, i, row, col);
      float acc = C[row][col];
      for (int k = 0; k < K; ++k)
        acc += A[row][k] * B[k][col];
      results[lane].d[i] = acc;
    }
}

} // namespace

void mmaM16N8K16(MmaType type, const uint16_t a[8], const uint16_t b[4], const float c[4],
                 float d[4], const char *loc) {
  M16N8K16In in;
  std::memcpy(in.a, a, sizeof(in.a));
  std::memcpy(in.b, b, sizeof(in.b));
  std::memcpy(in.c, c, sizeof(in.c));
  MmaOut out;
  warpCollective(
      type == MmaType::F16 ? "mma.sync.m16n8k16.f16" : "mma.sync.m16n8k16.bf16", &in, sizeof(in), &out, sizeof(out),
      [type](const char *inputs, char *outputs) {
        float A[16][16] = {}, B[16][8] = {};
        const auto *lanes = reinterpret_cast<const M16N8K16In *>(inputs);
        for (int lane = 0; lane < 32; ++lane) {
          int g = lane / 4, t = lane % 4;
          for (int i = 0; i < 8; ++i) {
            int row = g + ((i / 2) % 2 ? 8 : 0), col = 2 * t + (i % 2) + (i >= 4 ? 8 : 0);
            A[row][col] = halfToF32(type, lanes[lane].a[i]);
          }
          for (int i = 0; i < 4; ++i)
            B[2 * t + (i % 2) + (i >= 2 ? 8 : 0)][g] = halfToF32(type, lanes[lane].b[i]);
        }
        finishMma<16>(lanes, A, B, outputs);
      },
      loc);
  std::memcpy(d, out.d, sizeof(out.d));
}

void mmaM16N8K8Tf32(const float a[4], const float b[2], const float c[4], float d[4],
                    const char *loc) {
  M16N8K8In in;
  std::memcpy(in.a, a, sizeof(in.a));
  std::memcpy(in.b, b, sizeof(in.b));
  std::memcpy(in.c, c, sizeof(in.c));
  MmaOut out;
  warpCollective(
      "mma.sync.m16n8k8.tf32", &in, sizeof(in), &out, sizeof(out),
      [](const char *inputs, char *outputs) {
        float A[16][8] = {}, B[8][8] = {};
        const auto *lanes = reinterpret_cast<const M16N8K8In *>(inputs);
        for (int lane = 0; lane < 32; ++lane) {
          int g = lane / 4, t = lane % 4;
          for (int i = 0; i < 4; ++i)
            A[g + (i % 2 ? 8 : 0)][t + (i >= 2 ? 4 : 0)] = toTf32(lanes[lane].a[i]);
          for (int i = 0; i < 2; ++i)
            B[t + (i ? 4 : 0)][g] = toTf32(lanes[lane].b[i]);
        }
        finishMma<8>(lanes, A, B, outputs);
      },
      loc);
  std::memcpy(d, out.d, sizeof(out.d));
}

void ldmatrix(const void *rowAddress, int numMatrices, bool transpose, uint32_t out[4],
              const char *loc) {
  if (numMatrices != 1 && numMatrices != 2 && numMatrices != 4) {
    reportError("ldmatrix needs 1, 2 or 4 matrices, got " + std::to_string(numMatrices),
                loc);
    return;
  }
  // Lanes that supply a row address read it (checked) into the collective's input.
  struct In {
    uint16_t row[8];
    uint64_t address;
  } in{};
  int64_t lane = laneId();
  if (lane < 8 * numMatrices) {
    in.address = reinterpret_cast<uintptr_t>(rowAddress);
    // A faulting row is reported and read as zeros: the emulator never touches
    // memory outside the block's allocations.
    if (checkSharedAccess(rowAddress, 16, /*isWrite=*/false, loc))
      std::memcpy(in.row, rowAddress, 16);
  }
  struct Out {
    uint32_t regs[4];
  } result{};
  char what[32]; // not a std::string: nothing on the heap across a yield
  std::snprintf(what, sizeof(what), "ldmatrix.x%d%s", numMatrices, transpose ? ".trans" : "");
  warpCollective(
      what, &in, sizeof(In), &result, sizeof(Out),
      [numMatrices, transpose](const char *inputs, char *outputs) {
        const auto *rows = reinterpret_cast<const In *>(inputs);
        auto *lanes = reinterpret_cast<Out *>(outputs);
        uint64_t addresses[32];
        for (int l = 0; l < 8 * numMatrices; ++l)
          addresses[l] = rows[l].address;
        profileWarpInstruction(ldmatrixCost(addresses, numMatrices), /*isLdmatrix=*/true);
        for (int l = 0; l < 32; ++l)
          for (int m = 0; m < numMatrices; ++m) {
            uint16_t e[2];
            for (int j = 0; j < 2; ++j) {
              int r = l / 4, c = 2 * (l % 4) + j;
              e[j] = transpose ? rows[8 * m + c].row[r] : rows[8 * m + r].row[c];
            }
            lanes[l].regs[m] = uint32_t(e[0]) | (uint32_t(e[1]) << 16);
          }
      },
      loc);
  std::memcpy(out, result.regs, sizeof(uint32_t) * size_t(numMatrices));
}

namespace {

size_t wmmaBytes(WmmaType t) { return t == WmmaType::F16 ? 2 : t == WmmaType::F32 ? 4 : 8; }

double wmmaGet(WmmaType t, const char *p) {
  if (t == WmmaType::F16) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return halfToFloat(h);
  }
  if (t == WmmaType::F32) {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
  double d;
  std::memcpy(&d, p, 8);
  return d;
}

void wmmaSet(WmmaType t, char *p, double v) {
  if (t == WmmaType::F16) {
    uint16_t h = floatToHalf(float(v));
    std::memcpy(p, &h, 2);
  } else if (t == WmmaType::F32) {
    float f = float(v);
    std::memcpy(p, &f, 4);
  } else {
    std::memcpy(p, &v, 8);
  }
}

/// The address of element (r, c) of a tile, or null (reported) if it lies outside
/// the memref.
const char *wmmaElement(const WmmaTile &t, int64_t r, int64_t c, bool isWrite,
                        const char *loc) {
  int64_t linear = t.transpose ? c * t.leadDimension + r : r * t.leadDimension + c;
  size_t bytes = wmmaBytes(t.type);
  const char *p = t.base + linear * int64_t(bytes);
  if (p < t.begin || p + bytes > t.end) {
    reportError(std::string(isWrite ? "gpu.subgroup_mma_store_matrix writes"
                                    : "gpu.subgroup_mma_load_matrix reads") +
                    " element (" + std::to_string(r) + ", " + std::to_string(c) +
                    ") outside its memref (leadDimension " +
                    std::to_string(t.leadDimension) + ")",
                loc);
    return nullptr;
  }
  if (t.shared && !checkSharedAccess(p, bytes, isWrite, loc))
    return nullptr; // reported; not performed
  return p;
}

/// Makes every lane of the warp reach the WMMA operation `what` together.
void wmmaSync(const char *what, const char *loc) {
  char in = 0, out = 0;
  warpCollective(what, &in, 1, &out, 1, [](const char *, char *) {}, loc);
}

} // namespace

void wmmaLoad(const WmmaTile &src, void *out, const char *loc) {
  wmmaSync("gpu.subgroup_mma_load_matrix", loc);
  size_t bytes = wmmaBytes(src.type);
  auto *dst = static_cast<char *>(out);
  for (int64_t r = 0; r < src.rows; ++r)
    for (int64_t c = 0; c < src.cols; ++c) {
      char *slot = dst + (r * src.cols + c) * int64_t(bytes);
      const char *p = wmmaElement(src, r, c, /*isWrite=*/false, loc);
      if (!p) {
        std::memset(slot, 0, bytes);
        continue;
      }
      std::memcpy(slot, p, bytes);
    }
}

void wmmaStore(const WmmaTile &dst, const void *in, const char *loc) {
  wmmaSync("gpu.subgroup_mma_store_matrix", loc);
  if (laneId() != 0)
    return;
  size_t bytes = wmmaBytes(dst.type);
  const auto *src = static_cast<const char *>(in);
  for (int64_t r = 0; r < dst.rows; ++r)
    for (int64_t c = 0; c < dst.cols; ++c)
      if (const char *p = wmmaElement(dst, r, c, /*isWrite=*/true, loc))
        std::memcpy(const_cast<char *>(p), src + (r * dst.cols + c) * int64_t(bytes), bytes);
}

void wmmaCompute(WmmaType abType, WmmaType cType, int64_t m, int64_t n, int64_t k,
                 const void *a, const void *b, const void *c, void *d, const char *loc) {
  wmmaSync("gpu.subgroup_mma_compute", loc);
  size_t ab = wmmaBytes(abType), cb = wmmaBytes(cType);
  const auto *A = static_cast<const char *>(a), *B = static_cast<const char *>(b),
             *C = static_cast<const char *>(c);
  auto *D = static_cast<char *>(d);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = wmmaGet(cType, C + (i * n + j) * int64_t(cb));
      for (int64_t p = 0; p < k; ++p)
        acc += wmmaGet(abType, A + (i * k + p) * int64_t(ab)) *
               wmmaGet(abType, B + (p * n + j) * int64_t(ab));
      wmmaSet(cType, D + (i * n + j) * int64_t(cb), acc);
    }
}

} // namespace attnc::emu
