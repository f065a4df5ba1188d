//===- PassFuzzer.cpp - libFuzzer target for attn-opt's CPU passes ---------===//
//
// Feeds arbitrary bytes to the MLIR parser with the dialects attn-opt registers; a
// module that parses and verifies (attn form or flash form, as in the lit tests) is
// cloned and run through the CPU target's attn passes in the compiler's order
// (compiler/targets/cpu/CpuPipeline.cpp) up to, not including, the conversion to
// LLVM: attn-simplify, attn-tile-flash, attn-lower-flash-to-cpu, canonicalize, cse,
// attn-cpu-math-approx. The result, when the pipeline succeeds, is printed (to
// nowhere) so the custom printers see what the passes build. Verifier and pass
// failures are expected and discarded; the parser, verifiers and passes must never
// crash, hang or leak, whatever the input. The attn dialect and the attn and CPU
// pass sources are compiled into this target with coverage and AddressSanitizer
// instrumentation; MLIR and LLVM themselves are not instrumented.
//
//===----------------------------------------------------------------------===//
#include "compiler/targets/cpu/Passes.h"
#include "compiler/transforms/Passes.h"
#include "dialect/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/raw_ostream.h"

#include <cstddef>
#include <cstdint>
#include <string>

using namespace mlir;

/// The one context of the run: attn-opt's dialects, no threads, and a diagnostic
/// handler that discards everything. It is reused by every input (creating one per
/// input would dominate the run), so the attributes and types the inputs intern
/// accumulate in it; they stay reachable, so they are not leaks.
static MLIRContext &context() {
  static MLIRContext *ctx = [] {
    DialectRegistry registry;
    registry.insert<attnc::attn::AttnDialect, arith::ArithDialect, func::FuncDialect,
                    math::MathDialect, memref::MemRefDialect, scf::SCFDialect,
                    tensor::TensorDialect, vector::VectorDialect, gpu::GPUDialect,
                    nvgpu::NVGPUDialect, cf::ControlFlowDialect>();
    auto *c = new MLIRContext(registry, MLIRContext::Threading::DISABLED);
    c->getDiagEngine().registerHandler([](Diagnostic &) {});
    return c;
  }();
  return *ctx;
}

/// The CPU target's passes before the LLVM conversions: attnc::buildFlashPipeline
/// with the default tiles, then the head of cpu::buildCpuToLLVMPipeline through the
/// last attn pass. Built once; running a PassManager again is allowed.
static PassManager &pipeline() {
  static PassManager *pm = [] {
    auto *p = new PassManager(&context());
    p->addPass(attnc::createAttnSimplify());
    p->addPass(attnc::createAttnTileFlash());
    p->addPass(attnc::cpu::createAttnLowerFlashToCpu());
    p->addPass(createCanonicalizerPass());
    p->addPass(createCSEPass());
    p->addPass(attnc::cpu::createAttnCpuMathApprox());
    return p;
  }();
  return *pm;
}

/// Registers the passes as attn-opt does (the target-independent, CPU and generic
/// MLIR passes; the GPU targets' passes are not in this pipeline, and their
/// libraries would bring a second, uninstrumented copy of the passes compiled here).
extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  registerTransformsPasses();
  attnc::registerAttnPasses();
  attnc::cpu::registerAttnCpuPasses();
  (void)pipeline();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // A std::string, so the buffer the lexer reads ends with a NUL.
  std::string text(reinterpret_cast<const char *>(data), size);
  ParserConfig config(&context());
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, config, "fuzz.mlir");
  if (!module)
    return 0;
  OwningOpRef<ModuleOp> copy = module->clone();
  if (succeeded(pipeline().run(*copy))) {
    llvm::raw_null_ostream os;
    copy->print(os);
  }
  return 0;
}
