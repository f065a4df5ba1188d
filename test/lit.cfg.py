# lit configuration for attnc: runs attn-opt / attnc on .mlir and .test files and
# checks their output with FileCheck.
import os
import lit.formats
from lit.llvm import llvm_config

config.name = "attnc"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["lit.cfg.py", "lit.site.cfg.py", "CMakeLists.txt", "Inputs", "unit", "fuzz"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.attnc_obj_root, "test")

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.attnc_tools_dir, append_path=True)
config.substitutions.append(("%examples", os.path.join(config.attnc_src_root, "examples")))

# A CUDA device (tests that need one, or that check the error without one).
def has_cuda_device():
    import ctypes
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
        count = ctypes.c_int(0)
        return cuda.cuInit(0) == 0 and cuda.cuDeviceGetCount(ctypes.byref(count)) == 0 \
            and count.value > 0
    except OSError:
        return False

if has_cuda_device():
    config.available_features.add("cuda-device")

# A kernel cache of the test run's own (tests that look into one set their own).
config.environment["ATTNC_CACHE_DIR"] = os.path.join(config.attnc_obj_root, "test", "kernel-cache")

# The stand-in CUDA driver of test/fake-cuda (host memory, records launches).
config.substitutions.append(("%fake_cuda_driver", os.path.join(config.attnc_obj_root, "lib", "libattnc-fake-cuda.so")))
config.substitutions.append(("%attnc_runtime_lib", os.path.join(config.attnc_obj_root, "lib", "libattnc_runtime.so")))

import shutil

# GPU code checks need the CUDA toolkit's assembler (optional).
if os.path.exists("/usr/local/cuda/bin/ptxas"):
    config.available_features.add("ptxas")

# NVIDIA's SASS disassembler, where attnc finds it (SassProfile.cpp's findNvdisasm).
nvdisasm_candidates = [os.environ.get("ATTNC_NVDISASM", ""), "/usr/local/cuda/bin/nvdisasm",
                       os.path.join(config.attnc_obj_root, "venv", "bin", "nvdisasm")]
if any(p and os.access(p, os.X_OK) for p in nvdisasm_candidates) or shutil.which("nvdisasm"):
    config.available_features.add("nvdisasm")

# The processor's x86-64 levels (runtime/cpu/CpuIsa.h): avx512 (x86-64-v4) and
# avx512bf16 (with AVX512-BF16, where bf16 kernels multiply bf16 pairs);
# %cpu_convert_isa is the best level whose bf16 kernels convert to f32.
cpu_flags = set()
try:
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("flags"):
                cpu_flags = set(line.split(":", 1)[1].split())
                break
except OSError:
    pass
has_avx512 = {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"} <= cpu_flags
if has_avx512:
    config.available_features.add("avx512")
    if "avx512_bf16" in cpu_flags:
        config.available_features.add("avx512bf16")
config.substitutions.append(("%cpu_convert_isa", "avx512" if has_avx512 else "avx2"))
# The strict tolerance of bf16 CPU runs: 1e-3 where bf16 is converted to f32, 5e-3
# where the kernel multiplies bf16 pairs with P rounded to bf16 (errors ~2e-3).
config.substitutions.append(("%bf16_tolerance",
                             "5e-3" if "avx512bf16" in config.available_features else "1e-3"))

# QEMU's user-mode emulator (runs attnc-rt on an emulated processor without AVX-512).
if shutil.which("qemu-x86_64"):
    config.available_features.add("qemu-x86_64")

# The MLIR runner utilities (printMemrefF32, ...) for attn-emu-runner programs.
llvm_lib_dir = os.path.join(os.path.dirname(config.llvm_tools_dir), "lib")
config.substitutions.append(("%mlir_runner_utils", os.path.join(llvm_lib_dir, "libmlir_runner_utils.so")))
config.substitutions.append(("%mlir_c_runner_utils", os.path.join(llvm_lib_dir, "libmlir_c_runner_utils.so")))

# Python that loads libattnc_runtime.so through ctypes. Under ASan it preloads the
# ASan runtime, and leak detection is off in that process only: CPython does not free
# its own objects at exit, and those reports are not attnc's (the C test of the same
# API, attnc-capi-test, runs with leak detection on).
python_loading_runtime = config.python_executable
if "address" in config.attnc_sanitize:
    asan_options = os.environ.get("ASAN_OPTIONS", "")
    python_loading_runtime = "env LD_PRELOAD=%s ASAN_OPTIONS=%s %s" % (
        config.asan_runtime, (asan_options + ":" if asan_options else "") + "detect_leaks=0",
        config.python_executable)
# Before %python, which would otherwise match its first letters.
config.substitutions.insert(0, ("%python_loading_runtime", python_loading_runtime))
if config.attnc_sanitize:
    config.available_features.add("sanitizer")

tools = ["attn-opt", "attnc", "attnc-rt", "attnc-capi-test", "attnc-capi-backward-test",
         "attn-emu-runner"]
llvm_config.add_tool_substitutions(tools, [config.attnc_tools_dir])
