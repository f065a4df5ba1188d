//===- attn-emu-runner.cpp - run MLIR GPU programs on the CPU ---------------===//
//
// `mlir-runner` for GPU programs without a GPU: takes a module at the gpu/nvgpu level
// (host code with gpu.launch or gpu.launch_func, kernels with gpu, nvgpu, vector,
// memref, scf, cf... operations, before any NVVM conversion), lowers it for the
// cuda-emu SIMT emulator, JIT-compiles it for this CPU and runs the entry point.
// Every kernel runs with the emulator's checks on (data races on workgroup memory,
// out-of-bounds accesses, divergent barriers, incomplete warp collectives, missing
// cp.async waits); each error found is printed as `error: LOCATION: ...` and makes
// the runner exit with status 1. Flags follow mlir-runner's.
//
//===----------------------------------------------------------------------===//
#include "compiler/targets/emu/EmuProgram.h"
#include "compiler/targets/emu/Passes.h"
#include "runtime/emu/EmuHost.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Async/IR/Async.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Index/IR/IndexDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>

using namespace llvm;

namespace {

cl::opt<std::string> inputFilename(cl::Positional, cl::desc("<input file>"), cl::init("-"));
cl::opt<std::string> entryPoint("e", cl::desc("The function to run"), cl::init("main"),
                                cl::value_desc("name"));
cl::opt<std::string> entryPointResult(
    "entry-point-result",
    cl::desc("Result type of the entry point: void, i32, i64 or f32 (as in mlir-runner)"),
    cl::init("f32"), cl::value_desc("type"));
cl::list<std::string> sharedLibs("shared-libs", cl::desc("Libraries to link dynamically"),
                                 cl::CommaSeparated, cl::value_desc("path,..."));
cl::opt<bool> optO0("O0", cl::desc("Run opt passes and codegen at O0"));
cl::opt<bool> optO1("O1", cl::desc("Run opt passes and codegen at O1"));
cl::opt<bool> optO2("O2", cl::desc("Run opt passes and codegen at O2"));
cl::opt<bool> optO3("O3", cl::desc("Run opt passes and codegen at O3"));

int fail(const std::string &message) {
  std::fflush(stdout);
  llvm::errs() << "error: " << message << "\n";
  return 1;
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(
      argc, argv,
      "attn-emu-runner: run an MLIR GPU program (gpu/nvgpu level) on the CPU under the "
      "cuda-emu SIMT emulator, with its race, bounds and synchronisation checks on\n");

  attnc::emu::EntryResult result;
  if (entryPointResult == "void")
    result = attnc::emu::EntryResult::Void;
  else if (entryPointResult == "i32")
    result = attnc::emu::EntryResult::I32;
  else if (entryPointResult == "i64")
    result = attnc::emu::EntryResult::I64;
  else if (entryPointResult == "f32")
    result = attnc::emu::EntryResult::F32;
  else
    return fail("--entry-point-result must be void, i32, i64 or f32, got '" +
                entryPointResult + "'");

  attnc::emu::ProgramOptions options;
  options.optLevel = optO0 ? 0 : optO1 ? 1 : optO2 ? 2 : 3;
  // memref.copy of non-contiguous memrefs calls memrefCopy from the C runner utils;
  options.sharedLibs.push_back(ATTNC_MLIR_LIB_DIR "/libmlir_c_runner_utils.so");
  // async.execute and friends call the MLIR async runtime.
  options.sharedLibs.push_back(ATTNC_MLIR_LIB_DIR "/libmlir_async_runtime.so");
  for (const std::string &lib : sharedLibs) {
    if (!llvm::sys::fs::exists(lib))
      return fail("shared library '" + lib + "' not found");
    options.sharedLibs.push_back(lib);
  }

  mlir::DialectRegistry registry;
  registry.insert<mlir::affine::AffineDialect, mlir::arith::ArithDialect, mlir::async::AsyncDialect,
                  mlir::bufferization::BufferizationDialect, mlir::cf::ControlFlowDialect,
                  mlir::func::FuncDialect, mlir::gpu::GPUDialect, mlir::index::IndexDialect,
                  mlir::LLVM::LLVMDialect, mlir::NVVM::NVVMDialect, mlir::linalg::LinalgDialect,
                  mlir::math::MathDialect, mlir::memref::MemRefDialect,
                  mlir::nvgpu::NVGPUDialect, mlir::scf::SCFDialect, mlir::tensor::TensorDialect,
                  mlir::ub::UBDialect, mlir::vector::VectorDialect>();
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();

  std::string error;
  auto file = mlir::openInputFile(inputFilename, &error);
  if (!file)
    return fail(error);
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  mlir::SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceFile<mlir::ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1; // the parser has reported the error with its location

  auto program = attnc::emu::EmuProgram::compile(module.get(), entryPoint, result, options);
  if (!program)
    return fail(program.status().message());
  if (attnc::Status s = (*program)->run(); !s)
    return fail(s.message());
  if (int64_t failed = attnc::emu::failedLaunches())
    return fail(std::to_string(failed) + " kernel launch" + (failed == 1 ? "" : "es") +
                " failed under cuda-emu");
  return 0;
}
