//===- MaskClassDifferentialTest.cpp - the mask analysis against brute force ===//
//
// Block skipping is only as good as the mask analysis (MaskIntervals.h): a tile it
// calls empty is never computed, one it calls full is never masked. This test makes
// the analysis earn that trust. It generates random mask_mod expressions (every
// integer and boolean operator of the language, constants at and near the int64
// limits, i32 and i64 run-time scalars, buffer reads), imports each through the
// frontend and attn-simplify as the kernels do, compiles the analysis's emitted
// code for all of them into one JIT module, and asks it to classify random tiles
// (random positions, lengths and scalar values). Every tile called empty must have
// no kept (q, kv) pair, every tile called full no dropped one, by evaluating each
// pair with the language's interpreter (ExprEval.h). A pair whose evaluation fails
// (an integer division by zero) constrains nothing.
//
// ATTNC_MASK_DIFF_EXPRESSIONS and ATTNC_MASK_DIFF_SEED scale and vary the run; the
// fuzzer (test/fuzz/MaskClassFuzzer.cpp) shares the generator and the check.
//
//===----------------------------------------------------------------------===//
#include "test/unit/MaskClassChecker.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace {

int64_t envOr(const char *name, int64_t fallback) {
  const char *v = std::getenv(name);
  return v && *v ? std::atoll(v) : fallback;
}

TEST(MaskClassDifferential, RandomMasksOnRandomTiles) {
  int64_t expressions = envOr("ATTNC_MASK_DIFF_EXPRESSIONS", 2000);
  uint64_t seed = uint64_t(envOr("ATTNC_MASK_DIFF_SEED", 20261204));
  attnc::test::MaskClassChecker checker;
  attnc::test::MaskClassChecker::Totals totals;
  for (int64_t done = 0; done < expressions; done += 250) {
    int64_t batch = std::min<int64_t>(250, expressions - done);
    std::vector<std::string> masks = checker.randomMasks(seed + uint64_t(done), size_t(batch));
    std::string failure = checker.check(masks, seed + uint64_t(done), /*tilesPerMask=*/120, totals);
    ASSERT_EQ(failure, "") << "seed " << seed << ", batch at " << done;
  }
  // The run must have exercised every outcome, or it proves little.
  EXPECT_GT(totals.empty, 1000);
  EXPECT_GT(totals.full, 1000);
  EXPECT_GT(totals.partial, 1000);
  std::printf("mask analysis: %lld expressions, %lld tiles (%lld empty, %lld full, %lld "
              "partial), %lld pairs evaluated, %lld failed evaluations\n",
              (long long)expressions, (long long)(totals.empty + totals.full + totals.partial),
              (long long)totals.empty, (long long)totals.full, (long long)totals.partial,
              (long long)totals.pairs, (long long)totals.evalErrors);
}

/// The defects an outside review found, as fixed cases.
TEST(MaskClassDifferential, ReviewedOverflows) {
  attnc::test::MaskClassChecker checker;
  attnc::test::MaskClassChecker::Totals totals;
  std::vector<std::string> masks = {
      "q_idx + s >= kv_idx",                          // s = INT64_MAX wraps
      "(q_idx + 1) * 4611686018427387904 >= 0",       // the product wraps
      "where(q_idx > 3, -1, 0) < kv_idx - 100",       // simplifies to extsi of an i1
      "where(q_idx > 3, 1, 0) > kv_idx",              // extui of an i1
      "(q_idx > kv_idx) == (kv_idx > 5)",             // == of two bools
      "kv_idx - s <= q_idx",                          // the difference wraps
      "-q_idx * s < kv_idx",
  };
  std::string failure = checker.check(masks, 7, 400, totals);
  EXPECT_EQ(failure, "");
}

} // namespace
