//===- Pipeline.cpp - pass pipelines and LLVM code generation, shared ------===//
#include "compiler/pipeline/Pipeline.h"
#include "compiler/transforms/Passes.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/TargetSelect.h"

using namespace mlir;

namespace attnc {

void buildFlashPipeline(OpPassManager &pm, const KernelTileOptions &options) {
  pm.addPass(createAttnSimplify());
  AttnTileFlashOptions tile;
  tile.blockQ = options.blockQ;
  tile.blockKV = options.blockKV;
  pm.addPass(createAttnTileFlash(tile));
}

void buildFlashBackwardPipeline(OpPassManager &pm, const KernelTileOptions &options,
                                int64_t keyTilesPerPass) {
  pm.addPass(createAttnDifferentiateScoreMod());
  pm.addPass(createAttnSimplify());
  AttnTileFlashBackwardOptions tile;
  tile.blockQ = options.blockQ;
  tile.blockKV = options.blockKV;
  tile.keyTilesPerPass = keyTilesPerPass;
  pm.addPass(createAttnTileFlashBackward(tile));
}

LogicalResult runPipeline(ModuleOp module,
                          const std::function<void(OpPassManager &)> &build) {
  PassManager pm(module.getContext());
  build(pm);
  return pm.run(module);
}

static void initializeLLVM() {
  static bool done = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)done;
}

static void registerTranslations(MLIRContext *ctx) {
  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  ctx->appendDialectRegistry(registry);
}

std::unique_ptr<llvm::Module> translateToLLVMIR(ModuleOp module,
                                               llvm::LLVMContext &llvmContext) {
  initializeLLVM();
  registerTranslations(module.getContext());
  return translateModuleToLLVMIR(module, llvmContext);
}

LogicalResult printLLVMIR(ModuleOp module, llvm::raw_ostream &os) {
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule = translateToLLVMIR(module, llvmContext);
  if (!llvmModule)
    return module.emitError("translation to LLVM IR failed");
  auto tmBuilder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (tmBuilder) {
    auto tm = tmBuilder->createTargetMachine();
    if (tm) {
      ExecutionEngine::setupTargetTripleAndDataLayout(llvmModule.get(), tm->get());
      auto transformer = makeOptimizingTransformer(3, 0, tm->get());
      if (llvm::Error err = transformer(llvmModule.get()))
        llvm::consumeError(std::move(err));
    } else {
      llvm::consumeError(tm.takeError());
    }
  } else {
    llvm::consumeError(tmBuilder.takeError());
  }
  llvmModule->print(os, nullptr);
  return success();
}

/// compiler-rt's f32 -> bf16 conversion (round to nearest even, NaN kept quiet):
/// LLVM 22.1.8's x86 backend calls it for scalar conversions without AVX512-BF16,
/// and the process has GCC 12's libgcc, which lacks it. Given to every JIT.
static __bf16 truncateToBf16(float x) {
  uint32_t bits = __builtin_bit_cast(uint32_t, x);
  uint16_t out = (bits & 0x7fffffffu) > 0x7f800000u
                     ? uint16_t((bits >> 16) | 0x40u)
                     : uint16_t((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
  return __builtin_bit_cast(__bf16, out);
}

/// Defines the runtime-library functions generated code may call that the
/// process does not.
static void registerBuiltins(ExecutionEngine &engine) {
  engine.registerSymbols([](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap symbols;
    symbols[interner("__truncsfbf2")] = {llvm::orc::ExecutorAddr::fromPtr(&truncateToBf16),
                                         llvm::JITSymbolFlags::Exported};
    return symbols;
  });
}

std::unique_ptr<ExecutionEngine> jitCompile(ModuleOp module, std::string &error,
                                            bool enableObjectDump,
                                            llvm::ArrayRef<llvm::StringRef> sharedLibs,
                                            unsigned optLevel) {
  optLevel = std::min(optLevel, 3u);
  llvm::CodeGenOptLevel codeGenLevel =
      optLevel == 0   ? llvm::CodeGenOptLevel::None
      : optLevel == 1 ? llvm::CodeGenOptLevel::Less
      : optLevel == 2 ? llvm::CodeGenOptLevel::Default
                      : llvm::CodeGenOptLevel::Aggressive;
  initializeLLVM();
  registerTranslations(module.getContext());
  auto tmBuilder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!tmBuilder) {
    error = llvm::toString(tmBuilder.takeError());
    return nullptr;
  }
  tmBuilder->setCodeGenOptLevel(codeGenLevel);
  auto tm = tmBuilder->createTargetMachine();
  if (!tm) {
    error = llvm::toString(tm.takeError());
    return nullptr;
  }
  ExecutionEngineOptions options;
  // options.transformer is a function_ref: the function must outlive create().
  std::function<llvm::Error(llvm::Module *)> transformer =
      makeOptimizingTransformer(optLevel, 0, tm->get());
  options.transformer = transformer;
  options.jitCodeGenOptLevel = codeGenLevel;
  options.sharedLibPaths = sharedLibs;
  // No GDB/perf JIT registration: attnc kernels are not debugged through them, and
  // registering every compiled variant costs time.
  options.enableGDBNotificationListener = false;
  options.enableObjectDump = enableObjectDump;
  options.enablePerfNotificationListener = false;
  auto engine = ExecutionEngine::create(module, options, std::move(*tm));
  if (!engine) {
    error = llvm::toString(engine.takeError());
    return nullptr;
  }
  registerBuiltins(**engine);
  return std::move(*engine);
}

} // namespace attnc
