//===- EmuBuilder.h - emitting calls into the cuda-emu runtime ----*- C++ -*-===//
//
// Shared by the two cuda-emu lowerings (kernels: attn-gpu-to-emu; host code:
// attn-gpu-host-to-emu): declares runtime functions on demand, emits calls with i64
// constants, computes element addresses, and keeps the module's table of source
// locations (`attn.emu.locations`, an array of strings) that runtime diagnostics refer
// to by index. The table is read when the builder is made and written by save(), so
// both passes append to one table.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGETS_EMU_EMUBUILDER_H
#define ATTNC_COMPILER_TARGETS_EMU_EMUBUILDER_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringMap.h"

#include <string>
#include <vector>

namespace attnc::emu {

class EmuBuilder {
public:
  EmuBuilder(mlir::ModuleOp module, mlir::OpBuilder &b);

  /// An i64 constant holding the index of `loc` in the location table.
  mlir::Value locIndex(mlir::Location loc);
  /// The same for an access site of shared memory: an index of its own, even when
  /// another operation has the same location (the profile groups a warp's accesses
  /// by site, runtime/emu/KernelProfile.h).
  mlir::Value siteIndex(mlir::Location loc);
  /// Calls runtime function `name` (declared privately on first use).
  mlir::Value call(mlir::Location loc, llvm::StringRef name, mlir::TypeRange results,
                   mlir::ValueRange args, bool cInterface = false);
  mlir::Value i64(mlir::Location loc, int64_t v);
  /// `v` (index or any integer) as i64.
  mlir::Value toI64(mlir::Location loc, mlir::Value v);
  /// The address (i64) of element `indices` of `memref`.
  mlir::Value elementAddress(mlir::Location loc, mlir::Value memref, mlir::ValueRange indices);
  /// The address (i64) of the first element of `memref`'s aligned buffer.
  mlir::Value baseAddress(mlir::Location loc, mlir::Value memref);
  /// A stack buffer of `count` elements, filled with `vector` (flattened) if given,
  /// and its address (i64).
  std::pair<mlir::Value, mlir::Value> spill(mlir::Location loc, mlir::Type elementType,
                                            int64_t count, mlir::Value vector = {});
  /// The contents of a spill buffer as a vector of type `result`.
  mlir::Value reload(mlir::Location loc, mlir::Value buffer, mlir::VectorType result);
  /// Writes the location table back to the module.
  void save();

  mlir::OpBuilder &b;

private:
  /// The index of `loc`'s text in the table (a new entry when `fresh`).
  int64_t locationEntry(mlir::Location loc, bool fresh);
  mlir::ModuleOp module;
  llvm::StringMap<size_t> locations;
  std::vector<std::string> locationList;
};

} // namespace attnc::emu

#endif // ATTNC_COMPILER_TARGETS_EMU_EMUBUILDER_H
