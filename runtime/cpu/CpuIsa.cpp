//===- CpuIsa.cpp - which x86-64 level a CPU kernel runs at ----------------===//
#include "runtime/cpu/CpuIsa.h"

#include <cstdlib>
#include <string>

namespace attnc {

const char *cpuIsaName(CpuIsa isa) {
  switch (isa) {
  case CpuIsa::Avx512Bf16:
    return "avx512bf16";
  case CpuIsa::Avx512:
    return "avx512";
  case CpuIsa::Avx2:
    return "avx2";
  }
  return "?";
}

const char *cpuIsaLlvmCpu(CpuIsa isa) {
  return isa == CpuIsa::Avx2 ? "x86-64-v3" : "x86-64-v4";
}

const char *cpuIsaLlvmFeatures(CpuIsa isa) {
  return isa == CpuIsa::Avx512Bf16 ? "+avx512bf16" : "";
}

bool cpuSupports(CpuIsa isa) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  bool v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
            __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") &&
            __builtin_cpu_supports("f16c") && __builtin_cpu_supports("lzcnt") &&
            __builtin_cpu_supports("movbe");
  if (isa == CpuIsa::Avx2)
    return v3;
  bool v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
            __builtin_cpu_supports("avx512vl");
  if (isa == CpuIsa::Avx512)
    return v4;
  return v4 && __builtin_cpu_supports("avx512bf16");
#else
  (void)isa;
  return false;
#endif
}

/// What a level needs, for errors.
static const char *cpuIsaDescription(CpuIsa isa) {
  switch (isa) {
  case CpuIsa::Avx512Bf16:
    return "AVX512-BF16 (x86-64-v4 with avx512bf16)";
  case CpuIsa::Avx512:
    return "AVX-512 (x86-64-v4)";
  case CpuIsa::Avx2:
    return "AVX2 (x86-64-v3)";
  }
  return "?";
}

Result<CpuIsa> chooseCpuIsa() {
  const CpuIsa levels[] = {CpuIsa::Avx512Bf16, CpuIsa::Avx512, CpuIsa::Avx2};
  if (const char *forced = std::getenv("ATTNC_CPU_ISA"); forced && *forced) {
    std::string name = forced;
    for (CpuIsa isa : levels)
      if (name == cpuIsaName(isa)) {
        if (!cpuSupports(isa))
          return Status::error("ATTNC_CPU_ISA=" + name + ": this processor does not support " +
                               cpuIsaDescription(isa));
        return isa;
      }
    return Status::error("ATTNC_CPU_ISA='" + name + "' is not a CPU level (expected "
                         "avx512bf16, avx512 or avx2)");
  }
  for (CpuIsa isa : levels)
    if (cpuSupports(isa))
      return isa;
  return Status::error("this processor has neither AVX-512 nor AVX2 (x86-64-v4 or v3): a "
                       "kernel library's CPU kernels cannot run on it");
}

} // namespace attnc
