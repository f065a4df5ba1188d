//===- PtxPipeline.cpp - the GPU kernel → PTX for NVIDIA GPUs --------------===//
#include "compiler/targets/cuda/PtxPipeline.h"
#include "compiler/targets/cuda/ExternalTool.h"
#include "dialect/AttnOps.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVM.h"
#include "mlir/Conversion/GPUCommon/GPUToLLVM.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVM.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Pipelines/Passes.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/xxhash.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <sstream>

using namespace mlir;

namespace attnc::cuda {

/// Upstream's nvgpu-to-nvvm cannot type a bf16 nvgpu.mma.sync ("failed to deduce
/// operand PTX types"): emit nvvm.mma.sync for those directly, with the registers
/// of the PTX ISA's m16n8k16 .bf16 form (A: 4 x b32, B: 2 x b32, each holding two
/// bf16 in element order; C and D: 4 x f32).
static void lowerBf16MmaSync(ModuleOp module) {
  module.walk([](nvgpu::MmaSyncOp op) {
    auto aType = op.getMatrixA().getType();
    if (!aType.getElementType().isBF16())
      return;
    OpBuilder b(op);
    Location loc = op.getLoc();
    auto packed = [&](Value v, int64_t rows) {
      SmallVector<Value> regs;
      for (int64_t r = 0; r < rows; ++r) {
        Value row = vector::ExtractOp::create(b, loc, v, ArrayRef<int64_t>{r});
        Value bits = vector::BitCastOp::create(
            b, loc, VectorType::get({1}, b.getI32Type()), row);
        regs.push_back(vector::ExtractOp::create(b, loc, bits, ArrayRef<int64_t>{0}));
      }
      return regs;
    };
    SmallVector<Value> a = packed(op.getMatrixA(), 4), bm = packed(op.getMatrixB(), 2), c;
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 2; ++j)
        c.push_back(vector::ExtractOp::create(b, loc, op.getMatrixC(), ArrayRef<int64_t>{i, j}));
    Type f32 = b.getF32Type();
    auto resultType = LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
    auto mma = NVVM::MmaOp::create(
        b, loc, resultType, a, bm, c, ArrayRef<int64_t>{16, 8, 16}, std::nullopt, std::nullopt,
        std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16, NVVM::MMATypes::bf16},
        std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row, NVVM::MMALayout::col});
    SmallVector<Value> d;
    for (int64_t i = 0; i < 4; ++i)
      d.push_back(LLVM::ExtractValueOp::create(b, loc, mma, ArrayRef<int64_t>{i}));
    Value result = vector::FromElementsOp::create(b, loc, op.getRes().getType(), d);
    op.getRes().replaceAllUsesWith(result);
    op.erase();
  });
}

bool isSupportedChip(const std::string &chip) { return chip == "sm_80" || chip == "sm_90a"; }

namespace {

/// Registers what the NVVM pipeline and the translation of its result need.
void registerNvvmLowering(MLIRContext *ctx) {
  DialectRegistry registry;
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
  gpu::registerOffloadingLLVMTranslationInterfaceExternalModels(registry);
  registerNVVMDialectTranslation(registry);
  // The NVVM pipeline converts every dialect through its ConvertToLLVM interface.
  arith::registerConvertArithToLLVMInterface(registry);
  cf::registerConvertControlFlowToLLVMInterface(registry);
  registerConvertFuncToLLVMInterface(registry);
  gpu::registerConvertGpuToLLVMInterface(registry);
  index::registerConvertIndexToLLVMInterface(registry);
  registerConvertMathToLLVMInterface(registry);
  registerConvertMemRefToLLVMInterface(registry);
  registerConvertNVVMToLLVMInterface(registry);
  ub::registerConvertUBToLLVMInterface(registry);
  vector::registerConvertVectorToLLVMInterface(registry);
  ctx->appendDialectRegistry(registry);
  ctx->loadDialect<NVVM::NVVMDialect>();
}

/// Collects diagnostics as "LOCATION: MESSAGE" lines.
struct DiagnosticText {
  explicit DiagnosticText(MLIRContext *ctx)
      : handler(ctx, [this](Diagnostic &d) {
          llvm::raw_string_ostream os(text);
          os << d.getLocation() << ": " << d.str() << "\n";
          return success();
        }) {}
  std::string text;
  ScopedDiagnosticHandler handler;
};

/// What the outlined kernel is launched with.
struct OutlinedKernel {
  int64_t threads = 0;      ///< per block
  bool tensorCores = false; ///< it uses mma.sync
};

/// Outlines the gpu.launch of @X_gpu into a gpu.module and sets the kernel's
/// attributes for the NVVM lowering.
Result<OutlinedKernel> outline(ModuleOp module, DiagnosticText &diagnostics) {
  PassManager pm(module.getContext());
  pm.addPass(createGpuKernelOutliningPass());
  if (failed(pm.run(module)))
    return Status::error("outlining the GPU kernel failed: " + diagnostics.text);
  OutlinedKernel kernel;
  module.walk([&](gpu::GPUFuncOp fn) {
    Builder b(fn.getContext());
    if (std::optional<llvm::ArrayRef<int32_t>> block = fn.getKnownBlockSize())
      kernel.threads = int64_t((*block)[0]) * (*block)[1] * (*block)[2];
    // Workgroup buffers 16-byte aligned: ldmatrix rows and cp.async chunks are 16
    // bytes (the lowering would otherwise declare them .align 2).
    for (unsigned i = 0; i < fn.getNumWorkgroupAttributions(); ++i)
      fn.setWorkgroupAttributionAttr(i, LLVM::LLVMDialect::getAlignAttrName(),
                                     b.getI64IntegerAttr(16));
    fn.walk([&](nvgpu::MmaSyncOp) { kernel.tensorCores = true; });
    // Tensor-core blocks of 8 warps (128-row tiles) are asked to fit twice per
    // SM: ptxas then keeps them within 128 registers, the 25% occupancy that 4-warp
    // blocks of 128 registers have (it would otherwise take 129 on sm_90a and fit
    // one block).
    if (kernel.threads >= 256 && kernel.threads <= 512 && fn.isKernel() && kernel.tensorCores)
      fn->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                  b.getI32IntegerAttr(int32_t(512 / kernel.threads)));
  });
  return kernel;
}

/// The CUDA toolkit the NVVM target links libdevice from: $CUDA_ROOT, $CUDA_HOME or
/// $CUDA_PATH (the first set, as upstream looks them up), else /usr/local/cuda,
/// which is then set as CUDA_HOME for the NVVM target.
std::string cudaToolkitForLibdevice() {
  for (const char *var : {"CUDA_ROOT", "CUDA_HOME", "CUDA_PATH"})
    if (const char *dir = std::getenv(var); dir && *dir)
      return dir;
  if (llvm::sys::fs::exists("/usr/local/cuda/nvvm/libdevice/libdevice.10.bc"))
    setenv("CUDA_HOME", "/usr/local/cuda", /*overwrite=*/0);
  return "/usr/local/cuda";
}

/// What identifies the libdevice a kernel is linked with, for the cache key: its
/// path and a hash of its bytes ("none" when there is no file).
std::string libdeviceIdentity() {
  std::string path = cudaToolkitForLibdevice() + "/nvvm/libdevice/libdevice.10.bc";
  static std::mutex mutex;
  static std::map<std::string, std::string> known;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = known.find(path); it != known.end())
    return it->second;
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
  std::string id = path + (buffer ? " " + llvm::utohexstr(llvm::xxh3_64bits(
                                              llvm::arrayRefFromStringRef((*buffer)->getBuffer())))
                                  : " none");
  return known[path] = id;
}

/// An error when `ptx` declares functions it does not define (`.extern .func`): the
/// math functions of libdevice when it was not found. Such PTX cannot be loaded.
Status checkResolved(const std::string &ptx) {
  std::regex externFunc(R"(\.extern\s+\.func\s*(\([^)]*\))?\s*([A-Za-z_$][\w$]*))");
  std::string names;
  for (auto it = std::sregex_iterator(ptx.begin(), ptx.end(), externFunc);
       it != std::sregex_iterator(); ++it)
    names += (names.empty() ? "" : ", ") + (*it)[2].str();
  if (names.empty())
    return Status::ok();
  return Status::error("the GPU kernel calls " + names + ", which libdevice (the CUDA "
                       "toolkit's math library) should define, but it was not found at " +
                       cudaToolkitForLibdevice() +
                       "/nvvm/libdevice/libdevice.10.bc: set CUDA_HOME to a CUDA toolkit");
}

/// f32 math.exp2 as one `ex2.approx.ftz.f32` (a single MUFU.EX2). libdevice's
/// __nv_exp2f is ex2.approx without .ftz, which ptxas surrounds with a compare and
/// two multiplies to keep denormal results; the softmax's probabilities lose
/// nothing by flushing values below 2^-126 to zero. A spec's own exp2 takes the
/// same instruction (the same ex2.approx accuracy, denormal results flushed).
static void lowerExp2ToApproxFtz(ModuleOp module) {
  module.walk([](math::Exp2Op op) {
    if (!op.getType().isF32())
      return;
    OpBuilder b(op);
    auto ex2 = LLVM::CallIntrinsicOp::create(b, op.getLoc(), op.getType(),
                                             b.getStringAttr("llvm.nvvm.ex2.approx.ftz.f32"),
                                             ValueRange{op.getOperand()});
    op.replaceAllUsesWith(ex2.getResults());
    op.erase();
  });
}

/// f32 divisions cheaper than div.rn's ~8 instructions and slow-path branch per
/// element:
/// - by a constant c, a multiplication by 1/c (when 1/c is a normal number): one
///   FMUL (a score_mod such as soft-capping's score / cap). The product may differ
///   from the quotient in the last bit (a relative 6e-8).
/// - 1 / y marked `afn` (approximate functions allowed; only the compiler's own
///   expansions, such as GpuTanh.cpp's, mark it: the expression language cannot),
///   rcp.approx.ftz: one MUFU.RCP, within 2^-23 relative.
static void lowerDivisions(ModuleOp module) {
  module.walk([](arith::DivFOp op) {
    if (!op.getType().isF32())
      return;
    OpBuilder b(op);
    FloatAttr value;
    if (bitEnumContainsAll(op.getFastmath(), arith::FastMathFlags::afn) &&
        matchPattern(op.getLhs(), m_Constant(&value)) && value.getValue().isExactlyValue(1.0)) {
      auto rcp = LLVM::CallIntrinsicOp::create(b, op.getLoc(), op.getType(),
                                               b.getStringAttr("llvm.nvvm.rcp.approx.ftz.f"),
                                               ValueRange{op.getRhs()});
      op.replaceAllUsesWith(rcp.getResults());
      op.erase();
      return;
    }
    if (!matchPattern(op.getRhs(), m_Constant(&value)))
      return;
    llvm::APFloat reciprocal(1.0f);
    reciprocal.divide(value.getValue(), llvm::APFloat::rmNearestTiesToEven);
    if (!reciprocal.isNormal())
      return;
    Value factor = arith::ConstantOp::create(b, op.getLoc(), b.getF32FloatAttr(
                                                                  reciprocal.convertToFloat()));
    op.replaceAllUsesWith(
        arith::MulFOp::create(b, op.getLoc(), op.getLhs(), factor).getResult());
    op.erase();
  });
}

/// Upstream's gpu-lower-to-nvvm-pipeline for `chip`, kernels serialised as PTX.
Status runNvvmPipeline(ModuleOp module, const std::string &chip, DiagnosticText &diagnostics) {
  lowerBf16MmaSync(module);
  lowerExp2ToApproxFtz(module);
  lowerDivisions(module);
  // Math functions (exp, log, tanh...) become libdevice calls, which the NVVM target
  // links from the CUDA toolkit it finds through CUDA_HOME and friends.
  cudaToolkitForLibdevice();
  PassManager pm(module.getContext());
  gpu::GPUToNVVMPipelineOptions options;
  options.cubinChip = chip;
  options.cubinFeatures = chip == "sm_90a" ? "+ptx80" : "+ptx70";
  options.cubinFormat = "isa";
  gpu::buildLowerToNVVMPassPipeline(pm, options);
  if (failed(pm.run(module)))
    return Status::error("lowering the GPU kernel to PTX failed: " + diagnostics.text);
  return Status::ok();
}

/// The PTX of `kernels` (a module holding only gpu.modules; consumed).
Result<std::string> compileKernels(ModuleOp kernels, const std::string &chip,
                                   DiagnosticText &diagnostics) {
  if (Status s = runNvvmPipeline(kernels, chip, diagnostics); !s)
    return s;
  std::string ptx;
  kernels.walk([&](gpu::BinaryOp binary) {
    for (Attribute a : binary.getObjects())
      if (auto object = dyn_cast<gpu::ObjectAttr>(a))
        ptx += object.getObject().getValue().str();
  });
  if (ptx.empty())
    return Status::error("the NVVM pipeline produced no PTX");
  if (Status s = checkResolved(ptx); !s)
    return s; // never cached
  return ptx;
}

/// compileKernels through `cache`, keyed by the kernels' IR and the chip.
Result<std::string> cachedPtx(ModuleOp kernels, const std::string &chip,
                              const ArtifactCache &cache, DiagnosticText &diagnostics) {
  if (!cache)
    return compileKernels(kernels, chip, diagnostics);
  std::string ir;
  llvm::raw_string_ostream os(ir);
  kernels.print(os);
  // What this file does to the IR beyond upstream's pipeline (the bf16 mma.sync
  // lowering) is not in the key's IR: its revision is, bump it with any change. The
  // libdevice linked in is (its path and content), and so is the pipeline's feature.
  return cache(ir,
               "ptx chip=" + chip + " features=" + (chip == "sm_90a" ? "+ptx80" : "+ptx70") +
                   " attnc-nvvm=5 libdevice=" + libdeviceIdentity(),
               "ptx",
               [&] { return compileKernels(kernels, chip, diagnostics); });
}

} // namespace

Result<PtxKernel> lowerToPtx(ModuleOp module, const std::string &chip,
                             const ArtifactCache &cache) {
  if (!isSupportedChip(chip))
    return Status::error("unsupported chip '" + chip + "' (expected sm_80 or sm_90a)");
  registerNvvmLowering(module.getContext());
  DiagnosticText diagnostics(module.getContext());
  Result<OutlinedKernel> kernel = outline(module, diagnostics);
  if (!kernel)
    return kernel.status();
  auto variants = module.getOps<attn::VariantOp>();
  if (variants.empty())
    return Status::error("no attn.variant beside the GPU kernel");
  Result<GpuLaunchDesc> launch = describeLaunch(module, (*variants.begin()).getHeadsQ(),
                                                 (*variants.begin()).getHeadsKv());
  if (!launch)
    return launch.status();
  // Keep only the kernels: the runtime launches them itself (GpuLaunch.h).
  for (Operation &op : llvm::make_early_inc_range(module.getBody()->getOperations()))
    if (!isa<gpu::GPUModuleOp>(op))
      op.erase();
  Result<std::string> ptx = cachedPtx(module, chip, cache, diagnostics);
  if (!ptx)
    return ptx.status();
  PtxKernel result;
  result.threadsPerBlock = kernel->threads;
  result.tensorCores = kernel->tensorCores;
  result.launch = launch.take();
  result.ptx = ptx.take();
  return result;
}

std::string findPtxas() {
  if (llvm::sys::fs::can_execute("/usr/local/cuda/bin/ptxas"))
    return "/usr/local/cuda/bin/ptxas";
  if (auto path = llvm::sys::findProgramByName("ptxas"))
    return *path;
  return "";
}

std::string occupancy(const std::string &chip, int64_t registers, int64_t sharedBytes,
                      int64_t threadsPerBlock) {
  // Per SM on sm_80 and sm_90: 64K registers (allocated per warp in units of 256),
  // 2048 threads (64 warps), 32 blocks; 164 KiB (sm_80) or 228 KiB (sm_90) of shared
  // memory, of which each block also reserves 1 KiB.
  int64_t warps = (threadsPerBlock + 31) / 32;
  int64_t regsPerWarp = (registers * 32 + 255) / 256 * 256;
  int64_t byRegs = regsPerWarp ? 65536 / (regsPerWarp * warps) : 32;
  int64_t smemPerSm = chip == "sm_90a" ? 228 * 1024 : 164 * 1024;
  int64_t bySmem = smemPerSm / (sharedBytes + 1024);
  int64_t blocks = std::min({byRegs, bySmem, int64_t(64) / warps, int64_t(32)});
  const char *limit = blocks == byRegs ? "registers" : blocks == bySmem ? "shared memory"
                                                                        : "threads";
  return std::to_string(blocks * warps * 100 / 64) + "% occupancy (" +
         std::to_string(blocks) + " blocks of " + std::to_string(threadsPerBlock) +
         " threads per SM, limited by " + limit + ")";
}

Result<std::string> ptxasReport(const std::string &ptx, const std::string &chip,
                                int64_t threadsPerBlock, const std::string &cubinPath,
                                int64_t dynamicSharedBytes) {
  std::string ptxas = findPtxas();
  if (ptxas.empty())
    return Status::error("ptxas not found (install the CUDA toolkit for cubins and "
                         "--report)");
  llvm::SmallString<128> outFile;
  llvm::sys::fs::createTemporaryFile("attnc", "cubin", outFile);
  std::string output = cubinPath.empty() ? std::string(outFile) : cubinPath;
  Result<std::string> printed =
      runOnFile(ptxas, {"-v", "-arch", chip, "{input}", "-o", output}, ptx, "ptx");
  llvm::sys::fs::remove(outFile);
  if (!printed)
    return printed.status();
  std::stringstream log(printed.take());
  // "Compiling entry function 'k' for 'sm_80'", then "Used N registers, ... smem".
  std::string report, kernel, line;
  std::regex entry("Compiling entry function '([^']+)'"),
      spills("(\\d+) bytes stack frame, (\\d+) bytes spill stores, (\\d+) bytes spill loads"),
      used("Used (\\d+) registers(.*)");
  std::smatch m;
  std::string frame;
  while (std::getline(log, line)) {
    if (std::regex_search(line, m, entry))
      kernel = m[1];
    else if (std::regex_search(line, m, spills))
      frame = std::string(m[1]) + " B stack, " + std::string(m[2]) + " B spill stores, " +
              std::string(m[3]) + " B spill loads";
    else if (std::regex_search(line, m, used)) {
      std::smatch sm;
      std::string rest = m[2];
      int64_t smem = std::regex_search(rest, sm, std::regex("(\\d+) bytes smem"))
                         ? std::stoll(sm[1])
                         : 0;
      smem += dynamicSharedBytes;
      report += kernel + " (" + chip + "): " + std::string(m[1]) + " registers, " + frame +
                ", " + std::to_string(smem) + " B shared memory" +
                (dynamicSharedBytes ? " (" + std::to_string(dynamicSharedBytes) + " B dynamic)"
                                    : "") +
                ", " +
                occupancy(chip, std::stoll(m[1]), smem, threadsPerBlock) + "\n";
    }
  }
  return report;
}

} // namespace attnc::cuda

namespace attnc::cuda {

Result<std::string> assembleCubin(const std::string &ptx, const std::string &chip) {
  llvm::SmallString<128> cubinFile;
  if (llvm::sys::fs::createTemporaryFile("attnc", "cubin", cubinFile))
    return Status::error("cannot create a temporary file for the cubin");
  Result<std::string> report = ptxasReport(ptx, chip, /*threadsPerBlock=*/32, std::string(cubinFile));
  if (!report) {
    llvm::sys::fs::remove(cubinFile);
    return report.status();
  }
  std::ifstream in(cubinFile.c_str(), std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  llvm::sys::fs::remove(cubinFile);
  if (bytes.str().empty())
    return Status::error("ptxas produced no cubin");
  return bytes.str();
}

} // namespace attnc::cuda
