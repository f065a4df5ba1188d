//===- WarpOps.cpp - emulated warp-level matrix operations -----------------===//
#include "runtime/emu/WarpOps.h"
#include "runtime/Tensor.h"
#include "runtime/emu/Emulator.h"

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
  std::string what = std::string("mma.sync.m16n8k16.") + (type == MmaType::F16 ? "f16" : "bf16");
  warpCollective(
      what.c_str(), &in, sizeof(in), &out, sizeof(out),
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
  } in{};
  int64_t lane = laneId();
  if (lane < 8 * numMatrices) {
    checkSharedAccess(rowAddress, 16, /*isWrite=*/false, loc);
    std::memcpy(in.row, rowAddress, 16);
  }
  struct Out {
    uint32_t regs[4];
  } result{};
  std::string what = "ldmatrix.x" + std::to_string(numMatrices) + (transpose ? ".trans" : "");
  warpCollective(
      what.c_str(), &in, sizeof(In), &result, sizeof(Out),
      [numMatrices, transpose](const char *inputs, char *outputs) {
        const auto *rows = reinterpret_cast<const In *>(inputs);
        auto *lanes = reinterpret_cast<Out *>(outputs);
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

} // namespace attnc::emu
