//===- CompareTest.cpp - run --random's check against the reference ------===//
//
// The check of `attnc run --random` / `attnc-rt run --random` (tools/common):
// NaN and infinite values must match the reference's exactly in position and
// value, each mismatch counted; the relative error is over the finite pairs, so it
// is never NaN itself.
//
//===----------------------------------------------------------------------===//
#include "tools/common/Inputs.h"
#include "tools/common/RunCommands.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace attnc;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

/// A call's out [1, 1, n, 1] and lse [1, 1, n] holding `out` and `lse`.
CallTensors tensors(const std::vector<double> &out, const std::vector<double> &lse) {
  CallTensors t;
  int64_t n = int64_t(out.size());
  t.out = Tensor::create(DType::F32, {1, 1, n, 1}, "out").take();
  t.lse = Tensor::create(DType::F32, {1, 1, n}, "lse").take();
  for (int64_t i = 0; i < n; ++i) {
    int64_t o[4] = {0, 0, i, 0}, l[3] = {0, 0, i};
    t.out.view().set(o, out[size_t(i)]);
    t.lse.view().set(l, lse[size_t(i)]);
  }
  return t;
}

TEST(Compare, NonFiniteValuesMustMatchExactly) {
  CallTensors ref = tensors({1, kNaN, 0, 2}, {1, kNaN, -kInf, kInf});
  Errors same = compare(tensors({1, kNaN, 0, 2}, {1, kNaN, -kInf, kInf}), ref);
  EXPECT_EQ(same.badValues, 0);
  EXPECT_EQ(same.outRel, 0);
  EXPECT_EQ(same.lseRel, 0);
  // NaN where the reference is finite, and finite where it is NaN.
  EXPECT_EQ(compare(tensors({kNaN, 1, 0, 2}, {1, kNaN, -kInf, kInf}), ref).badValues, 2);
  // -inf where the reference has +inf, and 0 where it has -inf.
  EXPECT_EQ(compare(tensors({1, kNaN, 0, 2}, {1, kNaN, 0, -kInf}), ref).badValues, 2);
  // +inf in out where the reference is finite.
  EXPECT_EQ(compare(tensors({1, kNaN, kInf, 2}, {1, kNaN, -kInf, kInf}), ref).badValues, 1);
}

TEST(Compare, RelativeErrorIsOverFinitePairsAndNeverNaN) {
  CallTensors ref = tensors({3, kNaN, 4}, {1, -kInf, 1});
  Errors e = compare(tensors({3, kNaN, 4.5}, {1, -kInf, 1}), ref);
  EXPECT_EQ(e.badValues, 0);
  EXPECT_NEAR(e.outRel, 0.5 / 5.0, 1e-12); // ‖(0, 0.5)‖ / ‖(3, 4)‖
  EXPECT_DOUBLE_EQ(e.outMaxAbs, 0.5);
  // A reference with no finite value: the absolute error, not NaN.
  Errors allNaN = compare(tensors({kNaN}, {kNaN}), tensors({kNaN}, {kNaN}));
  EXPECT_FALSE(std::isnan(allNaN.outRel));
  EXPECT_FALSE(std::isnan(allNaN.lseRel));
}

} // namespace
