//===- CpuIsa.cpp - which x86-64 level a library's CPU kernel runs at ------===//
#include "runtime/cpu/CpuIsa.h"

#include <cstdlib>
#include <string>

namespace attnc {

const char *cpuIsaName(CpuIsa isa) { return isa == CpuIsa::Avx512 ? "avx512" : "avx2"; }

const char *cpuIsaLlvmCpu(CpuIsa isa) {
  return isa == CpuIsa::Avx512 ? "x86-64-v4" : "x86-64-v3";
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
  return v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl");
#else
  (void)isa;
  return false;
#endif
}

Result<CpuIsa> chooseCpuIsa() {
  if (const char *forced = std::getenv("ATTNC_CPU_ISA"); forced && *forced) {
    std::string name = forced;
    if (name != "avx512" && name != "avx2")
      return Status::error("ATTNC_CPU_ISA='" + name + "' is not a CPU level (expected avx512 "
                           "or avx2)");
    CpuIsa isa = name == "avx512" ? CpuIsa::Avx512 : CpuIsa::Avx2;
    if (!cpuSupports(isa))
      return Status::error("ATTNC_CPU_ISA=" + name + ": this processor does not support " +
                           (isa == CpuIsa::Avx512 ? "AVX-512 (x86-64-v4)" : "AVX2 (x86-64-v3)"));
    return isa;
  }
  if (cpuSupports(CpuIsa::Avx512))
    return CpuIsa::Avx512;
  if (cpuSupports(CpuIsa::Avx2))
    return CpuIsa::Avx2;
  return Status::error("this processor has neither AVX-512 nor AVX2 (x86-64-v4 or v3): a "
                       "kernel library's CPU kernels cannot run on it");
}

} // namespace attnc
