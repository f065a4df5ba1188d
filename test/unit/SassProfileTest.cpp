//===- SassProfileTest.cpp - the SASS key-loop profile on planted code -----===//
//
// Hand-written nvdisasm text with known loops and branches: the profile must find
// the innermost mma loop, count one iteration along its cheapest and costliest
// mma-issuing paths, cut inner loops, not take out-of-line code that jumps back
// into the kernel for a loop, and skip ptxas's internal subroutines.
//
//===----------------------------------------------------------------------===//
#include "compiler/targets/cuda/SassProfile.h"

#include <gtest/gtest.h>

using namespace attnc::cuda;

namespace {

/// nvdisasm's function header for `name`.
std::string header(const std::string &name) {
  return "        .type           " + name + ",@function\n" + name + ":\n.text." + name + ":\n";
}

/// One instruction line at `address` (×16 bytes).
std::string at(int address, const std::string &text) {
  char buf[32];
  snprintf(buf, sizeof buf, "        /*%04x*/  ", address * 16);
  return buf + text + " ;\n";
}

/// The single kernel's profile of `text`.
SassKernelProfile profileOf(const std::string &text) {
  auto profiles = profileSass(text);
  EXPECT_TRUE(bool(profiles)) << profiles.status().message();
  EXPECT_EQ(profiles->size(), 1u);
  return profiles->front();
}

// A key loop with a masked branch (3 selects skipped on full tiles) and an
// if/else diamond: the cheapest path takes the else side (1 instruction), the
// costliest the then side (3 and an unconditional branch over the else side). The
// BSSY names the diamond's reconvergence label but does not jump there.
const std::string kLoop = header("k") + at(0, "S2R R0, SR_TID.X") + ".L_x_0:\n" +
                          at(1, "LDSM.16.M88.4 R4, [R0]") + at(2, "HMMA.16816.F32.BF16 R8, R4, R6, R8") +
                          at(3, "HMMA.16816.F32.BF16 R12, R4, R6, R12") +
                          at(3, "BSSY B0, `(.L_x_3)") + at(4, "@P0 BRA `(.L_x_1)") +
                          at(5, "FSEL R8, R8, -INF , P1") + at(6, "FSEL R9, R9, -INF , P1") +
                          at(7, "FSEL R10, R10, -INF , P1") + ".L_x_1:\n" + at(8, "@P2 BRA `(.L_x_2)") +
                          at(9, "FMUL R1, R1, R2") + at(10, "FMUL R1, R1, R2") +
                          at(11, "FMUL R1, R1, R2") + at(12, "BRA `(.L_x_3)") + ".L_x_2:\n" +
                          at(13, "FADD R1, R1, R2") + ".L_x_3:\n" + at(14, "NOP") +
                          at(15, "@!P3 BRA `(.L_x_0)") + at(16, "EXIT") + ".L_x_4:\n" +
                          at(17, "BRA `(.L_x_4)");

TEST(SassProfile, CheapestAndCostliestPathOfOneIteration) {
  SassKernelProfile p = profileOf(kLoop);
  EXPECT_EQ(p.kernel, "k");
  ASSERT_EQ(p.loops.size(), 1u);
  const SassLoop &l = p.loops[0];
  EXPECT_EQ(l.headAddress, 0x10);
  EXPECT_EQ(l.backAddress, 0xf0);
  EXPECT_FALSE(l.asyncCopies);
  EXPECT_EQ(l.innerLoops, 0);
  // LDSM, 2 HMMA, BSSY, BRA, BRA, FADD, back BRA (the NOP is not counted).
  EXPECT_EQ(l.cheapest.instructions, 8);
  // LDSM, 2 HMMA, BSSY, BRA, 3 FSEL, BRA, 3 FMUL, BRA, back BRA.
  EXPECT_EQ(l.costliest.instructions, 14);
  EXPECT_EQ(l.cheapest.mma, 2);
  EXPECT_EQ(l.cheapest.ldmatrix, 1);
  EXPECT_EQ(l.cheapest.opcodes.at("FADD"), 1);
  EXPECT_EQ(l.cheapest.opcodes.count("FSEL"), 0u);
  EXPECT_EQ(l.costliest.opcodes.at("FSEL"), 3);
  EXPECT_EQ(l.costliest.opcodes.count("FADD"), 0u);
  EXPECT_EQ(p.localMemoryInstructions, 0);
}

TEST(SassProfile, APathAroundTheMmaIsASkippedTileNotTheCheapestIteration) {
  std::string text = header("k") + ".L_x_0:\n" + at(0, "@P0 BRA `(.L_x_1)") +
                     at(1, "LDSM.16.M88.4 R4, [R0]") + at(2, "HMMA.16816.F32.BF16 R8, R4, R6, R8") +
                     at(3, "FFMA R1, R1, R2, R3") + ".L_x_1:\n" + at(4, "@!P3 BRA `(.L_x_0)") +
                     at(5, "EXIT");
  SassKernelProfile p = profileOf(text);
  ASSERT_EQ(p.loops.size(), 1u);
  EXPECT_EQ(p.loops[0].cheapest.mma, 1);
  EXPECT_EQ(p.loops[0].cheapest.instructions, 5);
}

TEST(SassProfile, InnerLoopsAreCountedOnceAndOuterMmaLoopsLeftOut) {
  // outer (mma) ⊃ middle (mma) ⊃ inner (a copy loop without mma).
  std::string text = header("k") + ".L_x_0:\n" + at(0, "HMMA.16816.F32.F16 R8, R4, R6, R8") +
                     ".L_x_1:\n" + at(1, "HMMA.16816.F32.F16 R8, R4, R6, R8") + ".L_x_2:\n" +
                     at(2, "LDG.E.U16 R3, desc[UR4][R4.64]") + at(3, "STS.U16 [R5], R3") +
                     at(4, "@!P0 BRA `(.L_x_2)") + at(5, "@!P1 BRA `(.L_x_1)") +
                     at(6, "@!P2 BRA `(.L_x_0)") + at(7, "EXIT");
  SassKernelProfile p = profileOf(text);
  ASSERT_EQ(p.loops.size(), 1u);
  EXPECT_EQ(p.loops[0].headAddress, 0x10);
  EXPECT_EQ(p.loops[0].innerLoops, 1);
  EXPECT_EQ(p.loops[0].cheapest.instructions, 5); // HMMA, LDG, STS, BRA, back BRA
}

TEST(SassProfile, OutOfLineCodeJumpingBackIsNotALoop) {
  // A slow path placed after EXIT returns into the straight-line code.
  std::string text = header("k") + at(0, "@P0 BRA `(.L_x_9)") + ".L_x_8:\n" +
                     at(1, "HMMA.16816.F32.F16 R8, R4, R6, R8") + at(2, "EXIT") + ".L_x_9:\n" +
                     at(3, "MUFU.RCP R1, R2") + at(4, "BRA `(.L_x_8)");
  EXPECT_TRUE(profileOf(text).loops.empty());
}

TEST(SassProfile, AsyncCopiesSpillsAndSubroutines) {
  std::string text = header("k") + at(0, "STL [R1], R2") + ".L_x_0:\n" +
                     at(1, "LDGSTS.E.BYPASS.128 [R3], desc[UR4][R4.64]") +
                     at(2, "HMMA.16816.F32.F16 R8, R4, R6, R8") + at(3, "LDL R2, [R1]") +
                     at(4, "@!P0 BRA `(.L_x_0)") + at(5, "EXIT") +
                     header("$__internal_0_$__cuda_sm20_rcp_rn_f32_slowpath") +
                     ".L_x_5:\n" + at(6, "HMMA.16816.F32.F16 R8, R4, R6, R8") +
                     at(7, "@P0 BRA `(.L_x_5)") + at(8, "RET.REL.NODEC R4 `(k)");
  SassKernelProfile p = profileOf(text);
  ASSERT_EQ(p.loops.size(), 1u);
  EXPECT_TRUE(p.loops[0].asyncCopies);
  EXPECT_EQ(p.localMemoryInstructions, 2);
}

TEST(SassProfile, TheReportGivesRatiosPerMma) {
  std::string report = formatSassProfile(profileOf(kLoop), "sm_90a");
  EXPECT_NE(report.find("k (sm_90a) SASS: key loop 1 of 1 (0x10-0xf0, plain loads): 2 mma, 1 "
                        "ldmatrix (0.50 per mma), 8-14 instructions per iteration (4.00-7.00 "
                        "per mma)"),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("cheapest path: BRA 3, HMMA 2, BSSY 1, FADD 1, LDSM 1\n"), std::string::npos) << report;
}

TEST(SassProfile, TextWithoutAFunctionIsAnError) {
  auto profiles = profileSass("not a disassembly\n");
  ASSERT_FALSE(bool(profiles));
  EXPECT_NE(profiles.status().message().find("no function"), std::string::npos);
}

} // namespace
