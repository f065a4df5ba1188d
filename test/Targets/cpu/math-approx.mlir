// RUN: attn-opt %s --attn-cpu-math-approx | FileCheck %s --implicit-check-not=math.exp --implicit-check-not=math.log --implicit-check-not=math.tanh

// exp, log and tanh on vectors become polynomial approximations (no libm calls):
// no math.exp, math.log or math.tanh is left anywhere (--implicit-check-not).
// CHECK-LABEL: func.func @approx
// CHECK: arith.mulf
// CHECK: return
func.func @approx(%x: vector<16xf32>) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>) {
  %e = math.exp %x : vector<16xf32>
  %l = math.log %x : vector<16xf32>
  %t = math.tanh %x : vector<16xf32>
  return %e, %l, %t : vector<16xf32>, vector<16xf32>, vector<16xf32>
}
