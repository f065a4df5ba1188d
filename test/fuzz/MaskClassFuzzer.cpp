//===- MaskClassFuzzer.cpp - libFuzzer target for the mask analysis --------===//
//
// The differential check of MaskClassDifferentialTest, driven by the fuzzer: the
// input bytes choose a mask expression (MaskClassChecker::maskFromBytes; every input
// gives a valid one), the analysis classifies 64 random tiles (seeded by the input)
// and each class is checked pair by pair with the interpreter. A disagreement aborts
// with the mask, the tile and the pair. MaskIntervals.cpp is compiled into this
// target with coverage instrumentation, so the mutator steers toward its branches.
//
//===----------------------------------------------------------------------===//
#include "test/unit/MaskClassChecker.h"

#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static attnc::test::MaskClassChecker *checker = new attnc::test::MaskClassChecker();
  uint64_t seed = 1469598103934665603ULL;
  for (size_t i = 0; i < size; ++i)
    seed = (seed ^ data[i]) * 1099511628211ULL;
  attnc::test::MaskClassChecker::Totals totals;
  std::string failure = checker->check({checker->maskFromBytes(data, size)}, seed, 64, totals);
  if (!failure.empty()) {
    std::fprintf(stderr, "mask analysis disagrees with brute force: %s\n", failure.c_str());
    std::abort();
  }
  return 0;
}
