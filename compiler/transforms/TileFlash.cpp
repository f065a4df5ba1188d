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
#include "compiler/transforms/FlashForm.h"
#include "compiler/transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/SmallVector.h"

using namespace mlir;

namespace attnc {
#define GEN_PASS_DEF_ATTNTILEFLASH
#include "compiler/transforms/Passes.h.inc"

namespace {

MemRefType stridedMemRef(RankedTensorType type) {
  return stridedMemRefType(type.getShape(), type.getElementType());
}

/// Emits the body of a flash function: the loops and tile ops of one attention.
class FlashBody {
public:
  FlashBody(func::FuncOp flash, attn::VariantOp variant, attn::AttentionOp op,
            int64_t blockQ, int64_t blockKV)
      : variant(variant), b(flash.getContext()), loc(op.getLoc()), blockQ(blockQ),
        blockKV(blockKV), maskIsTrivial(isConstantTrue(variant.getMaskModResult())) {
    Block *entry = flash.addEntryBlock();
    b.setInsertionPointToStart(entry);
    ValueRange args = entry->getArguments();
    q = args[0], k = args[1], v = args[2], out = args[3], lse = args[4];
    unsigned numScalars = op.getScalars().size();
    scalars = args.slice(5, numScalars);
    buffers = args.slice(5 + numScalars, op.getBuffers().size());
    status = args.back();
  }

  void emit() {
    c0 = cIndex(0), c1 = cIndex(1);
    Value batch = memref::DimOp::create(b, loc, q, 0);
    qLen = memref::DimOp::create(b, loc, q, 2);
    kvLen = memref::DimOp::create(b, loc, k, 2);
    bq = cIndex(blockQ), bkv = cIndex(blockKV);
    Value heads = cIndex(variant.getHeadsQ());
    group = cIndex(variant.getHeadsQ() / variant.getHeadsKv());
    Value numQTiles = arith::CeilDivUIOp::create(b, loc, qLen, bq);
    numKVTiles = arith::CeilDivUIOp::create(b, loc, kvLen, bkv);
    auto parallel = scf::ParallelOp::create(
        b, loc, ValueRange{c0, c0, c0}, ValueRange{batch, heads, numQTiles},
        ValueRange{c1, c1, c1});
    b.setInsertionPointToStart(parallel.getBody());
    emitQueryTile(parallel.getInductionVars());
    b.setInsertionPointAfter(parallel);
    func::ReturnOp::create(b, loc);
  }

private:
  Value cIndex(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }

  /// One (batch, head, query tile): scratch tiles, init, the key loop, the store.
  void emitQueryTile(ValueRange ivs) {
    bIdx = ivs[0], hIdx = ivs[1];
    auto f32 = b.getF32Type();
    auto scratch = [&](ArrayRef<int64_t> shape, StringRef role) -> Value {
      auto alloca = memref::AllocaOp::create(b, loc, MemRefType::get(shape, f32));
      alloca->setAttr("attn.scratch", b.getStringAttr(role));
      return alloca;
    };
    s = scratch({blockQ, blockKV}, "scores");
    acc = scratch({blockQ, int64_t(variant.getHeadDimV())}, "acc");
    m = scratch({blockQ}, "max");
    l = scratch({blockQ}, "sum");
    alpha = scratch({blockQ}, "alpha");
    q0 = arith::MulIOp::create(b, loc, ivs[2], bq);
    Value qEnd = arith::MinUIOp::create(b, loc, arith::AddIOp::create(b, loc, q0, bq), qLen);
    q1 = arith::SubIOp::create(b, loc, qEnd, c1);
    g = arith::DivUIOp::create(b, loc, hIdx, group);
    attn::TileInitOp::create(b, loc, acc, m, l);
    auto kvLoop = scf::ForOp::create(b, loc, c0, numKVTiles, c1);
    b.setInsertionPointToStart(kvLoop.getBody());
    emitKeyTile(kvLoop.getInductionVar());
    b.setInsertionPointAfter(kvLoop);
    attn::TileStoreOp::create(b, loc, acc, m, l, out, lse, bIdx, hIdx, q0);
  }

  /// One key tile: classified by the mask unless it keeps everything; empty tiles
  /// are skipped, full ones skip mask_mod.
  void emitKeyTile(Value kTile) {
    k0 = arith::MulIOp::create(b, loc, kTile, bkv);
    if (maskIsTrivial) {
      emitTileBody(b, Value());
      return;
    }
    Value kEnd = arith::MinUIOp::create(b, loc, arith::AddIOp::create(b, loc, k0, bkv), kvLen);
    Value k1 = arith::SubIOp::create(b, loc, kEnd, c1);
    TilePairClass cls = classifyTilePair(b, loc, variant, bIdx, hIdx, q0, q1, k0, k1, qLen,
                                         kvLen, scalars);
    auto ifLive = scf::IfOp::create(b, loc, cls.live, /*withElse=*/false);
    OpBuilder lb = ifLive.getThenBodyBuilder();
    emitTileBody(lb, cls.partial);
  }

  /// scores, mods (with the mask where `applyMaskCond` holds), softmax, P·V.
  void emitTileBody(OpBuilder &nb, Value applyMaskCond) {
    attn::TileScoresOp::create(nb, loc, q, k, s, bIdx, hIdx, g, q0, k0, variant.getScaleAttr());
    emitUnderMaskCondition(nb, loc, applyMaskCond, maskIsTrivial,
                           [&](OpBuilder &mb, bool applyMask) {
                             attn::TileModsOp::create(mb, loc, variant.getSymName(), s, bIdx,
                                                      hIdx, q0, k0, qLen, kvLen, scalars,
                                                      buffers, status, applyMask);
                           });
    attn::TileSoftmaxOp::create(nb, loc, s, m, l, alpha);
    attn::TilePVOp::create(nb, loc, s, v, alpha, acc, bIdx, g, k0);
  }

  attn::VariantOp variant;
  OpBuilder b;
  Location loc;
  int64_t blockQ, blockKV;
  bool maskIsTrivial;
  Value q, k, v, out, lse, status;
  ValueRange scalars, buffers;
  Value c0, c1, qLen, kvLen, bq, bkv, group, numKVTiles; // per function
  Value bIdx, hIdx, g, q0, q1, s, acc, m, l, alpha; // per query tile
  Value k0; // per key tile
};

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

  /// Rewrites the function holding `op` into its flash form (see the file comment).
  LogicalResult tile(attn::AttentionOp op, SymbolTable &symbols) {
    auto func = op->getParentOfType<func::FuncOp>();
    auto variant = symbols.lookup<attn::VariantOp>(op.getVariant());
    if (!func || !variant)
      return op.emitError("attn-tile-flash: expected attn.attention in a function "
                          "referring to an attn.variant");
    std::string name = flashName(func.getSymName());
    if (symbols.lookup(name))
      return func.emitError("attn-tile-flash: a symbol named '") << name
                                                                 << "' already exists";
    OpBuilder b(func);
    auto flash = func::FuncOp::create(b, op.getLoc(), name,
                                      b.getFunctionType(flashSignature(op, b), {}));
    flash->setAttr("attn.variant",
                   FlatSymbolRefAttr::get(op.getContext(), variant.getSymName()));
    FlashBody(flash, variant, op, blockQ, blockKV).emit();
    // The flash function replaces the tensor-level one.
    symbols.erase(func);
    symbols.insert(flash);
    return success();
  }

  /// Memref views of every tensor, scalars as they are, a status word.
  static SmallVector<Type> flashSignature(attn::AttentionOp op, OpBuilder &b) {
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
    return inputs;
  }
};

} // namespace
} // namespace attnc
