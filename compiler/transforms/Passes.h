//===- Passes.h - attnc's target-independent passes ---------------*- C++ -*-===//
#ifndef ATTNC_COMPILER_TRANSFORMS_PASSES_H
#define ATTNC_COMPILER_TRANSFORMS_PASSES_H

#include "dialect/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Pass/Pass.h"

namespace attnc {

#define GEN_PASS_DECL
#include "compiler/transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "compiler/transforms/Passes.h.inc"

} // namespace attnc

#endif // ATTNC_COMPILER_TRANSFORMS_PASSES_H
