//===- attn-opt.cpp - the attnc optimizer driver --------------------------===//
//
// `mlir-opt` for attnc: every attnc dialect and pass, plus the upstream dialects and
// generic passes (canonicalize, cse, ...) that attnc's pipelines use. Lit tests drive
// the compiler through this tool.
//
//===----------------------------------------------------------------------===//
#include "compiler/targets/cpu/Passes.h"
#include "compiler/targets/cuda/Passes.h"
#include "compiler/targets/emu/Passes.h"
#include "compiler/transforms/Passes.h"
#include "dialect/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<attnc::attn::AttnDialect, mlir::arith::ArithDialect,
                  mlir::func::FuncDialect, mlir::math::MathDialect, mlir::memref::MemRefDialect,
                  mlir::scf::SCFDialect, mlir::tensor::TensorDialect,
                  mlir::vector::VectorDialect, mlir::gpu::GPUDialect,
                  mlir::nvgpu::NVGPUDialect, mlir::cf::ControlFlowDialect>();
  mlir::registerTransformsPasses();
  attnc::registerAttnPasses();
  attnc::cpu::registerAttnCpuPasses();
  attnc::emu::registerAttnEmuPasses();
  attnc::cuda::registerAttnCudaPasses();
  mlir::registerGPUPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "attnc optimizer driver\n", registry));
}
