//===- PackedRowsTest.cpp - the CPU kernels' bf16 pair panels ------------------===//
//
// The packers of kernels compiled with operands=bf16 (runtime/cpu/PackedRows.h)
// against the layouts' definitions, element by element: rows of pairs, key tiles of
// pairs, value rows interleaved in pairs. Sizes are odd (head dim 33, 37 rows,
// tiles of 16), the tensors strided (heads outermost), the panels poisoned first,
// so that a misplaced element or a missing zero of the padding fails.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/PackedRows.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace attnc {
namespace {

constexpr int64_t kB = 2, kH = 3, kRows = 37, kWidth = 33;
constexpr uint16_t kPoison = 0x7fc1; // a NaN no packer writes

/// A [B][H][rows][width] tensor stored as [H][B][rows][width] (strided), of
/// random values, in `dtype`.
struct StridedTensor {
  std::vector<float> f32;
  std::vector<uint16_t> bits;
  TensorView view;
  explicit StridedTensor(DType dtype) {
    std::mt19937 rng(7);
    std::normal_distribution<float> normal;
    size_t n = size_t(kB * kH * kRows * kWidth);
    view.dtype = dtype;
    view.shape = {kB, kH, kRows, kWidth};
    view.strides = {kRows * kWidth, kB * kRows * kWidth, kWidth, 1};
    if (dtype == DType::F32) {
      for (size_t i = 0; i < n; ++i)
        f32.push_back(normal(rng));
      view.data = f32.data();
    } else {
      for (size_t i = 0; i < n; ++i)
        bits.push_back(floatToBf16(normal(rng)));
      view.data = bits.data();
    }
  }
  /// Element (b, h, i, d) rounded to bf16 (what every pair panel holds).
  uint16_t at(int64_t b, int64_t h, int64_t i, int64_t d) const {
    int64_t index[4] = {b, h, i, d};
    return floatToBf16(float(view.get(index)));
  }
};

class PairPanels : public ::testing::TestWithParam<DType> {};

TEST_P(PairPanels, RowsOfPairs) {
  StridedTensor t(GetParam());
  const int64_t rowsPad = 48, stride = 34;
  std::vector<uint16_t> panel(size_t(kB * kH * rowsPad * stride), kPoison);
  ThreadPool pool(2);
  packRowsBf16(t.view, rowsPad, stride, panel.data(), pool);
  for (int64_t bh = 0; bh < kB * kH; ++bh)
    for (int64_t i = 0; i < rowsPad; ++i)
      for (int64_t d = 0; d < stride; ++d) {
        uint16_t want = i < kRows && d < kWidth ? t.at(bh / kH, bh % kH, i, d) : 0;
        ASSERT_EQ(panel[size_t((bh * rowsPad + i) * stride + d)], want)
            << "bh " << bh << " row " << i << " d " << d;
      }
}

TEST_P(PairPanels, KeyTilesOfPairs) {
  StridedTensor t(GetParam());
  const int64_t bk = 16, numTiles = 3, pairs = (kWidth + 1) / 2;
  std::vector<uint16_t> panel(size_t(kB * kH * numTiles * pairs * bk * 2), kPoison);
  ThreadPool pool(2);
  packPairTiles(t.view, numTiles, bk, panel.data(), pool);
  for (int64_t bh = 0; bh < kB * kH; ++bh)
    for (int64_t j = 0; j < numTiles * bk; ++j)
      for (int64_t d = 0; d < pairs * 2; ++d) {
        uint16_t want = j < kRows && d < kWidth ? t.at(bh / kH, bh % kH, j, d) : 0;
        size_t at = size_t(((bh * numTiles + j / bk) * pairs + d / 2) * bk * 2 +
                           (j % bk) * 2 + d % 2);
        ASSERT_EQ(panel[at], want) << "bh " << bh << " key " << j << " d " << d;
      }
}

TEST_P(PairPanels, ValueRowsInterleavedInPairs) {
  StridedTensor t(GetParam());
  const int64_t rowsPad = 48, stride = 48;
  std::vector<uint16_t> panel(size_t(kB * kH * rowsPad * stride), kPoison);
  ThreadPool pool(2);
  packPairRows(t.view, rowsPad, stride, panel.data(), pool);
  for (int64_t bh = 0; bh < kB * kH; ++bh)
    for (int64_t i = 0; i < rowsPad; ++i)
      for (int64_t c = 0; c < stride; ++c) {
        uint16_t want = i < kRows && c < kWidth ? t.at(bh / kH, bh % kH, i, c) : 0;
        size_t at = size_t(((bh * rowsPad / 2 + i / 2) * stride + c) * 2 + i % 2);
        ASSERT_EQ(panel[at], want) << "bh " << bh << " row " << i << " col " << c;
      }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, PairPanels, ::testing::Values(DType::BF16, DType::F32),
                         [](const ::testing::TestParamInfo<DType> &info) {
                           return info.param == DType::BF16 ? "bf16" : "f32";
                         });

} // namespace
} // namespace attnc
