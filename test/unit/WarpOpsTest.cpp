//===- WarpOpsTest.cpp - emulated mma.sync and ldmatrix ---------------------===//
//
// Each operation runs on a full emulated warp. Inputs are whole matrices; the test
// hands each lane its fragment following the PTX ISA tables (written out here, per
// register, independently of the emulator), and checks the assembled result against
// a double-precision matrix product (mma) or the source matrix (ldmatrix).
//
//===----------------------------------------------------------------------===//
#include "runtime/Tensor.h"
#include "runtime/emu/Emulator.h"
#include "runtime/emu/WarpOps.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace attnc;
using namespace attnc::emu;

namespace {

LaunchConfig warp() {
  LaunchConfig c;
  c.kernel = "warp_ops";
  c.block = {32, 1, 1};
  return c;
}

// PTX ISA, mma.m16n8k16 fragments (groupID = lane >> 2, tig = lane % 4).
int aRow(int lane, int i) { return (lane >> 2) + (i == 2 || i == 3 || i == 6 || i == 7 ? 8 : 0); }
int aCol(int lane, int i) { return (lane % 4) * 2 + (i & 1) + (i >= 4 ? 8 : 0); }
int bK(int lane, int i) { return (lane % 4) * 2 + (i & 1) + (i >= 2 ? 8 : 0); }
int bN(int lane, int) { return lane >> 2; }
int cRow(int lane, int i) { return (lane >> 2) + (i >= 2 ? 8 : 0); }
int cCol(int lane, int i) { return (lane % 4) * 2 + (i & 1); }

void checkMmaK16(MmaType type) {
  std::mt19937 rng(type == MmaType::F16 ? 1 : 2);
  std::uniform_real_distribution<float> dist(-2, 2);
  auto encode = [&](float x) {
    return type == MmaType::F16 ? floatToHalf(x) : floatToBf16(x);
  };
  auto decode = [&](uint16_t h) {
    return type == MmaType::F16 ? halfToFloat(h) : bf16ToFloat(h);
  };
  uint16_t A[16][16], B[16][8];
  float C[16][8], D[16][8];
  for (auto &row : A)
    for (uint16_t &x : row)
      x = encode(dist(rng));
  for (auto &row : B)
    for (uint16_t &x : row)
      x = encode(dist(rng));
  for (auto &row : C)
    for (float &x : row)
      x = dist(rng);
  Status s = launch(warp(), [&] {
    int lane = int(laneId());
    uint16_t a[8], b[4];
    float c[4], d[4];
    for (int i = 0; i < 8; ++i)
      a[i] = A[aRow(lane, i)][aCol(lane, i)];
    for (int i = 0; i < 4; ++i)
      b[i] = B[bK(lane, i)][bN(lane, i)];
    for (int i = 0; i < 4; ++i)
      c[i] = C[cRow(lane, i)][cCol(lane, i)];
    mmaM16N8K16(type, a, b, c, d, "mma.mlir:1");
    for (int i = 0; i < 4; ++i)
      D[cRow(lane, i)][cCol(lane, i)] = d[i];
  });
  ASSERT_TRUE(s) << s.message();
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 8; ++n) {
      double ref = C[m][n];
      for (int k = 0; k < 16; ++k)
        ref += double(decode(A[m][k])) * double(decode(B[k][n]));
      EXPECT_NEAR(D[m][n], ref, 1e-4 * (1 + std::fabs(ref))) << m << "," << n;
    }
}

TEST(WarpOps, MmaM16N8K16F16MatchesTheMatrixProduct) { checkMmaK16(MmaType::F16); }
TEST(WarpOps, MmaM16N8K16BF16MatchesTheMatrixProduct) { checkMmaK16(MmaType::BF16); }

TEST(WarpOps, MmaM16N8K8Tf32UsesTheTop19Bits) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-2, 2);
  float A[16][8], B[8][8], C[16][8], D[16][8];
  for (auto &row : A)
    for (float &x : row)
      x = dist(rng);
  for (auto &row : B)
    for (float &x : row)
      x = dist(rng);
  for (auto &row : C)
    for (float &x : row)
      x = dist(rng);
  Status s = launch(warp(), [&] {
    int lane = int(laneId()), g = lane >> 2, t = lane % 4;
    // PTX ISA, mma.m16n8k8 .tf32: a0 (g, t), a1 (g+8, t), a2 (g, t+4), a3 (g+8, t+4);
    // b0 (k = t, n = g), b1 (k = t+4, n = g).
    float a[4] = {A[g][t], A[g + 8][t], A[g][t + 4], A[g + 8][t + 4]};
    float b[2] = {B[t][g], B[t + 4][g]};
    float c[4], d[4];
    for (int i = 0; i < 4; ++i)
      c[i] = C[cRow(lane, i)][cCol(lane, i)];
    mmaM16N8K8Tf32(a, b, c, d, "tf32.mlir:1");
    for (int i = 0; i < 4; ++i)
      D[cRow(lane, i)][cCol(lane, i)] = d[i];
  });
  ASSERT_TRUE(s) << s.message();
  auto tf32 = [](float x) {
    uint32_t u;
    std::memcpy(&u, &x, 4);
    u &= 0xFFFFE000u;
    std::memcpy(&x, &u, 4);
    return double(x);
  };
  double worstFull = 0;
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 8; ++n) {
      double ref = C[m][n], full = C[m][n];
      for (int k = 0; k < 8; ++k) {
        ref += tf32(A[m][k]) * tf32(B[k][n]);
        full += double(A[m][k]) * double(B[k][n]);
      }
      EXPECT_NEAR(D[m][n], ref, 1e-5 * (1 + std::fabs(ref)));
      worstFull = std::max(worstFull, std::fabs(D[m][n] - full));
    }
  EXPECT_GT(worstFull, 1e-5) << "tf32 rounding should be visible against full f32";
}

TEST(WarpOps, LdmatrixDeliversThePtxFragments) {
  for (int num : {1, 2, 4})
    for (bool trans : {false, true}) {
      SCOPED_TRACE("x" + std::to_string(num) + (trans ? ".trans" : ""));
      std::vector<uint16_t> source(32 * 8);
      for (size_t i = 0; i < source.size(); ++i)
        source[i] = uint16_t(i * 7 + 3);
      std::vector<uint32_t> got(32 * 4, 0);
      Status s = launch(warp(), [&] {
        auto *tile = static_cast<uint16_t *>(sharedMemory(0, source.size() * 2));
        int lane = int(laneId());
        if (lane == 0)
          std::memcpy(tile, source.data(), source.size() * 2); // unchecked setup
        barrier("setup");
        uint32_t out[4] = {};
        ldmatrix(tile + lane * 8, num, trans, out, "ldmatrix.mlir:2");
        for (int m = 0; m < 4; ++m)
          got[size_t(lane * 4 + m)] = out[m];
      });
      ASSERT_TRUE(s) << s.message();
      for (int lane = 0; lane < 32; ++lane)
        for (int m = 0; m < num; ++m) {
          // Lane receives (row lane/4, cols 2(lane%4), +1) of matrix m (rows 8m..8m+7);
          // transposed: (rows 2(lane%4), +1, col lane/4).
          int r = lane / 4, c0 = 2 * (lane % 4);
          uint16_t e0 = trans ? source[size_t((8 * m + c0) * 8 + r)]
                              : source[size_t((8 * m + r) * 8 + c0)];
          uint16_t e1 = trans ? source[size_t((8 * m + c0 + 1) * 8 + r)]
                              : source[size_t((8 * m + r) * 8 + c0 + 1)];
          EXPECT_EQ(got[size_t(lane * 4 + m)], uint32_t(e0) | (uint32_t(e1) << 16))
              << "lane " << lane << " matrix " << m;
        }
    }
}

TEST(WarpOps, LdmatrixOutsideSharedMemoryIsReported) {
  Status s = launch(warp(), [&] {
    auto *tile = static_cast<uint16_t *>(sharedMemory(0, 8 * 8 * 2));
    uint32_t out[4];
    ldmatrix(tile + laneId() * 8, 4, false, out, "ldmatrix.mlir:9"); // 4 matrices, 1 allocated
  });
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("ldmatrix.mlir:9"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("outside every workgroup memory allocation"), std::string::npos)
      << s.message();
}

TEST(WarpOps, MmaNotExecutedByEveryLaneIsReported) {
  Status s = launch(warp(), [&] {
    if (laneId() < 31) {
      uint16_t a[8] = {}, b[4] = {};
      float c[4] = {}, d[4];
      mmaM16N8K16(MmaType::F16, a, b, c, d, "mma.mlir:7");
    }
  });
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("warp collective 'mma.sync.m16n8k16.f16' is not executed by "
                             "every lane of warp 0: lane 31 has exited"),
            std::string::npos)
      << s.message();
}

TEST(WarpOps, WmmaLoadComputeStoreMatchTheMatrixProduct) {
  // A row-major in a 16 x 24 buffer (leading dimension 24), B stored column-major
  // (a transposed load), C f32; D = A·B + C stored by the warp with ld 20.
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> dist(-2, 2);
  std::vector<uint16_t> a(16 * 24), bT(16 * 16);
  std::vector<float> c(16 * 16), d(16 * 20, -7.0f);
  for (uint16_t &x : a)
    x = floatToHalf(dist(rng));
  for (uint16_t &x : bT)
    x = floatToHalf(dist(rng));
  for (float &x : c)
    x = dist(rng);
  auto tile = [](const void *base, size_t bytes, int64_t ld, bool transpose, WmmaType type) {
    const char *p = static_cast<const char *>(base);
    return WmmaTile{p, 16, 16, ld, transpose, type, p, p + bytes, false};
  };
  Status s = launch(warp(), [&] {
    uint16_t fa[256], fb[256];
    float fc[256], fd[256];
    wmmaLoad(tile(a.data(), a.size() * 2, 24, false, WmmaType::F16), fa, "wmma.mlir:1");
    wmmaLoad(tile(bT.data(), bT.size() * 2, 16, true, WmmaType::F16), fb, "wmma.mlir:2");
    wmmaLoad(tile(c.data(), c.size() * 4, 16, false, WmmaType::F32), fc, "wmma.mlir:3");
    wmmaCompute(WmmaType::F16, WmmaType::F32, 16, 16, 16, fa, fb, fc, fd, "wmma.mlir:4");
    wmmaStore(tile(d.data(), d.size() * 4, 20, false, WmmaType::F32), fd, "wmma.mlir:5");
  });
  ASSERT_TRUE(s) << s.message();
  for (int m = 0; m < 16; ++m) {
    for (int n = 0; n < 16; ++n) {
      double ref = c[size_t(m * 16 + n)];
      for (int k = 0; k < 16; ++k) // B(k, n) is stored at n * 16 + k
        ref += double(halfToFloat(a[size_t(m * 24 + k)])) *
               double(halfToFloat(bT[size_t(n * 16 + k)]));
      EXPECT_NEAR(d[size_t(m * 20 + n)], ref, 1e-5 * (1 + std::fabs(ref))) << m << "," << n;
    }
    for (int n = 16; n < 20; ++n) // the store leaves the padding alone
      EXPECT_EQ(d[size_t(m * 20 + n)], -7.0f);
  }
}

TEST(WarpOps, WmmaOutsideItsBufferIsReported) {
  std::vector<float> c(16 * 16);
  Status s = launch(warp(), [&] {
    float f[256];
    const char *p = reinterpret_cast<const char *>(c.data());
    // Leading dimension 17 runs past the end of a 16 x 16 buffer at row 15.
    wmmaLoad(WmmaTile{p, 16, 16, 17, false, WmmaType::F32, p, p + c.size() * 4, false}, f,
             "wmma.mlir:9");
  });
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("wmma.mlir:9"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("reads element (15, 1) outside its memref (leadDimension 17)"),
            std::string::npos)
      << s.message();
}

} // namespace
