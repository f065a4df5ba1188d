//===- attnc.cpp - the attnc command line ----------------------------------===//
//
//   attnc check   SPEC
//   attnc compile SPEC [--target cpu|cuda|cuda-emu] [--emit attn|flash|gpu|llvm|ptx|cubin]
//                      [--chip sm_80|sm_90a] [--report] [-o FILE]
//   attnc run     SPEC --inputs IN.safetensors --output OUT.safetensors
//   attnc run     SPEC --random B,Q_LEN,KV_LEN [--seed N] [--scalar NAME=V]...
//   attnc bench   SPEC --shape B,Q_LEN,KV_LEN [--reps N]
// (SPEC.md §4). Exit status: 0 on success, 1 on a user error, reported as
// "FILE:LINE:COL: error: ..." or "error: ..." on stderr.
//
//===----------------------------------------------------------------------===//
#include "compiler/Compiler.h"
#include "compiler/frontend/ExprEval.h"
#include "compiler/targets/cpu/CpuPipeline.h"
#include "compiler/targets/cuda/CudaPipeline.h"
#include "compiler/targets/cuda/PtxPipeline.h"
#include "runtime/cuda/CudaDriver.h"
#include "runtime/cuda/DeviceMemory.h"
#include "tools/attnc/Inputs.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

#include <algorithm>
#include <chrono>
#include <cmath>

using namespace llvm;
using namespace attnc;

namespace {

cl::OptionCategory attncCategory("attnc options");

cl::SubCommand checkCmd("check", "Parse and verify a spec; print diagnostics");
cl::SubCommand compileCmd("compile", "Compile a spec and print the requested IR");
cl::SubCommand runCmd("run", "Run a variant on tensors from a file or on random inputs");
cl::SubCommand benchCmd("bench", "Time a variant; print ms and GFLOP/s");

cl::opt<std::string> specPath(cl::Positional, cl::desc("<spec.json>"), cl::Required,
                              cl::sub(checkCmd), cl::sub(compileCmd), cl::sub(runCmd),
                              cl::sub(benchCmd), cl::cat(attncCategory));

enum class EmitKind { Attn, Flash, Gpu, LLVM, Ptx, Cubin };
cl::opt<EmitKind> emitKind(
    "emit", cl::desc("What to emit"), cl::init(EmitKind::Attn),
    cl::values(clEnumValN(EmitKind::Attn, "attn", "the attn dialect after import"),
               clEnumValN(EmitKind::Flash, "flash", "the flash form (after tiling)"),
               clEnumValN(EmitKind::Gpu, "gpu",
                          "the GPU kernel: host code with a gpu.launch (cuda, cuda-emu)"),
               clEnumValN(EmitKind::LLVM, "llvm", "LLVM IR of the CPU kernel (-O3)"),
               clEnumValN(EmitKind::Ptx, "ptx", "PTX of the GPU kernel for --chip"),
               clEnumValN(EmitKind::Cubin, "cubin",
                          "the GPU kernel assembled by ptxas for --chip (needs -o)")),
    cl::sub(compileCmd), cl::cat(attncCategory));

cl::opt<std::string> outputPath("o", cl::desc("Output file (default: stdout)"),
                                cl::value_desc("file"), cl::init("-"),
                                cl::sub(compileCmd), cl::cat(attncCategory));

cl::opt<std::string> chip("chip", cl::desc("GPU for --emit ptx|cubin and --report: sm_80 "
                                          "(default) or sm_90a"),
                          cl::init("sm_80"), cl::sub(compileCmd), cl::cat(attncCategory));
cl::opt<bool> report("report",
                     cl::desc("Print the GPU kernel's registers, spills, stack and shared "
                              "memory (ptxas -v) and its occupancy for --chip"),
                     cl::init(false), cl::sub(compileCmd), cl::cat(attncCategory));

cl::opt<std::string> target("target", cl::desc("cpu (default), cuda or cuda-emu"),
                            cl::init("cpu"), cl::sub(compileCmd), cl::sub(runCmd),
                            cl::sub(benchCmd), cl::cat(attncCategory));

cl::opt<int64_t> blockQ("block-q", cl::desc("Query rows per tile, a multiple of 4 (default: 64 on the CPU, the heuristic on GPU targets)"),
                        cl::init(64), cl::sub(compileCmd), cl::sub(runCmd),
                        cl::sub(benchCmd), cl::cat(attncCategory));
cl::opt<int64_t> blockKV("block-kv", cl::desc("Key rows per tile, a multiple of 16 (default: 64 on the CPU, the heuristic on GPU targets)"),
                         cl::init(64), cl::sub(compileCmd), cl::sub(runCmd),
                         cl::sub(benchCmd), cl::cat(attncCategory));

cl::opt<int64_t> warps("warps",
                       cl::desc("GPU targets: warps per block of the tensor-core kernel, 1 "
                                "to 8 (block-q = 16 x warps; default: the heuristic)"),
                       cl::init(0), cl::sub(compileCmd), cl::sub(runCmd), cl::sub(benchCmd),
                       cl::cat(attncCategory));
cl::opt<int64_t> stages("stages",
                        cl::desc("GPU targets: K/V tiles in flight in the tensor-core "
                                 "kernel's cp.async pipeline, 1 to 4 (default: the "
                                 "heuristic)"),
                        cl::init(0), cl::sub(compileCmd), cl::sub(runCmd), cl::sub(benchCmd),
                        cl::cat(attncCategory));

cl::opt<std::string> inputsPath("inputs", cl::desc("Input tensors (safetensors)"),
                                cl::value_desc("file"), cl::sub(runCmd),
                                cl::cat(attncCategory));
cl::opt<std::string> outputTensors("output", cl::desc("Output tensors (safetensors)"),
                                   cl::value_desc("file"), cl::sub(runCmd),
                                   cl::cat(attncCategory));
cl::opt<std::string> randomShape("random",
                                 cl::desc("Run on random inputs of shape B,Q_LEN,KV_LEN "
                                          "and check against the float64 reference"),
                                 cl::value_desc("B,Q_LEN,KV_LEN"), cl::sub(runCmd),
                                 cl::cat(attncCategory));
cl::opt<uint64_t> seed("seed", cl::desc("Seed of the random inputs"), cl::init(0),
                       cl::sub(runCmd), cl::sub(benchCmd), cl::cat(attncCategory));
cl::list<std::string> scalarValues("scalar", cl::desc("A run-time scalar for random inputs"),
                                   cl::value_desc("NAME=VALUE"), cl::sub(runCmd),
                                   cl::sub(benchCmd), cl::cat(attncCategory));
cl::opt<bool> checkResults("check",
                           cl::desc("With --random: compare with the float64 reference "
                                    "(default on; --check=false only times the kernel)"),
                           cl::init(true), cl::sub(runCmd), cl::cat(attncCategory));
cl::opt<double> tolerance("tolerance",
                          cl::desc("Relative error allowed by --random (default 1e-5 "
                                   "for f32, 1e-2 for f16/bf16)"),
                          cl::init(0), cl::sub(runCmd), cl::cat(attncCategory));

cl::opt<std::string> benchShape("shape", cl::desc("Shape B,Q_LEN,KV_LEN"),
                                cl::value_desc("B,Q_LEN,KV_LEN"), cl::sub(benchCmd),
                                cl::cat(attncCategory));
cl::opt<int> reps("reps", cl::desc("Timed repetitions (median reported)"), cl::init(10),
                  cl::sub(benchCmd), cl::cat(attncCategory));
cl::opt<bool> withReference("reference",
                            cl::desc("Also time the eager float64 reference"),
                            cl::init(false), cl::sub(benchCmd), cl::cat(attncCategory));

int fail(const Twine &message) {
  WithColor::error(errs(), "") << message << "\n";
  return 1;
}

Status checkTarget() {
  if (target == "cpu" || target == "cuda-emu")
    return Status::ok();
  if (target == "cuda" && compileCmd) // compiling needs no GPU
    return Status::ok();
  if (target == "cuda")
    return cuda::firstDevice().status();
  return Status::error("unknown target '" + target + "' (expected cpu, cuda or cuda-emu)");
}

/// The kernel to compile: the CPU's, or the GPU's (on a CUDA device or cuda-emu).
Target compileTarget() {
  return target == "cpu" ? Target::Cpu : target == "cuda" ? Target::Cuda : Target::CudaEmu;
}

/// Tile sizes: the flags, or each target's defaults (the GPU picks block-kv from
/// the head dims unless --block-kv is given).
cpu::CpuOptions cpuOptions() {
  cpu::CpuOptions options;
  bool gpu = compileTarget() != Target::Cpu;
  options.blockQ = gpu && blockQ.getNumOccurrences() == 0 ? 16 * warps : blockQ;
  options.blockKV = gpu && blockKV.getNumOccurrences() == 0 ? 0 : blockKV;
  options.stages = stages;
  return options;
}

Status checkGpuOptions() {
  if ((warps.getNumOccurrences() || stages.getNumOccurrences()) &&
      compileTarget() == Target::Cpu)
    return Status::error("--warps and --stages configure the GPU kernel: use them with "
                         "--target cuda or cuda-emu");
  if (warps.getNumOccurrences() && (warps < 1 || warps > 8))
    return Status::error("--warps must be 1 to 8, got " + std::to_string(warps));
  if (stages.getNumOccurrences() && (stages < 1 || stages > 4))
    return Status::error("--stages must be 1 to 4, got " + std::to_string(stages));
  if (warps.getNumOccurrences() && blockQ.getNumOccurrences() && blockQ != 16 * warps)
    return Status::error("--warps " + std::to_string(warps) + " means --block-q " +
                         std::to_string(16 * warps) + ", not " + std::to_string(blockQ));
  return Status::ok();
}

/// Writes -o (stdout by default) with `write`, which returns false after reporting
/// a failure; the exit status.
int writeOutput(function_ref<bool(raw_ostream &)> write) {
  std::string errorMessage;
  std::unique_ptr<ToolOutputFile> output = mlir::openOutputFile(outputPath, &errorMessage);
  if (!output)
    return fail(errorMessage);
  if (!write(output->os()))
    return 1;
  output->keep();
  return 0;
}

int runCompile(Compiler &compiler) {
  frontend::Spec spec; // its head dims pick the GPU's tile sizes
  mlir::OwningOpRef<mlir::ModuleOp> module = compiler.import(specPath, &spec);
  if (!module)
    return 1;
  bool ptx = emitKind == EmitKind::Ptx || emitKind == EmitKind::Cubin || report;
  bool gpu = emitKind == EmitKind::Gpu || compileTarget() != Target::Cpu || ptx;
  if (emitKind == EmitKind::LLVM && gpu)
    return fail("--emit llvm prints the CPU kernel: use it with --target cpu");
  if (ptx && !cuda::isSupportedChip(chip))
    return fail("unsupported --chip '" + chip + "' (expected sm_80 or sm_90a)");
  if (emitKind == EmitKind::Cubin && outputPath == "-")
    return fail("--emit cubin writes a binary: give the file with -o");
  if (report && emitKind == EmitKind::Attn)
    emitKind = EmitKind::Ptx; // the kernel --report is about (printed only with -o)
  cuda::GpuTileOptions tiles;
  if (emitKind != EmitKind::Attn && gpu) {
    tiles = cuda::chooseGpuTiles(gpuTiles(cpuOptions()), gpuTraits(spec));
    if (failed(cpu::runPipeline(*module, [&](mlir::OpPassManager &pm) {
          if (emitKind == EmitKind::Flash)
            cpu::buildFlashPipeline(pm, {tiles.blockQ, tiles.blockKV});
          else
            cuda::buildGpuKernelPipeline(pm, tiles, gpuTraits(spec));
        })))
      return 1;
  } else if (emitKind != EmitKind::Attn) {
    if (failed(cpu::runPipeline(*module, [](mlir::OpPassManager &pm) {
          cpu::buildFlashPipeline(pm, cpuOptions());
        })))
      return 1;
  }
  if (emitKind == EmitKind::LLVM &&
      failed(cpu::runPipeline(*module, [](mlir::OpPassManager &pm) {
        cpu::buildCpuToLLVMPipeline(pm);
      })))
    return 1;
  if (ptx) {
    Result<cuda::PtxKernel> code = cuda::lowerToPtx(*module, chip, gpuArtifactCache());
    if (!code)
      return fail(code.status().message());
    if (report) {
      Result<std::string> usage = cuda::ptxasReport(code->ptx, chip, code->threadsPerBlock);
      if (!usage)
        return fail(usage.status().message());
      bool tc = code->tensorCores;
      outs() << spec.name << "_gpu_kernel: "
             << (tc ? "tensor cores, block-q " + std::to_string(tiles.blockQ) + " (" +
                          std::to_string(tiles.blockQ / 16) + " warps), block-kv " +
                          std::to_string(tiles.blockKV) + ", " +
                          std::to_string(tiles.stages) + " stage" +
                          (tiles.stages > 1 ? "s" : "")
                    : "SIMT, block-q " + std::to_string(tiles.blockQ) + " (threads), block-kv " +
                          std::to_string(tiles.blockKV))
             << "\n"
             << usage.take();
      if (outputPath == "-" && emitKind == EmitKind::Ptx && !emitKind.getNumOccurrences())
        return 0;
    }
    if (emitKind == EmitKind::Cubin) {
      if (cuda::findPtxas().empty())
        return fail("ptxas not found (install the CUDA toolkit for cubins and --report)");
      Result<std::string> cubin = cachedCubinAssembler()(code->ptx, chip,
                                                         code->threadsPerBlock);
      if (!cubin)
        return fail(cubin.status().message());
      return writeOutput([&](raw_ostream &os) {
        os << *cubin;
        return true;
      });
    }
    return writeOutput([&](raw_ostream &os) {
      os << code->ptx;
      return true;
    });
  }
  return writeOutput([&](raw_ostream &os) {
    if (emitKind == EmitKind::LLVM)
      return succeeded(cpu::printLLVMIR(*module, os));
    module->print(os);
    return true;
  });
}

struct Errors {
  double outMaxAbs = 0, outRel = 0, lseMaxAbs = 0, lseRel = 0;
  int64_t badValues = 0; ///< NaN, or -inf where the reference is finite (or back)
};

Errors compare(const CallTensors &got, const CallTensors &want) {
  Errors e;
  TensorView g = got.out.view(), w = want.out.view();
  double diff2 = 0, ref2 = 0;
  int64_t n = got.out.numel();
  std::vector<int64_t> index(4, 0);
  for (int64_t i = 0; i < n; ++i) {
    double a = g.get(index.data()), b = w.get(index.data());
    if (std::isnan(a))
      ++e.badValues;
    double d = std::fabs(a - b);
    e.outMaxAbs = std::max(e.outMaxAbs, d);
    diff2 += d * d;
    ref2 += b * b;
    nextIndex(index, g.shape);
  }
  e.outRel = ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
  const float *gl = got.lse.as<float>(), *wl = want.lse.as<float>();
  double ldiff2 = 0, lref2 = 0;
  for (int64_t i = 0; i < got.lse.numel(); ++i) {
    bool gInf = std::isinf(gl[i]) && gl[i] < 0, wInf = std::isinf(wl[i]) && wl[i] < 0;
    if (std::isnan(gl[i]) || gInf != wInf) {
      ++e.badValues;
      continue;
    }
    if (wInf)
      continue;
    double d = std::fabs(double(gl[i]) - double(wl[i]));
    e.lseMaxAbs = std::max(e.lseMaxAbs, d);
    ldiff2 += d * d;
    lref2 += double(wl[i]) * double(wl[i]);
  }
  e.lseRel = lref2 > 0 ? std::sqrt(ldiff2 / lref2) : std::sqrt(ldiff2);
  return e;
}

double millisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

int runRandom(const CompiledVariant &variant) {
  int64_t B, Q, KV;
  if (!parseShape(randomShape, B, Q, KV))
    return fail("--random expects B,Q_LEN,KV_LEN with sizes in [1, 2^31), got '" +
                randomShape + "'");
  std::map<std::string, ScalarValue> overrides;
  if (Status s = parseScalarOverrides(variant.desc, scalarValues, overrides); !s)
    return fail(s.message());
  Result<CallTensors> kernelTensors = randomCall(variant.desc, B, Q, KV, seed, overrides);
  if (!kernelTensors)
    return fail(kernelTensors.status().message());
  Result<CallTensors> refTensors = randomCall(variant.desc, B, Q, KV, seed, overrides);
  if (!refTensors)
    return fail(refTensors.status().message());
  CallTensors &kernelCall = *kernelTensors, &refCall = *refTensors;
  auto start = std::chrono::steady_clock::now();
  if (Status s = variant.run(kernelCall.call()); !s)
    return fail(s.message());
  double ms = millisSince(start);
  if (!checkResults) {
    outs() << format("%-24s %-4s B=%lld Q_LEN=%lld KV_LEN=%lld %-4s  %8.3f ms  (not checked)\n",
                     variant.desc.name.c_str(), target.c_str(), (long long)B, (long long)Q,
                     (long long)KV, dtypeName(variant.desc.dtype), ms);
    return 0;
  }
  if (Status s = variant.reference(refCall.call()); !s)
    return fail("reference: " + s.message());
  Errors e = compare(kernelCall, refCall);
  double tol = tolerance > 0 ? double(tolerance)
                             : (variant.desc.dtype == DType::F32 ? 1e-5 : 1e-2);
  bool ok = e.badValues == 0 && e.outRel < tol && e.lseRel < tol;
  outs() << format("%-24s %-4s B=%lld Q_LEN=%lld KV_LEN=%lld %-4s  out rel %.2e (max %.2e)"
                   "  lse rel %.2e (max %.2e)  %8.3f ms  %s\n",
                   variant.desc.name.c_str(), target.c_str(), (long long)B, (long long)Q,
                   (long long)KV,
                   dtypeName(variant.desc.dtype), e.outRel, e.outMaxAbs, e.lseRel,
                   e.lseMaxAbs, ms, ok ? "ok" : "FAILED");
  if (!ok)
  {
    std::string message;
    raw_string_ostream os(message);
    os << format("'%s' differs from the float64 reference: out rel %.3e, lse rel "
                 "%.3e, %lld bad values (tolerance %.1e)",
                 variant.desc.name.c_str(), e.outRel, e.lseRel, (long long)e.badValues,
                 tol);
    return fail(message);
  }
  return 0;
}

int runFiles(const CompiledVariant &variant) {
  if (inputsPath.empty() || outputTensors.empty())
    return fail("run needs --inputs FILE and --output FILE, or --random B,Q_LEN,KV_LEN");
  Result<CallTensors> tensors = callFromFile(variant.desc, inputsPath);
  if (!tensors)
    return fail(tensors.status().message());
  if (Status s = variant.run(tensors->call()); !s)
    return fail(s.message());
  if (Status s = writeSafeTensors(outputTensors,
                                  {{"out", tensors->out.view()}, {"lse", tensors->lse.view()}});
      !s)
    return fail(s.message());
  return 0;
}

/// Fraction of (q, kv) pairs the mask keeps, sampled on a grid for b = h = 0.
double maskDensity(const CompiledVariant &variant, const CallTensors &tensors) {
  const auto &mask = variant.spec->maskMod.expr;
  if (!mask)
    return 1.0;
  AttentionCall call = tensors.call();
  int64_t Q = call.qLen(), KV = call.kvLen();
  int64_t steps = 64, kept = 0, total = 0;
  for (int64_t a = 0; a < steps; ++a)
    for (int64_t c = 0; c < steps; ++c) {
      frontend::EvalContext ctx;
      ctx.qIdx = a * Q / steps;
      ctx.kvIdx = c * KV / steps;
      ctx.qLen = Q;
      ctx.kvLen = KV;
      ctx.scalar = [&](const std::string &n) -> std::optional<frontend::ExprValue> {
        const ScalarValue &v = call.scalars.at(n);
        return v.type == DType::F32 ? frontend::ExprValue::ofFloat(v.f)
                                    : frontend::ExprValue::ofInt(v.i);
      };
      ctx.buffer = [&](const std::string &n, const std::vector<int64_t> &idx)
          -> std::optional<frontend::ExprValue> {
        const TensorView &view = call.buffers.at(n);
        for (size_t d = 0; d < idx.size(); ++d)
          if (idx[d] < 0 || idx[d] >= view.shape[d])
            return std::nullopt;
        return view.dtype == DType::F32 ? frontend::ExprValue::ofFloat(view.get(idx.data()))
                                        : frontend::ExprValue::ofInt(int64_t(view.get(idx.data())));
      };
      std::string error;
      auto v = frontend::evaluate(*mask, ctx, error);
      kept += v && v->b;
      ++total;
    }
  return double(kept) / double(total);
}

int runBench(const CompiledVariant &variant) {
  int64_t B, Q, KV;
  if (!parseShape(benchShape, B, Q, KV))
    return fail("bench needs --shape B,Q_LEN,KV_LEN with sizes in [1, 2^31)");
  std::map<std::string, ScalarValue> overrides;
  if (Status s = parseScalarOverrides(variant.desc, scalarValues, overrides); !s)
    return fail(s.message());
  Result<CallTensors> created = randomCall(variant.desc, B, Q, KV, seed, overrides);
  if (!created)
    return fail(created.status().message());
  CallTensors &tensors = *created;
  AttentionCall call = tensors.call(), hostCall = call;
  // On a GPU the tensors are staged once: the timed calls run on GPU memory.
  std::unique_ptr<cuda::StagedCall> staged;
  if (variant.cudaKernel) {
    CudaKernel::timeLaunches(true);
    Result<std::unique_ptr<cuda::StagedCall>> s = cuda::stageCall(call);
    if (!s)
      return fail(s.status().message());
    staged = s.take();
    call = staged->device;
  }
  auto timeIt = [&](const std::function<Status()> &fn, int repetitions,
                    double &median) -> Status {
    std::vector<double> times;
    for (int i = 0; i < 2; ++i) // warm-up
      if (Status s = fn(); !s)
        return s;
    for (int i = 0; i < std::max(1, repetitions); ++i) {
      auto start = std::chrono::steady_clock::now();
      if (Status s = fn(); !s)
        return s;
      times.push_back(millisSince(start));
    }
    std::sort(times.begin(), times.end());
    median = times[times.size() / 2];
    return Status::ok();
  };
  double ms = 0;
  std::vector<double> gpuTimes; // CUDA events around each launch (--target cuda)
  if (Status s = timeIt(
          [&] {
            Status st = variant.run(call);
            if (variant.cudaKernel)
              gpuTimes.push_back(CudaKernel::lastKernelMilliseconds());
            return st;
          },
          reps, ms);
      !s)
    return fail(s.message());
  double density = maskDensity(variant, tensors);
  // FlashAttention's count: 2·B·H·Q·KV·(D + DV) (= 4·B·H·Q·KV·D when DV = D),
  // times the fraction of pairs the mask keeps (one half for causal).
  double flops = 2.0 * double(B) * double(variant.desc.headsQ) * double(Q) * double(KV) *
                 double(variant.desc.headDim + variant.desc.headDimV) * density;
  std::string where = std::to_string(ThreadPool::global().size()) + " threads";
  if (variant.cudaKernel)
    if (Result<cuda::CudaDevice> device = cuda::firstDevice())
      where = device->name + ", " + variant.cudaKernel->chip();
  outs() << format("%-24s %-4s B=%lld H=%lld Q_LEN=%lld KV_LEN=%lld D=%lld %-4s  "
                   "%10.3f ms  %7.4f TFLOP/s  (%.2f GFLOP/s, mask density %.3f, %s)\n",
                   variant.desc.name.c_str(), target.c_str(), (long long)B,
                   (long long)variant.desc.headsQ,
                   (long long)Q, (long long)KV, (long long)variant.desc.headDim,
                   dtypeName(variant.desc.dtype), ms, flops / (ms * 1e9), flops / (ms * 1e6),
                   density, where.c_str());
  if (variant.cudaKernel) {
    gpuTimes.erase(gpuTimes.begin(), gpuTimes.begin() + std::min<size_t>(2, gpuTimes.size()));
    std::sort(gpuTimes.begin(), gpuTimes.end());
    double gpuMs = gpuTimes.empty() ? 0 : gpuTimes[gpuTimes.size() / 2];
    if (gpuMs > 0)
      outs() << format("%-24s kernel time on the GPU (CUDA events, median) %10.3f ms  %7.4f "
                       "TFLOP/s\n",
                       variant.desc.name.c_str(), gpuMs, flops / (gpuMs * 1e9));
    else
      outs() << variant.desc.name << ": the driver reported no kernel time\n";
  }
  if (withReference) {
    double refMs = 0;
    if (Status s = timeIt([&] { return variant.reference(hostCall); }, 1, refMs); !s)
      return fail(s.message());
    outs() << format("%-24s eager reference (float64)              %10.3f ms  %7.4f TFLOP/s  "
                     "(%.2f GFLOP/s)\n",
                     variant.desc.name.c_str(), refMs, flops / (refMs * 1e9),
                     flops / (refMs * 1e6));
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::SetVersionPrinter(
      [](raw_ostream &os) { os << "attnc " << ATTNC_VERSION << "\n"; });
  cl::HideUnrelatedOptions(attncCategory);
  std::string cliErrors;
  raw_string_ostream cliErrorStream(cliErrors);
  if (!cl::ParseCommandLineOptions(argc, argv,
                                   "attnc: a compiler for attention variants\n",
                                   &cliErrorStream)) {
    // Report command-line mistakes in the same "error: MESSAGE" form as the rest.
    StringRef message = StringRef(cliErrors).trim();
    message.consume_front((StringRef(argv[0]) + ": ").str());
    message.consume_front("attnc: ");
    message = message.split("  Try:").first;
    message = message.split('\n').first.trim();
    if (message.empty())
      message = "invalid command-line arguments"; // cl printed the details itself
    return fail(message + " (see attnc --help)");
  }
  if (!checkCmd && !compileCmd && !runCmd && !benchCmd)
    return fail("expected a command: check, compile, run or bench (see attnc --help)");
  if (Status s = checkTarget(); !s)
    return fail(s.message());
  if (Status s = checkGpuOptions(); !s)
    return fail(s.message());
  if (blockQ < 4 || blockQ % 4 != 0 || blockQ > 1024 || blockKV < 16 ||
      blockKV % 16 != 0 || blockKV > 512)
    return fail("--block-q must be a multiple of 4 in [4, 1024] and --block-kv a "
                "multiple of 16 in [16, 512]");

  Compiler compiler;
  if (checkCmd) {
    if (!compiler.import(specPath))
      return 1;
    outs() << specPath << ": ok\n";
    return 0;
  }
  if (compileCmd)
    return runCompile(compiler);

  std::shared_ptr<CompiledVariant> variant =
      compiler.compileFileFor(specPath, compileTarget(), cpuOptions());
  if (!variant)
    return 1;
  if (benchCmd)
    return runBench(*variant);
  if (!randomShape.empty()) {
    if (!inputsPath.empty() || !outputTensors.empty())
      return fail("--random cannot be combined with --inputs/--output");
    return runRandom(*variant);
  }
  return runFiles(*variant);
}
