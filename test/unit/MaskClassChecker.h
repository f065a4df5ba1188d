//===- MaskClassChecker.h - the mask analysis checked by brute force -*- C++ -*-===//
//
// Shared by MaskClassDifferentialTest (in make check) and the libFuzzer target
// attnc-fuzz-mask-class: random mask expressions, their tile classes from the
// analysis's emitted code (JIT-compiled), and a pair-by-pair check with the
// expression interpreter. See MaskClassDifferentialTest.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_TEST_UNIT_MASKCLASSCHECKER_H
#define ATTNC_TEST_UNIT_MASKCLASSCHECKER_H

#include "mlir/IR/MLIRContext.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attnc::test {

class MaskClassChecker {
public:
  struct Totals {
    int64_t empty = 0, full = 0, partial = 0, pairs = 0, evalErrors = 0;
  };

  MaskClassChecker();

  /// `count` random mask_mod sources (bool expressions over b, h, q_idx, kv_idx,
  /// q_len, kv_len, the i64 scalar `s`, the i32 scalar `t` and the i64 buffer `tbl`).
  std::vector<std::string> randomMasks(uint64_t seed, size_t count);

  /// A mask built from fuzzer bytes (always a valid expression).
  std::string maskFromBytes(const uint8_t *data, size_t size);

  /// Classifies `tilesPerMask` random tiles for each mask and checks each class by
  /// brute force; "" when all agree, else a description of the first disagreement
  /// (mask, tile, scalars, the pair, the class). A mask the frontend rejects is a
  /// failure too.
  std::string check(const std::vector<std::string> &masks, uint64_t seed, int tilesPerMask,
                    Totals &totals);

private:
  mlir::MLIRContext ctx;
};

} // namespace attnc::test

#endif // ATTNC_TEST_UNIT_MASKCLASSCHECKER_H
