//===- TileFlash.cpp - tile attn.attention into the flash form -------------===//
//
// FlashAttention's algorithm as loops over tile ops: one parallel iteration per
// (batch, head, query tile) keeps the running max `m`, sum `l` and accumulator in
// scratch tiles and streams the key tiles through them. The result is still
// target-independent: the tile ops say what each step computes; the CPU and GPU
// targets decide how. Scratch tiles carry an `attn.scratch` role so targets can pick
// their own shapes and placement for them.
//
//===----------------------------------------------------------------------===//
#include "compiler/transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/SmallVector.h"

using namespace mlir;

namespace attnc {
#define GEN_PASS_DEF_ATTNTILEFLASH
#include "compiler/transforms/Passes.h.inc"

namespace {

/// A memref type with fully dynamic strides and offset: q/k/v/out/lse and buffers
/// may be any view of user memory.
MemRefType stridedMemRef(RankedTensorType type) {
  SmallVector<int64_t> strides(type.getRank(), ShapedType::kDynamic);
  auto layout = StridedLayoutAttr::get(type.getContext(), ShapedType::kDynamic, strides);
  return MemRefType::get(type.getShape(), type.getElementType(), layout);
}

/// True when a region yields the constant `true` (after attn-simplify).
bool isTriviallyTrue(Value value) {
  if (auto cst = value.getDefiningOp<arith::ConstantIntOp>())
    return cst.value() != 0;
  return false;
}

struct AttnTileFlashPass : impl::AttnTileFlashBase<AttnTileFlashPass> {
  using AttnTileFlashBase::AttnTileFlashBase;

  void runOnOperation() override {
    if (blockQ < 1 || blockKV < 1) {
      getOperation().emitError("attn-tile-flash: block sizes must be positive");
      return signalPassFailure();
    }
    // One flash function per function that applies a variant; the whole function
    // is replaced, so it must be nothing but the attention and its return.
    SmallVector<func::FuncOp> funcs;
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (!func.getOps<attn::AttentionOp>().empty() || hasNestedAttention(func))
        funcs.push_back(func);
    SymbolTable symbols(getOperation());
    for (func::FuncOp func : funcs) {
      auto ops = func.getBody().front().without_terminator();
      auto attention = std::distance(ops.begin(), ops.end()) == 1
                           ? dyn_cast<attn::AttentionOp>(*ops.begin())
                           : attn::AttentionOp();
      if (!attention) {
        func.emitError("attn-tile-flash: expected a function whose body is a single "
                       "attn.attention and the return of its results");
        return signalPassFailure();
      }
      if (failed(tile(attention, symbols)))
        return signalPassFailure();
    }
  }

  static bool hasNestedAttention(func::FuncOp func) {
    return func.walk([](attn::AttentionOp) { return WalkResult::interrupt(); })
        .wasInterrupted();
  }

  /// `@X_forward` → `@X_flash`; any other `@F` → `@F_flash`.
  static std::string flashName(StringRef funcName) {
    funcName.consume_back("_forward");
    return (funcName + "_flash").str();
  }

  LogicalResult tile(attn::AttentionOp op, SymbolTable &symbols) {
    auto func = op->getParentOfType<func::FuncOp>();
    auto variant = symbols.lookup<attn::VariantOp>(op.getVariant());
    if (!func || !variant)
      return op.emitError("attn-tile-flash: expected attn.attention in a function "
                          "referring to an attn.variant");
    MLIRContext *ctx = op.getContext();
    Location loc = op.getLoc();
    OpBuilder b(func);

    // Signature: memref views of every tensor, scalars as they are, a status word.
    SmallVector<Type> inputs;
    auto asMemRef = [&](Value v) -> Type {
      if (auto t = dyn_cast<RankedTensorType>(v.getType()))
        return stridedMemRef(t);
      return v.getType();
    };
    for (Value v : {op.getQuery(), op.getKey(), op.getValue()})
      inputs.push_back(asMemRef(v));
    inputs.push_back(stridedMemRef(cast<RankedTensorType>(op.getOut().getType())));
    inputs.push_back(stridedMemRef(cast<RankedTensorType>(op.getLse().getType())));
    for (Value v : op.getScalars())
      inputs.push_back(v.getType());
    for (Value v : op.getBuffers())
      inputs.push_back(asMemRef(v));
    inputs.push_back(MemRefType::get({4}, b.getI64Type()));

    std::string name = flashName(func.getSymName());
    if (symbols.lookup(name))
      return func.emitError("attn-tile-flash: a symbol named '") << name
                                                                 << "' already exists";
    auto flash = func::FuncOp::create(b, loc, name, b.getFunctionType(inputs, {}));
    flash->setAttr("attn.variant", FlatSymbolRefAttr::get(ctx, variant.getSymName()));
    Block *entry = flash.addEntryBlock();
    b.setInsertionPointToStart(entry);
    ValueRange args = entry->getArguments();
    Value q = args[0], k = args[1], v = args[2], out = args[3], lse = args[4];
    unsigned numScalars = op.getScalars().size();
    ValueRange scalars = args.slice(5, numScalars);
    ValueRange buffers = args.slice(5 + numScalars, op.getBuffers().size());
    Value status = args.back();

    auto cIndex = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    Value c0 = cIndex(0), c1 = cIndex(1);
    Value bq = cIndex(blockQ), bkv = cIndex(blockKV);
    Value batch = memref::DimOp::create(b, loc, q, 0);
    Value qLen = memref::DimOp::create(b, loc, q, 2);
    Value kvLen = memref::DimOp::create(b, loc, k, 2);
    Value heads = cIndex(variant.getHeadsQ());
    Value group = cIndex(variant.getHeadsQ() / variant.getHeadsKv());
    Value numQTiles = arith::CeilDivUIOp::create(b, loc, qLen, bq);
    Value numKVTiles = arith::CeilDivUIOp::create(b, loc, kvLen, bkv);
    bool maskIsTrivial = isTriviallyTrue(variant.getMaskModResult());

    auto parallel = scf::ParallelOp::create(
        b, loc, ValueRange{c0, c0, c0}, ValueRange{batch, heads, numQTiles},
        ValueRange{c1, c1, c1});
    b.setInsertionPointToStart(parallel.getBody());
    Value bIdx = parallel.getInductionVars()[0];
    Value hIdx = parallel.getInductionVars()[1];
    Value qTile = parallel.getInductionVars()[2];

    auto f32 = b.getF32Type();
    auto scratch = [&](ArrayRef<int64_t> shape, StringRef role) -> Value {
      auto alloca = memref::AllocaOp::create(b, loc, MemRefType::get(shape, f32));
      alloca->setAttr("attn.scratch", b.getStringAttr(role));
      return alloca;
    };
    Value s = scratch({blockQ, blockKV}, "scores");
    Value acc = scratch({blockQ, int64_t(variant.getHeadDimV())}, "acc");
    Value m = scratch({blockQ}, "max");
    Value l = scratch({blockQ}, "sum");
    Value alpha = scratch({blockQ}, "alpha");

    Value q0 = arith::MulIOp::create(b, loc, qTile, bq);
    Value qEnd = arith::MinUIOp::create(b, loc, arith::AddIOp::create(b, loc, q0, bq), qLen);
    Value q1 = arith::SubIOp::create(b, loc, qEnd, c1);
    Value g = arith::DivUIOp::create(b, loc, hIdx, group);
    attn::TileInitOp::create(b, loc, acc, m, l);

    auto kvLoop = scf::ForOp::create(b, loc, c0, numKVTiles, c1);
    b.setInsertionPointToStart(kvLoop.getBody());
    Value k0 = arith::MulIOp::create(b, loc, kvLoop.getInductionVar(), bkv);
    StringRef variantName = variant.getSymName();
    auto emitTileBody = [&](OpBuilder &nb, Value applyMaskCond) {
      attn::TileScoresOp::create(nb, loc, q, k, s, bIdx, hIdx, g, q0, k0,
                                 variant.getScaleAttr());
      auto emitMods = [&](OpBuilder &mb, bool applyMask) {
        attn::TileModsOp::create(mb, loc, variantName, s, bIdx, hIdx, q0, k0, qLen,
                                 kvLen, scalars, buffers, status, applyMask);
      };
      if (!applyMaskCond) {
        emitMods(nb, !maskIsTrivial);
      } else {
        auto ifOp = scf::IfOp::create(nb, loc, applyMaskCond, /*withElse=*/true);
        OpBuilder tb = ifOp.getThenBodyBuilder();
        emitMods(tb, true);
        OpBuilder eb = ifOp.getElseBodyBuilder();
        emitMods(eb, false);
      }
      attn::TileSoftmaxOp::create(nb, loc, s, m, l, alpha);
      attn::TilePVOp::create(nb, loc, s, v, alpha, acc, bIdx, g, k0);
    };
    if (maskIsTrivial) {
      emitTileBody(b, Value());
    } else {
      Value kEnd =
          arith::MinUIOp::create(b, loc, arith::AddIOp::create(b, loc, k0, bkv), kvLen);
      Value k1 = arith::SubIOp::create(b, loc, kEnd, c1);
      Value cls = attn::TileMaskClassOp::create(b, loc, b.getIndexType(), variantName, bIdx, hIdx, q0,
                                                q1, k0, k1, qLen, kvLen, scalars);
      Value live = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, cls, c0);
      Value partial =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, cls, cIndex(2));
      auto ifLive = scf::IfOp::create(b, loc, live, /*withElse=*/false);
      OpBuilder lb = ifLive.getThenBodyBuilder();
      emitTileBody(lb, partial);
    }
    b.setInsertionPointAfter(kvLoop);
    attn::TileStoreOp::create(b, loc, acc, m, l, out, lse, bIdx, hIdx, q0);

    b.setInsertionPointToEnd(entry);
    func::ReturnOp::create(b, loc);

    // The flash function replaces the tensor-level one.
    symbols.erase(func);
    symbols.insert(flash);
    return success();
  }
};

} // namespace
} // namespace attnc
