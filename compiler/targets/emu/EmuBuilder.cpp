//===- EmuBuilder.cpp - emitting calls into the cuda-emu runtime -----------===//
#include "compiler/targets/emu/EmuBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace attnc::emu {

static constexpr llvm::StringLiteral kLocationsAttr = "attn.emu.locations";

EmuBuilder::EmuBuilder(ModuleOp module, OpBuilder &b) : b(b), module(module) {
  if (auto names = module->getAttrOfType<ArrayAttr>(kLocationsAttr))
    for (Attribute a : names) {
      std::string text = cast<StringAttr>(a).str();
      locations.try_emplace(text, locationList.size());
      locationList.push_back(text);
    }
}

Value EmuBuilder::locIndex(Location loc) { return i64(loc, locationEntry(loc, false)); }

Value EmuBuilder::siteIndex(Location loc) { return i64(loc, locationEntry(loc, true)); }

int64_t EmuBuilder::locationEntry(Location loc, bool fresh) {
  std::string text;
  llvm::raw_string_ostream os(text);
  // Kernels outlined from gpu.launch carry fused or call-site locations: use the
  // innermost file location when there is one.
  FileLineColLoc fileLoc;
  loc->walk([&](Location inner) {
    if (auto f = dyn_cast<FileLineColLoc>(inner)) {
      fileLoc = f;
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (fileLoc)
    os << fileLoc.getFilename().getValue() << ":" << fileLoc.getLine() << ":"
       << fileLoc.getColumn();
  else
    loc.print(os);
  if (fresh) {
    locationList.push_back(text);
    return int64_t(locationList.size()) - 1;
  }
  auto [it, inserted] = locations.try_emplace(text, locationList.size());
  if (inserted)
    locationList.push_back(text);
  return int64_t(it->second);
}

Value EmuBuilder::call(Location loc, StringRef name, TypeRange results, ValueRange args,
                       bool cInterface) {
  auto fn = module.lookupSymbol<func::FuncOp>(name);
  if (!fn) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    fn = func::FuncOp::create(b, module.getLoc(), name,
                              b.getFunctionType(args.getTypes(), results));
    fn.setPrivate();
    if (cInterface)
      fn->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  }
  auto op = func::CallOp::create(b, loc, fn, args);
  return op.getNumResults() ? op.getResult(0) : Value();
}

Value EmuBuilder::i64(Location loc, int64_t v) {
  return arith::ConstantIntOp::create(b, loc, v, 64);
}

Value EmuBuilder::toI64(Location loc, Value v) {
  Type t = v.getType();
  if (t.isInteger(64))
    return v;
  if (t.isIndex())
    return arith::IndexCastOp::create(b, loc, b.getI64Type(), v);
  return arith::ExtSIOp::create(b, loc, b.getI64Type(), v);
}

Value EmuBuilder::baseAddress(Location loc, Value memref) {
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), base);
}

Value EmuBuilder::elementAddress(Location loc, Value memref, ValueRange indices) {
  auto type = cast<MemRefType>(memref.getType());
  auto meta = memref::ExtractStridedMetadataOp::create(b, loc, memref);
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
  Value linear = meta.getOffset();
  for (auto [i, index] : llvm::enumerate(indices))
    linear = arith::AddIOp::create(
        b, loc, linear, arith::MulIOp::create(b, loc, index, meta.getStrides()[i]));
  int64_t bytes = type.getElementTypeBitWidth() / 8;
  Value address = arith::AddIOp::create(
      b, loc, base,
      arith::MulIOp::create(b, loc, linear, arith::ConstantIndexOp::create(b, loc, bytes)));
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), address);
}

std::pair<Value, Value> EmuBuilder::spill(Location loc, Type elementType, int64_t count,
                                          Value vector) {
  auto type = MemRefType::get({count}, elementType);
  // In the function's entry block: an alloca inside a loop would grow the stack at
  // every iteration (LLVM frees dynamic allocas only on return), and an emulated
  // thread's stack is a fixed 256 KiB: a kernel with many ldmatrix/mma per
  // iteration overflowed it after about a hundred iterations.
  Value buffer;
  {
    OpBuilder::InsertionGuard guard(b);
    Operation *fn = b.getInsertionBlock()->getParentOp();
    while (fn && !isa<FunctionOpInterface>(fn))
      fn = fn->getParentOp();
    if (fn)
      b.setInsertionPointToStart(&cast<FunctionOpInterface>(fn).getFunctionBody().front());
    buffer = memref::AllocaOp::create(b, loc, type);
  }
  if (vector) {
    auto flat = VectorType::get({count}, elementType);
    Value v = vector::ShapeCastOp::create(b, loc, flat, vector);
    vector::StoreOp::create(b, loc, v, buffer,
                            ValueRange{arith::ConstantIndexOp::create(b, loc, 0)});
  }
  return {buffer, baseAddress(loc, buffer)};
}

Value EmuBuilder::reload(Location loc, Value buffer, VectorType result) {
  auto flat = VectorType::get({result.getNumElements()}, result.getElementType());
  Value v = vector::LoadOp::create(b, loc, flat, buffer,
                                   ValueRange{arith::ConstantIndexOp::create(b, loc, 0)});
  return vector::ShapeCastOp::create(b, loc, result, v);
}

void EmuBuilder::save() {
  SmallVector<Attribute> names;
  for (const std::string &s : locationList)
    names.push_back(b.getStringAttr(s));
  module->setAttr(kLocationsAttr, b.getArrayAttr(names));
}

} // namespace attnc::emu
