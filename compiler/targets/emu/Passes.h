//===- Passes.h - the cuda-emu target's passes --------------------*- C++ -*-===//
#ifndef ATTNC_COMPILER_TARGETS_EMU_PASSES_H
#define ATTNC_COMPILER_TARGETS_EMU_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace attnc::emu {

#define GEN_PASS_DECL
#include "compiler/targets/emu/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "compiler/targets/emu/Passes.h.inc"

} // namespace attnc::emu

#endif // ATTNC_COMPILER_TARGETS_EMU_PASSES_H
