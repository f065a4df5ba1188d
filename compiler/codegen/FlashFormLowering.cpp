//===- FlashFormLowering.cpp - one walk of the flash form ------------------===//
#include "compiler/codegen/FlashFormLowering.h"
#include "compiler/transforms/MaskIntervals.h"

#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;

namespace attnc::codegen {

LogicalResult FlashFormLowering::emitOps(Block &block) {
  for (Operation &op : block) {
    if (op.hasTrait<OpTrait::IsTerminator>() && !isa<func::ReturnOp>(op))
      continue;
    if (failed(emitOp(op)))
      return failure();
  }
  return success();
}

LogicalResult FlashFormLowering::emitOp(Operation &op) {
  if (auto parallel = dyn_cast<scf::ParallelOp>(op))
    return emitQueryTiles(parallel);
  if (auto alloca = dyn_cast<memref::AllocaOp>(op)) {
    auto role = alloca->getAttrOfType<StringAttr>("attn.scratch");
    if (!role)
      return error(alloca, "a flash form's memref.alloca must carry its role "
                           "(attn.scratch)");
    return realizeScratch(alloca, role.getValue());
  }
  if (auto dim = dyn_cast<memref::DimOp>(op))
    return emitDim(dim);
  if (auto forOp = dyn_cast<scf::ForOp>(op))
    return forOp == form.keyLoop() ? emitKeyLoop(forOp) : emitFor(forOp);
  if (auto ifOp = dyn_cast<scf::IfOp>(op))
    return emitIf(ifOp);
  if (auto cls = dyn_cast<attn::TileMaskClassOp>(op))
    return emitMaskClassOp(cls, map);
  if (auto ret = dyn_cast<func::ReturnOp>(op))
    return emitReturn(ret);
  if (isa<attn::AttnDialect>(op.getDialect()))
    return emitTileOp(op);
  if (op.getNumRegions() != 0)
    return error(&op, "unexpected op with regions in the flash form");
  b.clone(op, map);
  return success();
}

LogicalResult FlashFormLowering::emitTileOp(Operation &op) {
  if (auto init = dyn_cast<attn::TileInitOp>(op))
    return emitInit(init);
  if (auto scores = dyn_cast<attn::TileScoresOp>(op))
    return emitScores(scores);
  if (auto mods = dyn_cast<attn::TileModsOp>(op))
    return emitMods(mods);
  if (auto softmax = dyn_cast<attn::TileSoftmaxOp>(op))
    return emitSoftmax(softmax);
  if (auto pv = dyn_cast<attn::TilePVOp>(op))
    return emitPV(pv);
  if (auto store = dyn_cast<attn::TileStoreOp>(op))
    return emitStore(store);
  if (auto zero = dyn_cast<attn::TileZeroOp>(op))
    return emitZero(zero);
  if (auto delta = dyn_cast<attn::TileDeltaOp>(op))
    return emitDelta(delta);
  if (auto probs = dyn_cast<attn::TileProbsOp>(op))
    return emitProbs(probs);
  if (auto dscores = dyn_cast<attn::TileDScoresOp>(op))
    return emitDScores(dscores);
  if (auto keyGrad = dyn_cast<attn::TileKeyGradOp>(op))
    return emitKeyGrad(keyGrad);
  if (auto queryGrad = dyn_cast<attn::TileQueryGradOp>(op))
    return emitQueryGrad(queryGrad);
  if (auto keyStore = dyn_cast<attn::TileKeyStoreOp>(op))
    return emitKeyStore(keyStore);
  return error(&op, "unexpected op in the flash form");
}

LogicalResult FlashFormLowering::emitMaskClassOp(attn::TileMaskClassOp op,
                                                 const IRMapping &at) {
  SmallVector<Value> scalars;
  for (Value s : op.getScalars())
    scalars.push_back(at.lookupOrDefault(s));
  auto get = [&](Value v) { return at.lookupOrDefault(v); };
  map.map(op.getResult(), emitMaskClass(b, loc, variant, get(op.getB()), get(op.getH()),
                                        get(op.getQ0()), get(op.getQ1()), get(op.getK0()),
                                        get(op.getK1()), get(op.getQLen()),
                                        get(op.getKvLen()), scalars));
  return success();
}

LogicalResult FlashFormLowering::yieldState(Block *block, TypeRange expected,
                                            Operation *flashOp) {
  if (!block->empty() && block->back().hasTrait<OpTrait::IsTerminator>())
    block->back().erase();
  SmallVector<Value> state = runningState();
  if (TypeRange(ValueRange(state)) != expected)
    return error(flashOp, "the tile state differs between the paths through this op "
                          "(a tile op on one path only)");
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(block);
  scf::YieldOp::create(b, loc, state);
  return success();
}

LogicalResult FlashFormLowering::emitFor(scf::ForOp op) {
  SmallVector<Value> state = runningState();
  auto loop = scf::ForOp::create(b, loc, lookup(op.getLowerBound()),
                                 lookup(op.getUpperBound()), lookup(op.getStep()), state);
  map.map(op.getInductionVar(), loop.getInductionVar());
  {
    OpBuilder::InsertionGuard guard(b);
    Block *body = loop.getBody();
    if (!body->empty())
      b.setInsertionPoint(&body->back());
    else
      b.setInsertionPointToEnd(body);
    if (!state.empty())
      setRunningState(loop.getRegionIterArgs());
    if (failed(emitOps(*op.getBody())) ||
        failed(yieldState(body, ValueRange(state).getTypes(), op)))
      return failure();
  }
  if (!state.empty())
    setRunningState(loop.getResults());
  return success();
}

LogicalResult FlashFormLowering::emitIf(scf::IfOp op) {
  if (op.getNumResults() != 0)
    return error(op, "unexpected scf.if with results in the flash form");
  SmallVector<Value> state = runningState();
  TypeRange types = ValueRange(state).getTypes();
  bool hasElse = !op.getElseRegion().empty();
  auto newIf = scf::IfOp::create(b, loc, types, lookup(op.getCondition()),
                                 /*withElseRegion=*/hasElse || !state.empty());
  for (auto [from, to] : {std::pair{&op.getThenRegion(), &newIf.getThenRegion()},
                          std::pair{&op.getElseRegion(), &newIf.getElseRegion()}}) {
    if (to->empty())
      continue;
    OpBuilder::InsertionGuard guard(b);
    Block *block = &to->front();
    if (!block->empty())
      b.setInsertionPoint(&block->back());
    else
      b.setInsertionPointToEnd(block);
    setRunningState(state);
    if (!from->empty() && failed(emitOps(from->front())))
      return failure();
    if (failed(yieldState(block, types, op)))
      return failure();
  }
  if (!state.empty())
    setRunningState(newIf.getResults());
  return success();
}

LogicalResult FlashFormLowering::emitKeyTile(Value kt) {
  map.map(form.keyLoop().getInductionVar(), kt);
  return emitOps(*form.keyLoop().getBody());
}

Value FlashFormLowering::maskClassOf(Value kt) {
  Block *body = form.keyLoop().getBody();
  auto classes = body->getOps<attn::TileMaskClassOp>();
  if (classes.empty())
    return {};
  attn::TileMaskClassOp cls = *classes.begin();
  // The ops before it compute the tile's bounds from the induction variable: pure
  // index arithmetic, re-emitted for `kt`.
  IRMapping at = map;
  at.map(form.keyLoop().getInductionVar(), kt);
  for (Operation &op : body->getOperations()) {
    if (&op == cls.getOperation())
      break;
    if (op.getNumRegions() == 0 && isMemoryEffectFree(&op))
      b.clone(op, at);
  }
  if (failed(emitMaskClassOp(cls, at)))
    return {};
  return map.lookup(cls.getResult());
}

/// Whether `v` is an argument of the function whose body holds it.
static bool isFunctionArgument(Value v) {
  auto arg = dyn_cast<BlockArgument>(v);
  return arg && isa<func::FuncOp>(arg.getOwner()->getParentOp());
}

attn::TileScoresOp FlashFormLowering::keyLoopScores() {
  attn::TileScoresOp scores;
  form.keyLoop().walk([&](attn::TileScoresOp op) { scores = op; });
  if (!scores) {
    error(form.keyLoop(), "no attn.tile_scores in the loop over key tiles");
    return {};
  }
  for (Value v : {Value(scores.getQ()), Value(scores.getB()), Value(scores.getH()),
                  Value(scores.getQ0())})
    if (!map.contains(v) && !isFunctionArgument(v)) {
      error(scores, "the query tile of attn.tile_scores must not change within the "
                    "loop over key tiles");
      return {};
    }
  return scores;
}

} // namespace attnc::codegen
