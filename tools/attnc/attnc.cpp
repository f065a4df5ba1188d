//===- attnc.cpp - the attnc command line ----------------------------------===//
//
//   attnc check   SPEC
//   attnc compile SPEC [--target cpu|cuda|cuda-emu] [--emit attn|flash|gpu|llvm|ptx|cubin]
//                      [--chip sm_80|sm_90a] [--report] [-o FILE]
//   attnc compile SPEC... --emit library [--target cpu|cuda|all] [--chip sm_80,sm_90a] [--backward] -o libNAME.so
//   attnc run     SPEC --inputs IN.safetensors --output OUT.safetensors
//   attnc run     SPEC --random B,Q_LEN,KV_LEN [--seed N] [--scalar NAME=V]...
//   attnc bench   SPEC --shape B,Q_LEN,KV_LEN [--reps N] [--target cuda-emu --profile]
//   attnc viz     SPEC --shape B,Q_LEN,KV_LEN [--batch b] [--head h] -o FILE.svg
// (docs/spec.md, "The command line"). Exit status: 0 on success, 1 on a user error,
// reported as "FILE:LINE:COL: error: ..." or "error: ..." on stderr.
//
//===----------------------------------------------------------------------===//
#include "compiler/Compiler.h"
#include "compiler/frontend/ExprEval.h"
#include "compiler/frontend/JsonSourceMap.h"
#include "compiler/targets/cpu/CpuPipeline.h"
#include "compiler/targets/cuda/CudaPipeline.h"
#include "compiler/targets/cuda/PtxPipeline.h"
#include "compiler/targets/cuda/SassProfile.h"
#include "runtime/cuda/CudaDriver.h"
#include "runtime/cuda/DeviceMemory.h"
#include "runtime/emu/KernelProfile.h"
#include "compiler/MaskTileClasses.h"
#include "compiler/frontend/ExprReference.h"
#include "compiler/transforms/Passes.h"
#include "tools/attnc/MaskPicture.h"
#include "tools/common/Inputs.h"
#include "tools/common/RunCommands.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
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
cl::SubCommand benchCmd("bench", "Time a variant; print ms and TFLOP/s");
cl::SubCommand vizCmd("viz", "Draw the mask and each target's tile classes as an SVG");

cl::opt<std::string> specPath(cl::Positional, cl::desc("<spec.json>"), cl::Required,
                              cl::sub(checkCmd), cl::sub(compileCmd), cl::sub(runCmd),
                              cl::sub(benchCmd), cl::sub(vizCmd), cl::cat(attncCategory));

cl::list<std::string> moreSpecs(cl::Positional, cl::ZeroOrMore,
                                cl::desc("[more specs, for --emit library]"),
                                cl::sub(compileCmd), cl::cat(attncCategory));

enum class EmitKind { Attn, Flash, Gpu, LLVM, Ptx, Cubin, Library };
cl::opt<EmitKind> emitKind(
    "emit", cl::desc("What to emit"), cl::init(EmitKind::Attn),
    cl::values(clEnumValN(EmitKind::Attn, "attn", "the attn dialect after import"),
               clEnumValN(EmitKind::Flash, "flash", "the flash form (after tiling)"),
               clEnumValN(EmitKind::Gpu, "gpu",
                          "the GPU kernel: host code with a gpu.launch (cuda, cuda-emu)"),
               clEnumValN(EmitKind::LLVM, "llvm", "LLVM IR of the CPU kernel (-O3)"),
               clEnumValN(EmitKind::Ptx, "ptx", "PTX of the GPU kernel for --chip"),
               clEnumValN(EmitKind::Cubin, "cubin",
                          "the GPU kernel assembled by ptxas for --chip (needs -o)"),
               clEnumValN(EmitKind::Library, "library",
                          "a kernel library (shared object) of every spec given, for "
                          "attnc-rt and the runtime (needs -o)")),
    cl::sub(compileCmd), cl::cat(attncCategory));

cl::opt<std::string> outputPath("o", cl::desc("Output file (default: stdout)"),
                                cl::value_desc("file"), cl::init("-"),
                                cl::sub(compileCmd), cl::sub(vizCmd), cl::cat(attncCategory));

cl::opt<std::string> chip("chip", cl::desc("GPU for --emit ptx|cubin and --report: sm_80 "
                                          "(default) or sm_90a; for --emit library a "
                                          "list (default sm_80,sm_90a)"),
                          cl::init("sm_80"), cl::sub(compileCmd), cl::cat(attncCategory));
cl::opt<bool> report("report",
                     cl::desc("Print the GPU kernel's registers, spills, stack and shared "
                              "memory (ptxas -v) and its occupancy for --chip"),
                     cl::init(false), cl::sub(compileCmd), cl::cat(attncCategory));

cl::opt<std::string> target("target", cl::desc("cpu (default), cuda or cuda-emu; for --emit library cpu, cuda or all (default)"),
                            cl::init("cpu"), cl::sub(checkCmd), cl::sub(compileCmd),
                            cl::sub(runCmd), cl::sub(benchCmd), cl::cat(attncCategory));

cl::opt<int64_t> blockQ("block-q", cl::desc("Query rows per tile, a multiple of 4 (default: 64 on the CPU, the heuristic on GPU targets)"),
                        cl::init(64), cl::sub(compileCmd), cl::sub(runCmd),
                        cl::sub(benchCmd), cl::sub(vizCmd), cl::cat(attncCategory));
cl::opt<int64_t> blockKV("block-kv", cl::desc("Key rows per tile, a multiple of 16 (default: 64 on the CPU, the heuristic on GPU targets)"),
                         cl::init(64), cl::sub(compileCmd), cl::sub(runCmd),
                         cl::sub(benchCmd), cl::sub(vizCmd), cl::cat(attncCategory));

cl::opt<int64_t> warps("warps",
                       cl::desc("GPU targets: warps per block of the tensor-core kernel, 1 "
                                "to 8 (block-q = rows per warp x warps; default: the "
                                "heuristic)"),
                       cl::init(0), cl::sub(compileCmd), cl::sub(runCmd), cl::sub(benchCmd),
                       cl::cat(attncCategory));
cl::opt<int64_t> rowsPerWarp("rows-per-warp",
                             cl::desc("GPU targets: query rows per warp of the tensor-core "
                                      "kernel, 16 or 32 (with 32 every K and V fragment "
                                      "feeds two mma; default: the heuristic)"),
                             cl::init(0), cl::sub(compileCmd), cl::sub(runCmd),
                             cl::sub(benchCmd), cl::cat(attncCategory));
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
                       cl::sub(runCmd), cl::sub(benchCmd), cl::sub(vizCmd),
                       cl::cat(attncCategory));
cl::list<std::string> scalarFlags("scalar", cl::desc("A run-time scalar for random inputs"),
                                   cl::value_desc("NAME=VALUE"), cl::sub(runCmd),
                                   cl::sub(benchCmd), cl::sub(vizCmd), cl::cat(attncCategory));
cl::list<std::string> bufferFlags("buffer",
                                  cl::desc("A buffer for random inputs, from a safetensors "
                                           "file (its tensor NAME, or its only one)"),
                                  cl::value_desc("NAME=FILE.safetensors"), cl::sub(runCmd),
                                  cl::sub(benchCmd), cl::sub(vizCmd), cl::cat(attncCategory));
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
                                cl::sub(vizCmd), cl::cat(attncCategory));
cl::opt<int64_t> vizBatch("batch", cl::desc("viz: the batch index drawn (default 0)"),
                          cl::init(0), cl::sub(vizCmd), cl::cat(attncCategory));
cl::opt<int64_t> vizHead("head", cl::desc("viz: the query head drawn (default 0)"), cl::init(0),
                         cl::sub(vizCmd), cl::cat(attncCategory));
cl::opt<int> reps("reps", cl::desc("Timed repetitions (median reported)"), cl::init(10),
                  cl::sub(benchCmd), cl::cat(attncCategory));
cl::opt<bool> withReference("reference",
                            cl::desc("Also time the eager float64 reference"),
                            cl::init(false), cl::sub(benchCmd), cl::cat(attncCategory));

cl::opt<bool> backwardPass("backward",
                           cl::desc("run: also run the backward pass (dq, dk, dv and the "
                                    "requires_grad buffers' gradients) on dout; bench: time "
                                    "it; compile: emit the "
                                    "backward pass (--emit library: add each variant's CPU "
                                    "backward kernel)"),
                           cl::init(false), cl::sub(runCmd), cl::sub(benchCmd),
                           cl::sub(compileCmd), cl::cat(attncCategory));

cl::opt<bool> profileKernels("profile",
                              cl::desc("cuda-emu: print per kernel one JSON line of what a "
                                       "profiler counts (shared-memory requests, wavefronts "
                                       "and their conflict-free ideal, ldmatrix, mma, "
                                       "cp.async, barriers)"),
                              cl::init(false), cl::sub(runCmd), cl::sub(benchCmd),
                              cl::cat(attncCategory));

int fail(const Twine &message) { return failWith(message.str()); }

/// Runs `command` with the cuda-emu profile on, then prints it (one JSON line per
/// kernel) after the command's own output.
int withProfile(const std::function<int()> &command) {
  emu::setProfiling(true);
  emu::takeProfiles();
  int status = command();
  emu::setProfiling(false);
  std::fflush(stdout); // the command's lines come first
  for (const emu::KernelProfile &p : emu::takeProfiles())
    outs() << p.json() << "\n";
  outs().flush();
  return status;
}

/// Whether the command writes a kernel library.
bool writesLibrary() { return compileCmd && emitKind == EmitKind::Library; }

/// --target of --emit library: cpu, cuda, or all (the default).
std::string libraryTarget() { return target.getNumOccurrences() ? std::string(target) : "all"; }

Status checkTarget() {
  if (writesLibrary()) {
    std::string t = libraryTarget();
    if (t == "cpu" || t == "cuda" || t == "all")
      return Status::ok();
    return Status::error("--emit library holds kernels for --target cpu, cuda or all (the "
                         "default), not '" + t + "'");
  }
  if (target == "cpu" || target == "cuda-emu")
    return Status::ok();
  if (target == "cuda" && (compileCmd || checkCmd)) // compiling needs no GPU
    return Status::ok();
  if (target == "cuda")
    return cuda::firstDevice().status();
  return Status::error("unknown target '" + target + "' (expected cpu, cuda or cuda-emu)");
}

/// The kernel to compile: the CPU's, or the GPU's (on a CUDA device or cuda-emu).
Target compileTarget() {
  return target == "cpu" ? Target::Cpu : target == "cuda" ? Target::Cuda : Target::CudaEmu;
}

/// Whether the command builds the GPU kernel: a GPU target, or (compile) an emit or
/// report that only the GPU kernel has, which implies the GPU target's defaults.
bool buildsGpuKernel() {
  if (writesLibrary())
    return libraryTarget() != "cpu";
  if (compileTarget() != Target::Cpu)
    return true;
  return compileCmd && (report || emitKind == EmitKind::Gpu || emitKind == EmitKind::Ptx ||
                        emitKind == EmitKind::Cubin || emitKind == EmitKind::Library);
}

/// Tile sizes: the flags, or each target's defaults (the GPU picks block-kv from
/// the head dims unless --block-kv is given).
KernelTileOptions cpuOptions() {
  KernelTileOptions options;
  bool gpu = buildsGpuKernel();
  int64_t rows = rowsPerWarp ? rowsPerWarp : 16;
  options.blockQ = gpu && blockQ.getNumOccurrences() == 0 ? rows * warps : blockQ;
  // --warps alone keeps the 16-row warps it always meant.
  options.rowsPerWarp = rowsPerWarp ? rowsPerWarp : warps.getNumOccurrences() ? 16 : 0;
  options.blockKV = gpu && blockKV.getNumOccurrences() == 0 ? 0 : blockKV;
  options.stages = stages;
  return options;
}

Status checkGpuOptions() {
  if ((warps.getNumOccurrences() || stages.getNumOccurrences() ||
       rowsPerWarp.getNumOccurrences()) &&
      !buildsGpuKernel())
    return Status::error("--warps, --rows-per-warp and --stages configure the GPU kernel: "
                         "use them with --target cuda or cuda-emu");
  if (rowsPerWarp.getNumOccurrences() && rowsPerWarp != 16 && rowsPerWarp != 32)
    return Status::error("--rows-per-warp must be 16 or 32, got " +
                         std::to_string(rowsPerWarp));
  if (warps.getNumOccurrences() && (warps < 1 || warps > 8))
    return Status::error("--warps must be 1 to 8, got " + std::to_string(warps));
  if (stages.getNumOccurrences() && (stages < 1 || stages > 4))
    return Status::error("--stages must be 1 to 4, got " + std::to_string(stages));
  int64_t rows = rowsPerWarp ? rowsPerWarp : 16;
  if (warps.getNumOccurrences() && blockQ.getNumOccurrences() && blockQ != rows * warps)
    return Status::error("--warps " + std::to_string(warps) + " means --block-q " +
                         std::to_string(rows * warps) + ", not " + std::to_string(blockQ));
  if (rowsPerWarp.getNumOccurrences() && blockQ.getNumOccurrences() && blockQ % rowsPerWarp)
    return Status::error("--block-q " + std::to_string(blockQ) +
                         " is not a multiple of --rows-per-warp " + std::to_string(rowsPerWarp));
  return Status::ok();
}

/// The location of `field`'s value in the spec at `path` (the variant's when the
/// field is absent).
mlir::Location fieldLocation(mlir::MLIRContext &ctx, const std::string &path,
                             const std::string &field) {
  std::string errorMessage;
  std::unique_ptr<MemoryBuffer> file = mlir::openInputFile(path, &errorMessage);
  if (!file)
    return mlir::UnknownLoc::get(&ctx);
  frontend::JsonSourceMap map(file->getBuffer());
  size_t offset = map.valueOffset("/" + field);
  auto [line, col] = map.lineColumn(offset);
  return mlir::FileLineColLoc::get(&ctx, path, line, col);
}

/// attnc check SPEC [--target T]: the spec, and for a GPU target what its kernels
/// cannot compile (reported at the field responsible, or where the compiler finds it).
int runCheck(Compiler &compiler) {
  frontend::Spec spec;
  mlir::OwningOpRef<mlir::ModuleOp> module = compiler.import(specPath, &spec);
  if (!module)
    return 1;
  if (compileTarget() != Target::Cpu) {
    if (Status s = cuda::checkGpuLimits(gpuTraits(spec)); !s) {
      mlir::emitError(fieldLocation(compiler.context(), specPath,
                                    spec.headDimV != spec.headDim ? "head_dim_v" : "head_dim"))
          << s.message();
      return 1;
    }
    if (failed(attnc::runPipeline(*module, [&](mlir::OpPassManager &pm) {
          cuda::buildGpuKernelPipeline(pm, gpuTiles(cpuOptions()), gpuTraits(spec));
        })))
      return 1;
  }
  outs() << specPath << ": ok" << (compileTarget() == Target::Cpu ? "" : " (" + target + ")")
         << "\n";
  return 0;
}

int writeOutput(function_ref<bool(raw_ostream &)> write);

/// attnc viz SPEC --shape B,Q_LEN,KV_LEN -o FILE.svg: the mask of one (batch, head)
/// and the tile classes of the CPU kernel and of the GPU kernel, as the kernels
/// compute them (maskTileClasses), with a summary per target on stdout.
int runViz(Compiler &compiler) {
  if (outputPath == "-")
    return fail("viz writes an SVG: give the file with -o");
  frontend::Spec spec;
  mlir::OwningOpRef<mlir::ModuleOp> module = compiler.import(specPath, &spec);
  if (!module)
    return 1;
  int64_t B, Q, KV;
  if (!parseShape(benchShape, B, Q, KV))
    return fail("viz needs --shape B,Q_LEN,KV_LEN with sizes in [1, 2^31)");
  VariantDesc desc = describeVariant(spec);
  if (vizBatch < 0 || vizBatch >= B || vizHead < 0 || vizHead >= desc.headsQ)
    return fail("--batch and --head must be within the shape (B=" + std::to_string(B) +
                ", H=" + std::to_string(desc.headsQ) + ")");
  std::map<std::string, ScalarValue> scalars;
  std::map<std::string, Tensor> buffers;
  if (Status s = parseScalarOverrides(desc, scalarFlags, scalars); !s)
    return fail(s.message());
  if (Status s = parseBufferOverrides(desc, bufferFlags, buffers); !s)
    return fail(s.message());
  if (Status s = checkMemoryEstimate(desc, B, Q, KV, 1); !s)
    return fail(s.message());
  Result<CallTensors> tensors = randomCall(desc, B, Q, KV, seed, scalars, buffers);
  if (!tensors)
    return fail(tensors.status().message());
  AttentionCall call = tensors->call();
  // The GPU's configuration (checked against spills, as its compile does), then the
  // classes of the IR the kernels analyse (after attn-simplify).
  cuda::GpuTileOptions gpu = spillFreeGpuTiles(*module, spec, {0, 0, 0});
  if (failed(attnc::runPipeline(*module, [](mlir::OpPassManager &pm) {
        pm.addPass(createAttnSimplify());
      })))
    return 1;
  std::vector<ScalarValue> values = attnc::scalarValues(desc, call);
  std::vector<TilePanel> panels{
      {"cpu: " + std::to_string(blockQ) + " x " + std::to_string(blockKV) + " tiles", blockQ,
       blockKV, {}},
      {"cuda: " + std::to_string(gpu.blockQ) + " x " + std::to_string(gpu.blockKV) + " tiles",
       gpu.blockQ, gpu.blockKV, {}}};
  for (TilePanel &panel : panels) {
    Result<std::vector<TileClass>> classes =
        maskTileClasses(*module, panel.blockQ, panel.blockKV, Q, KV, vizBatch, vizHead, values);
    if (!classes)
      return fail(classes.status().message());
    panel.classes = classes.take();
  }
  ModFunctions mods = frontend::referenceMods(nullptr, spec.maskMod.expr.get(), call);
  auto kept = [&](int64_t q, int64_t kv) -> int {
    if (!mods.maskMod)
      return 1;
    std::string error;
    std::optional<bool> keep = mods.maskMod(vizBatch, vizHead, q, kv, error);
    return keep ? int(*keep) : -1;
  };
  std::string title = spec.name + ": b=" + std::to_string(vizBatch) + ", h=" +
                      std::to_string(vizHead) + ", Q_LEN=" + std::to_string(Q) +
                      ", KV_LEN=" + std::to_string(KV);
  std::string svg = maskPicture(title, Q, KV, kept, panels);
  int rc = writeOutput([&](raw_ostream &os) {
    os << svg;
    return true;
  });
  if (rc)
    return rc;
  for (const TilePanel &panel : panels) {
    TileCounts n = countTiles(panel, Q, KV);
    outs() << format("%-24s %-28s %lld empty, %lld full, %lld partial: %.1f%% of tiles, "
                     "%.1f%% of pairs skipped\n",
                     spec.name.c_str(), panel.title.c_str(), (long long)n.empty,
                     (long long)n.full, (long long)n.partial, 100 * n.tilesSkipped,
                     100 * n.pairsSkipped);
  }
  return 0;
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

/// The chips of --chip, a comma-separated list.
std::vector<std::string> chipList() {
  std::vector<std::string> chips;
  StringRef rest = chip;
  while (!rest.empty()) {
    auto [head, tail] = rest.split(',');
    chips.push_back(head.trim().str());
    rest = tail;
  }
  return chips;
}

/// attnc compile SPEC... --emit library -o LIB.so [--target cpu|cuda|all]: the CPU
/// kernel with the CPU's tiles (--block-q/--block-kv, else 64), the GPU kernel with
/// the GPU's (the flags, else its heuristic).
int runCompileLibrary(Compiler &compiler) {
  if (outputPath == "-")
    return fail("--emit library writes a shared library: give the file with -o");
  LibraryTargets targets;
  targets.cpu = libraryTarget() != "cuda";
  targets.gpu = libraryTarget() != "cpu";
  targets.backward = backwardPass;
  if (!targets.gpu && chip.getNumOccurrences())
    return fail("--chip chooses the GPUs of the GPU kernel: use it with --target cuda or all");
  targets.cpuOptions.blockQ = blockQ;
  targets.cpuOptions.blockKV = blockKV;
  targets.gpuOptions = cpuOptions();
  if (chip.getNumOccurrences())
    targets.chips = chipList();
  for (const std::string &c : targets.chips)
    if (!cuda::isSupportedChip(c))
      return fail("unsupported --chip '" + c + "' (expected sm_80 or sm_90a)");
  std::vector<std::string> specs{specPath};
  specs.insert(specs.end(), moreSpecs.begin(), moreSpecs.end());
  std::vector<LibraryEntry> entries;
  for (const std::string &path : specs) {
    std::optional<LibraryEntry> entry = compiler.compileForLibrary(path, targets);
    if (!entry)
      return 1;
    for (const LibraryEntry &e : entries)
      if (e.variant.desc.name == entry->variant.desc.name)
        return fail(path + ": a variant named '" + e.variant.desc.name +
                    "' is already in the library");
    entries.push_back(std::move(*entry));
  }
  if (Status s = writeKernelLibrary(entries, ATTNC_VERSION, outputPath); !s)
    return fail(s.message());
  return 0;
}

/// --report's lines after the configuration: ptxas's resource usage, then the SASS
/// profile of the key loops when nvdisasm is installed (a line saying how to get
/// one otherwise).
Result<std::string> reportUsage(const cuda::PtxKernel &code) {
  SmallString<128> cubinFile;
  sys::fs::createTemporaryFile("attnc-report", "cubin", cubinFile);
  Result<std::string> usage =
      cuda::ptxasReport(code.ptx, chip, code.threadsPerBlock, std::string(cubinFile),
                        code.launch.dynamicSharedBytes);
  auto cubin = MemoryBuffer::getFile(cubinFile, /*IsText=*/false);
  sys::fs::remove(cubinFile);
  if (!usage)
    return usage;
  std::string nvdisasm = cuda::findNvdisasm();
  if (nvdisasm.empty())
    return usage.take() + "(no SASS profile: nvdisasm not found; scripts/setup.sh installs "
                          "one under the build folder, or set ATTNC_NVDISASM)\n";
  if (!cubin)
    return Status::error("ptxas wrote no cubin for the SASS profile");
  Result<std::string> sass = cuda::disassembleCubin(nvdisasm, (*cubin)->getBuffer().str());
  if (!sass)
    return sass.status();
  Result<std::vector<cuda::SassKernelProfile>> profiles = cuda::profileSass(*sass);
  if (!profiles)
    return profiles.status();
  std::string out = usage.take();
  for (const cuda::SassKernelProfile &p : *profiles)
    out += cuda::formatSassProfile(p, chip);
  return out;
}

/// The GPU kernel's configuration as `--report` prints it.
std::string kernelConfiguration(const cuda::GpuTileOptions &tiles, bool tensorCores,
                                bool backward) {
  std::string bq = std::to_string(tiles.blockQ), bk = std::to_string(tiles.blockKV);
  if (tensorCores && backward)
    return "tensor cores, block-kv " + bk + " (" + std::to_string(tiles.blockKV / 16) +
           " warps of 16 key rows), block-q " + bq;
  if (tensorCores)
    return "tensor cores, block-q " + bq + " (" + std::to_string(tiles.warps()) + " warps" +
           (tiles.rowsPerWarp == 32 ? " of 32 rows" : "") + "), block-kv " + bk + ", " +
           std::to_string(tiles.stages) + " stage" + (tiles.stages > 1 ? "s" : "");
  if (backward)
    return "SIMT, block-q " + bq + ", block-kv " + bk + " (threads)";
  return "SIMT, block-q " + bq + " (threads), block-kv " + bk;
}

int runCompile(Compiler &compiler) {
  if (writesLibrary())
    return runCompileLibrary(compiler);
  if (target.getNumOccurrences() && compileTarget() == Target::Cpu && buildsGpuKernel())
    return fail(std::string(report                          ? "--report"
                            : emitKind == EmitKind::Gpu     ? "--emit gpu"
                            : emitKind == EmitKind::Ptx     ? "--emit ptx"
                                                            : "--emit cubin") +
                " is about the GPU kernel, not --target cpu's: use --target cuda (or leave "
                "--target out)");
  if (!moreSpecs.empty())
    return fail("compile takes one spec, except with --emit library");
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
  if (backwardPass && emitKind == EmitKind::Attn)
    return fail("compile --backward lowers the backward pass: use it with --emit flash, llvm, "
                "gpu, ptx, cubin or library");
  cuda::GpuTileOptions tiles;
  if (emitKind != EmitKind::Attn) {
    LoweringStage stage = emitKind == EmitKind::Flash  ? LoweringStage::Flash
                          : emitKind == EmitKind::LLVM ? LoweringStage::Llvm
                                                       : LoweringStage::GpuKernel;
    KernelTileOptions options = cpuOptions();
    options.backward = backwardPass;
    FailureOr<cuda::GpuTileOptions> used =
        lowerForEmit(*module, spec, stage, gpu, compileTarget(), options);
    if (failed(used))
      return 1;
    tiles = *used;
  }
  if (ptx) {
    Result<cuda::PtxKernel> code = cuda::lowerToPtx(*module, chip, gpuArtifactCache());
    if (!code)
      return fail(code.status().message());
    if (report) {
      Result<std::string> usage = reportUsage(*code);
      if (!usage)
        return fail(usage.status().message());
      outs() << spec.name << (backwardPass ? "_backward_gpu_kernel: " : "_gpu_kernel: ")
             << kernelConfiguration(tiles, code->tensorCores, backwardPass)
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
      return succeeded(attnc::printLLVMIR(*module, os));
    module->print(os);
    return true;
  });
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
  if (!checkCmd && !compileCmd && !runCmd && !benchCmd && !vizCmd)
    return fail("expected a command: check, compile, run, bench or viz (see attnc --help)");
  if (Status s = checkTarget(); !s)
    return fail(s.message());
  if (Status s = checkGpuOptions(); !s)
    return fail(s.message());
  if (blockQ < 4 || blockQ % 4 != 0 || blockQ > 1024 || blockKV < 16 ||
      blockKV % 16 != 0 || blockKV > 512)
    return fail("--block-q must be a multiple of 4 in [4, 1024] and --block-kv a "
                "multiple of 16 in [16, 512]");

  Compiler compiler;
  if (checkCmd)
    return runCheck(compiler);
  if (vizCmd)
    return runViz(compiler);
  if (compileCmd)
    return runCompile(compiler);

  KernelTileOptions tileOptions = cpuOptions();
  tileOptions.backward = backwardPass;
  std::shared_ptr<CompiledVariant> variant =
      compiler.compileFileFor(specPath, compileTarget(), tileOptions);
  if (!variant)
    return 1;
  Runnable runnable;
  runnable.desc = variant->desc;
  runnable.target = target;
  runnable.run = [variant](const AttentionCall &call) { return variant->run(call); };
  runnable.reference = [variant](const AttentionCall &call) { return variant->reference(call); };
  if (variant->hasBackward()) {
    runnable.runBackward = [variant](const BackwardCall &call) {
      return variant->runBackward(call);
    };
    runnable.referenceBackward = [variant](const BackwardCall &call) {
      return variant->referenceBackward(call);
    };
  }
  runnable.maskMod = variant->spec->maskMod.expr.get();
  runnable.scoreMod = variant->spec->scoreMod.expr.get();
  std::shared_ptr<const frontend::Spec> spec = variant->spec;
  runnable.locate = [spec](bool inMaskMod, unsigned offset) -> std::string {
    std::string errorMessage;
    std::unique_ptr<MemoryBuffer> file = mlir::openInputFile(specPath, &errorMessage);
    if (!file)
      return "";
    const frontend::SpecExpr &e = inMaskMod ? spec->maskMod : spec->scoreMod;
    auto [line, col] = frontend::JsonSourceMap(file->getBuffer()).lineColumn(e.fileOffset(offset));
    return specPath + ":" + std::to_string(line) + ":" + std::to_string(col);
  };
  runnable.cudaKernel = variant->cudaKernel;
  runnable.threadsLabel = std::to_string(ThreadPool::global().size()) + " threads";
  if (variant->cpuKernel && variant->cpuKernel->layout().bf16Pairs)
    runnable.threadsLabel += ", bf16 pairs (AVX512-BF16)";
  RunOptions options;
  options.randomShape = randomShape;
  options.inputsPath = inputsPath;
  options.outputPath = outputTensors;
  options.benchShape = benchShape;
  options.seed = seed;
  options.scalars = scalarFlags;
  options.buffers = bufferFlags;
  options.check = checkResults;
  options.tolerance = tolerance;
  options.reps = reps;
  options.withReference = withReference;
  options.backward = backwardPass;
  outs().flush();
  auto command = [&] {
    if (benchCmd)
      return backwardPass ? runBackwardBench(runnable, options) : runBench(runnable, options);
    return runCommand(runnable, options);
  };
  if (!profileKernels)
    return command();
  if (target != "cuda-emu")
    return fail("--profile needs --target cuda-emu (it counts what the emulator runs)");
  return withProfile(command);
}

