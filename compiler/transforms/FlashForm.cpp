//===- FlashForm.cpp - reading the flash form ------------------------------===//
#include "compiler/transforms/FlashForm.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;

namespace attnc {

FailureOr<FlashFormDetail> FlashFormDetail::get(func::FuncOp flash, attn::VariantOp variant,
                                                StringRef pass) {
  FlashFormDetail form;
  form.dHead = variant.getHeadDim();
  form.dvHead = variant.getHeadDimV();
  form.hq = variant.getHeadsQ();
  form.hkv = variant.getHeadsKv();
  if (DictionaryAttr d = variant.getScalarsAttr())
    form.nScalars = d.size();
  if (DictionaryAttr d = variant.getBuffersAttr()) {
    form.nBuffers = d.size();
    for (NamedAttribute entry : d.getValue())
      form.nGrads += cast<attn::BufferDeclAttr>(entry.getValue()).getRequiresGrad();
  }
  form.backward = flash->hasAttr("attn.backward");
  unsigned expected = form.backward ? 10 + form.nScalars + form.nBuffers + form.nGrads
                                    : 6 + form.nScalars + form.nBuffers;
  if (flash.getNumArguments() != expected)
    return flash.emitError(pass)
           << ": expected " << expected
           << (form.backward ? " arguments (q, k, v, out, dout, lse, dq, dk, dv, scalars, "
                               "buffers, buffer gradients, status), got "
                             : " arguments (q, k, v, out, lse, scalars, buffers, "
                               "status), got ")
           << flash.getNumArguments();
  form.args.assign(flash.getArguments().begin(), flash.getArguments().end());
  flash.walk([&](memref::AllocaOp a) {
    auto role = a->getAttrOfType<StringAttr>("attn.scratch");
    if (role && role.getValue() == "scores" && a.getType().getRank() == 2) {
      form.bq = a.getType().getDimSize(0);
      form.bk = a.getType().getDimSize(1);
    }
  });
  if (!form.bq)
    return flash.emitError(pass) << ": no score tile in the flash form";
  for (auto p : flash.getBody().front().getOps<scf::ParallelOp>())
    if (p.getNumLoops() == 3)
      form.parallel = p;
  if (!form.parallel)
    return flash.emitError(pass)
           << ": no parallel loop over (batch, head, query tile) in the flash form";
  for (auto f : form.parallel.getBody()->getOps<scf::ForOp>())
    form.keys = f;
  if (!form.keys)
    return flash.emitError(pass) << ": no loop over key tiles in the flash form";
  return form;
}

MemRefType stridedMemRefType(ArrayRef<int64_t> shape, Type element) {
  SmallVector<int64_t> strides(shape.size(), ShapedType::kDynamic);
  auto layout = StridedLayoutAttr::get(element.getContext(), ShapedType::kDynamic, strides);
  return MemRefType::get(shape, element, layout);
}

bool isConstantTrue(Value value) {
  if (auto cst = value.getDefiningOp<arith::ConstantIntOp>())
    return cst.value() != 0;
  return false;
}

TilePairClass classifyTilePair(OpBuilder &b, Location loc, attn::VariantOp variant, Value batch,
                               Value head, Value q0, Value q1, Value k0, Value k1, Value qLen,
                               Value kvLen, ValueRange scalars) {
  Value cls = attn::TileMaskClassOp::create(b, loc, b.getIndexType(), variant.getSymName(),
                                            batch, head, q0, q1, k0, k1, qLen, kvLen, scalars);
  Value empty = arith::ConstantIndexOp::create(b, loc, 0);
  Value partial = arith::ConstantIndexOp::create(b, loc, 2);
  return {arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, cls, empty),
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, cls, partial)};
}

void emitUnderMaskCondition(OpBuilder &b, Location loc, Value applyMaskCond, bool maskIsTrivial,
                            function_ref<void(OpBuilder &, bool)> emit) {
  if (!applyMaskCond)
    return emit(b, !maskIsTrivial);
  auto ifOp = scf::IfOp::create(b, loc, applyMaskCond, /*withElse=*/true);
  OpBuilder thenBuilder = ifOp.getThenBodyBuilder();
  emit(thenBuilder, true);
  OpBuilder elseBuilder = ifOp.getElseBodyBuilder();
  emit(elseBuilder, false);
}

LogicalResult forEachFlashFunction(ModuleOp module, StringRef pass,
                                   function_ref<LogicalResult(func::FuncOp, attn::VariantOp)> fn) {
  SmallVector<func::FuncOp> flashes;
  module.walk([&](func::FuncOp f) {
    if (f->hasAttr("attn.variant"))
      flashes.push_back(f);
  });
  SymbolTable symbols(module);
  for (func::FuncOp f : flashes) {
    auto ref = f->getAttrOfType<FlatSymbolRefAttr>("attn.variant");
    auto variant = ref ? symbols.lookup<attn::VariantOp>(ref.getValue()) : attn::VariantOp();
    if (!variant)
      return f.emitError(pass) << ": unknown variant " << f->getAttr("attn.variant");
    if (failed(fn(f, variant)))
      return failure();
  }
  return success();
}

} // namespace attnc
