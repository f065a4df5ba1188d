//===- CpuIsa.h - which x86-64 level a CPU kernel runs at ----------*- C++ -*-===//
//
// A kernel library holds each CPU kernel compiled ahead of time for x86-64 with
// AVX-512 (the x86-64-v4 level: AVX-512 F, BW, CD, DQ, VL) and with AVX2 (the
// x86-64-v3 level: AVX2, FMA, BMI1/2, F16C, LZCNT, MOVBE), and a bf16 variant's
// kernel also for x86-64-v4 with AVX512-BF16, where Q·Kᵀ and P·V multiply bf16
// pairs (vdpbf16ps) instead of converting to f32. The loader runs the best level
// the processor has (a variant without an AVX512-BF16 kernel runs its AVX-512 one
// there); ATTNC_CPU_ISA=avx512bf16|avx512|avx2 forces the choice (a forced level the
// processor lacks is an error, not a crash on the first illegal instruction). The
// JIT compiles for the processor itself; there the level picks the operand form of
// bf16 variants (AVX512-BF16 pairs or the f32 conversion).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_CPU_CPUISA_H
#define ATTNC_RUNTIME_CPU_CPUISA_H

#include "runtime/Status.h"

namespace attnc {

enum class CpuIsa { Avx512Bf16, Avx512, Avx2 };

/// "avx512bf16", "avx512" or "avx2".
const char *cpuIsaName(CpuIsa isa);
/// The LLVM CPU name a kernel for `isa` is compiled for: "x86-64-v4", "x86-64-v3".
const char *cpuIsaLlvmCpu(CpuIsa isa);
/// The LLVM target features added to cpuIsaLlvmCpu's ("+avx512bf16" or "").
const char *cpuIsaLlvmFeatures(CpuIsa isa);
/// Whether this processor runs code compiled for `isa`.
bool cpuSupports(CpuIsa isa);
/// The level kernels run at here: ATTNC_CPU_ISA when set, else the best this
/// processor supports; an error when it supports none or ATTNC_CPU_ISA names a
/// level it lacks or is not a level.
Result<CpuIsa> chooseCpuIsa();

} // namespace attnc

#endif // ATTNC_RUNTIME_CPU_CPUISA_H
