//===- CpuIsa.h - which x86-64 level a library's CPU kernel runs at -*- C++ -*-===//
//
// A kernel library holds each CPU kernel compiled twice ahead of time: for x86-64
// with AVX-512 (the x86-64-v4 level: AVX-512 F, BW, CD, DQ, VL) and with AVX2 (the
// x86-64-v3 level: AVX2, FMA, BMI1/2, F16C, LZCNT, MOVBE). The loader runs the
// AVX-512 kernel where the processor has it and the AVX2 kernel otherwise;
// ATTNC_CPU_ISA=avx512|avx2 forces the choice (a forced level the processor lacks
// is an error, not a crash on the first illegal instruction).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_CPU_CPUISA_H
#define ATTNC_RUNTIME_CPU_CPUISA_H

#include "runtime/Status.h"

namespace attnc {

enum class CpuIsa { Avx512, Avx2 };

/// "avx512" or "avx2".
const char *cpuIsaName(CpuIsa isa);
/// The LLVM CPU name a kernel for `isa` is compiled for: "x86-64-v4", "x86-64-v3".
const char *cpuIsaLlvmCpu(CpuIsa isa);
/// Whether this processor runs code compiled for `isa`.
bool cpuSupports(CpuIsa isa);
/// The level kernels run at here: ATTNC_CPU_ISA when set, else the best this
/// processor supports; an error when it supports neither or ATTNC_CPU_ISA names a
/// level it lacks or is not a level.
Result<CpuIsa> chooseCpuIsa();

} // namespace attnc

#endif // ATTNC_RUNTIME_CPU_CPUISA_H
