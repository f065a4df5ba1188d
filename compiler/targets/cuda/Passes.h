//===- Passes.h - the CUDA target's passes -------------------------*- C++ -*-===//
#ifndef ATTNC_COMPILER_TARGETS_CUDA_PASSES_H
#define ATTNC_COMPILER_TARGETS_CUDA_PASSES_H

#include "dialect/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Pass/Pass.h"

namespace attnc::cuda {

/// The unit attribute attn-lower-flash-to-gpu puts on a backward kernel's host
/// function (`@X_backward_gpu`): its launch grid is (splits, H_KV, B).
constexpr const char *kBackwardKernelAttr = "attnc.backward_kernel";

#define GEN_PASS_DECL
#include "compiler/targets/cuda/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "compiler/targets/cuda/Passes.h.inc"

} // namespace attnc::cuda

#endif // ATTNC_COMPILER_TARGETS_CUDA_PASSES_H
