//===- AttnOps.cpp - attn dialect operations ------------------------------===//
//
// Verifiers and helpers of the attn ops. Every rule of docs/spec.md, "Specs", that
// the IR can express is checked here, so that IR written by hand (or by a buggy pass)
// is held to the same contract as IR imported from a spec.
//
//===----------------------------------------------------------------------===//
#include "dialect/AttnOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/StringSet.h"
#include <cmath>

using namespace mlir;
using namespace attnc::attn;

#define GET_OP_CLASSES
#include "dialect/AttnOps.cpp.inc"

bool attnc::attn::isReservedName(StringRef name) {
  static const llvm::StringSet<> kReserved = {
      "score", "b",     "h",     "q_idx", "kv_idx", "q_len", "kv_len",
      "true",  "false", "inf",   "and",   "or",     "not",   "exp",
      "exp2",  "log",   "log2",  "sqrt",  "rsqrt",  "tanh",  "sigmoid",
      "abs",   "floor", "ceil",  "min",   "max",    "clamp", "where",
      "float", "int"};
  return kReserved.contains(name);
}

static bool isIdentifier(StringRef name) {
  if (name.empty() || !(llvm::isAlpha(name[0]) || name[0] == '_'))
    return false;
  return llvm::all_of(name, [](char c) { return llvm::isAlnum(c) || c == '_'; });
}

static bool isScalarType(Type type) {
  return type.isF32() || type.isSignlessInteger(32) ||
         type.isSignlessInteger(64);
}

//===----------------------------------------------------------------------===//
// VariantOp
//===----------------------------------------------------------------------===//

Type VariantOp::getScalarType(StringRef name) {
  if (DictionaryAttr scalars = getScalarsAttr())
    if (auto type = dyn_cast_or_null<TypeAttr>(scalars.get(name)))
      return type.getValue();
  return {};
}

BufferDeclAttr VariantOp::getBufferDecl(StringRef name) {
  if (DictionaryAttr buffers = getBuffersAttr())
    return dyn_cast_or_null<BufferDeclAttr>(buffers.get(name));
  return {};
}

static Value getYieldedValue(Region &region) {
  if (region.empty())
    return {};
  if (auto yield = dyn_cast<YieldOp>(region.front().getTerminator()))
    return yield.getValue();
  return {};
}

bool VariantOp::bufferRequiresGrad(StringRef name) {
  BufferDeclAttr decl = getBufferDecl(name);
  return decl && decl.getRequiresGrad();
}

Value VariantOp::getScoreModResult() { return getYieldedValue(getScoreMod()); }
Value VariantOp::getMaskModResult() { return getYieldedValue(getMaskMod()); }

void VariantOp::getAsmBlockArgumentNames(Region &region,
                                         OpAsmSetValueNameFn setNameFn) {
  static const char *kNames[] = {"b", "h", "q_idx", "kv_idx", "q_len", "kv_len"};
  if (region.empty())
    return;
  Block &block = region.front();
  unsigned first = 0;
  if (&region == &getScoreMod() || &region == &getScoreModVjp()) {
    if (block.getNumArguments() > 0)
      setNameFn(block.getArgument(0), "score");
    first = 1;
  }
  for (unsigned i = first, e = block.getNumArguments(); i < e && i - first < 6; ++i)
    setNameFn(block.getArgument(i), kNames[i - first]);
  if (&region == &getScoreModVjp() && block.getNumArguments() == kNumScoreModVjpArgs)
    setNameFn(block.getArgument(kNumScoreModVjpArgs - 1), "dout");
}

LogicalResult VariantOp::verify() {
  if (getHeadsQ() % getHeadsKv() != 0)
    return emitOpError("query heads (")
           << getHeadsQ() << ") must be a multiple of key/value heads ("
           << getHeadsKv() << ")";
  if (!std::isfinite(getScale().convertToDouble()))
    return emitOpError("scale must be finite");

  llvm::StringSet<> seen;
  auto checkName = [&](StringRef kind, StringAttr name) -> LogicalResult {
    if (!isIdentifier(name.getValue()))
      return emitOpError() << kind << " name '" << name.getValue()
                           << "' is not an identifier ([A-Za-z_][A-Za-z0-9_]*)";
    if (isReservedName(name.getValue()))
      return emitOpError() << kind << " name '" << name.getValue()
                           << "' is reserved";
    if (!seen.insert(name.getValue()).second)
      return emitOpError() << "name '" << name.getValue()
                           << "' is declared more than once";
    return success();
  };

  if (DictionaryAttr constants = getConstantsAttr())
    for (NamedAttribute entry : constants) {
      if (failed(checkName("constant", entry.getName())))
        return failure();
      auto intAttr = dyn_cast<IntegerAttr>(entry.getValue());
      auto floatAttr = dyn_cast<FloatAttr>(entry.getValue());
      if (!(intAttr && intAttr.getType().isSignlessInteger(64)) &&
          !(floatAttr && floatAttr.getType().isF64()))
        return emitOpError() << "constant '" << entry.getName().getValue()
                             << "' must be an i64 or f64 number";
    }
  if (DictionaryAttr scalars = getScalarsAttr())
    for (NamedAttribute entry : scalars) {
      if (failed(checkName("scalar", entry.getName())))
        return failure();
      auto type = dyn_cast<TypeAttr>(entry.getValue());
      if (!type || !isScalarType(type.getValue()))
        return emitOpError() << "scalar '" << entry.getName().getValue()
                             << "' must have type i32, i64 or f32";
    }
  if (DictionaryAttr buffers = getBuffersAttr())
    for (NamedAttribute entry : buffers) {
      if (failed(checkName("buffer", entry.getName())))
        return failure();
      if (!isa<BufferDeclAttr>(entry.getValue()))
        return emitOpError() << "buffer '" << entry.getName().getValue()
                             << "' must be declared with #attn.buffer<...>";
    }
  return success();
}

/// Checks a modifier region: its block arguments (an optional leading f32 score,
/// then six i64 indices, then for the VJP an f32 dout) and the type its terminator
/// yields.
static LogicalResult verifyModifierRegion(VariantOp op, Region &region,
                                          StringRef regionName, bool hasScore,
                                          Type resultType, bool isVjp = false) {
  Block &block = region.front();
  unsigned expected = isVjp      ? VariantOp::kNumScoreModVjpArgs
                      : hasScore ? VariantOp::kNumScoreModArgs
                                 : VariantOp::kNumMaskModArgs;
  StringRef signature =
      isVjp      ? "(score: f32, b, h, q_idx, kv_idx, q_len, kv_len: i64, dout: f32)"
      : hasScore ? "(score: f32, b, h, q_idx, kv_idx, q_len, kv_len: i64)"
                 : "(b, h, q_idx, kv_idx, q_len, kv_len: i64)";
  bool ok = block.getNumArguments() == expected;
  for (unsigned i = 0; ok && i < expected; ++i) {
    bool isFloat = (hasScore && i == 0) || (isVjp && i + 1 == expected);
    Type want = isFloat ? Type(Float32Type::get(op.getContext()))
                        : Type(IntegerType::get(op.getContext(), 64));
    ok = block.getArgument(i).getType() == want;
  }
  if (!ok)
    return op.emitOpError() << "'" << regionName << "' region must take "
                            << signature;
  auto yield = dyn_cast<YieldOp>(block.getTerminator());
  if (!yield)
    return op.emitOpError() << "'" << regionName
                            << "' region must end with attn.yield";
  if (yield.getValue().getType() != resultType)
    return yield.emitOpError() << "in '" << regionName << "' must yield "
                               << resultType << ", got "
                               << yield.getValue().getType();
  return success();
}

LogicalResult VariantOp::verifyRegions() {
  Builder builder(getContext());
  if (failed(verifyModifierRegion(*this, getScoreMod(), "score_mod",
                                  /*hasScore=*/true, builder.getF32Type())))
    return failure();
  if (failed(verifyModifierRegion(*this, getMaskMod(), "mask_mod",
                                  /*hasScore=*/false, builder.getI1Type())))
    return failure();
  if (getScoreModVjp().empty())
    return success();
  return verifyModifierRegion(*this, getScoreModVjp(), "score_mod_vjp",
                              /*hasScore=*/true, builder.getF32Type(), /*isVjp=*/true);
}

//===----------------------------------------------------------------------===//
// ScalarOp, BufferLoadOp
//===----------------------------------------------------------------------===//

void ScalarOp::getAsmResultNames(OpAsmSetValueNameFn setNameFn) {
  setNameFn(getResult(), getName());
}

LogicalResult ScalarOp::verify() {
  auto variant = (*this)->getParentOfType<VariantOp>();
  if (!variant)
    return emitOpError("must be nested in an attn.variant region");
  Type declared = variant.getScalarType(getName());
  if (!declared)
    return emitOpError("reads undeclared scalar '") << getName() << "'";
  if (declared != getType())
    return emitOpError("scalar '")
           << getName() << "' is declared " << declared << " but read as "
           << getType();
  return success();
}

LogicalResult BufferLoadOp::verify() {
  auto variant = (*this)->getParentOfType<VariantOp>();
  if (!variant)
    return emitOpError("must be nested in an attn.variant region");
  BufferDeclAttr decl = variant.getBufferDecl(getBuffer());
  if (!decl)
    return emitOpError("reads undeclared buffer '") << getBuffer() << "'";
  if (decl.getRank() != getIndices().size())
    return emitOpError("buffer '")
           << getBuffer() << "' has " << decl.getRank()
           << " dimension(s) but is indexed with " << getIndices().size();
  if (decl.getElementType() != getType())
    return emitOpError("buffer '")
           << getBuffer() << "' holds " << decl.getElementType()
           << " but is read as " << getType();
  return success();
}

LogicalResult BufferGradOp::verify() {
  auto variant = (*this)->getParentOfType<VariantOp>();
  Region *region = variant ? (*this)->getParentRegion() : nullptr;
  while (region && region->getParentOp() != variant.getOperation())
    region = region->getParentOp()->getParentRegion();
  if (!variant || region != &variant.getScoreModVjp())
    return emitOpError("must be nested in an attn.variant's score_mod_vjp region");
  BufferDeclAttr decl = variant.getBufferDecl(getBuffer());
  if (!decl)
    return emitOpError("names undeclared buffer '") << getBuffer() << "'";
  if (!decl.getRequiresGrad())
    return emitOpError("buffer '") << getBuffer() << "' is not declared requires_grad";
  if (decl.getRank() != getIndices().size())
    return emitOpError("buffer '")
           << getBuffer() << "' has " << decl.getRank()
           << " dimension(s) but is indexed with " << getIndices().size();
  return success();
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

namespace {
/// Binds the symbolic sizes (B, Q_LEN, KV_LEN...) across the operands of one
/// attn.attention and reports the first disagreement.
class ShapeChecker {
public:
  ShapeChecker(AttentionOp op) : op(op) {}

  /// Checks `actual` (possibly dynamic) against a fixed expected size.
  LogicalResult expectFixed(StringRef what, unsigned dim, int64_t actual,
                            int64_t expected) {
    if (ShapedType::isDynamic(actual) || actual == expected)
      return success();
    return op.emitOpError() << what << " dimension " << dim << " must be "
                            << expected << ", got " << actual;
  }

  /// Binds symbolic size `name` to `actual` or checks it against an earlier binding.
  LogicalResult bind(StringRef what, unsigned dim, StringRef name,
                     int64_t actual) {
    if (ShapedType::isDynamic(actual))
      return success();
    auto [it, inserted] = bound.try_emplace(name, actual, what);
    if (inserted || it->second.first == actual)
      return success();
    return op.emitOpError() << what << " dimension " << dim << " (" << name
                            << ") is " << actual << " but "
                            << it->second.second << " has " << name << " = "
                            << it->second.first;
  }

private:
  AttentionOp op;
  llvm::StringMap<std::pair<int64_t, std::string>> bound;
};
} // namespace

LogicalResult
AttentionOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto variant =
      symbolTable.lookupNearestSymbolFrom<VariantOp>(*this, getVariantAttr());
  if (!variant)
    return emitOpError("'") << getVariant()
                            << "' does not reference an attn.variant";

  Type dtype = variant.getDtype();
  int64_t hq = variant.getHeadsQ(), hkv = variant.getHeadsKv();
  int64_t d = variant.getHeadDim(), dv = variant.getHeadDimV();
  ShapeChecker shapes(*this);

  // (operand name, type, the 4 dims as fixed size or symbolic name)
  struct Expect {
    StringRef what;
    RankedTensorType type;
    Type elementType;
    SmallVector<std::pair<StringRef, int64_t>> dims; // name or "" + fixed size
  };
  auto f32 = Float32Type::get(getContext());
  Expect expects[] = {
      {"q", getQuery().getType(), dtype,
       {{"B", 0}, {"", hq}, {"Q_LEN", 0}, {"", d}}},
      {"k", getKey().getType(), dtype,
       {{"B", 0}, {"", hkv}, {"KV_LEN", 0}, {"", d}}},
      {"v", getValue().getType(), dtype,
       {{"B", 0}, {"", hkv}, {"KV_LEN", 0}, {"", dv}}},
      {"out", getOut().getType(), dtype,
       {{"B", 0}, {"", hq}, {"Q_LEN", 0}, {"", dv}}},
      {"lse", getLse().getType(), f32, {{"B", 0}, {"", hq}, {"Q_LEN", 0}}},
  };
  for (Expect &e : expects) {
    if (e.type.getElementType() != e.elementType)
      return emitOpError() << e.what << " must have element type "
                           << e.elementType << ", got "
                           << e.type.getElementType();
    if (e.type.getRank() != int64_t(e.dims.size()))
      return emitOpError() << e.what << " must have rank " << e.dims.size()
                           << ", got " << e.type.getRank();
    for (auto [i, dim] : llvm::enumerate(e.dims)) {
      int64_t actual = e.type.getDimSize(i);
      if (failed(dim.first.empty()
                     ? shapes.expectFixed(e.what, i, actual, dim.second)
                     : shapes.bind(e.what, i, dim.first, actual)))
        return failure();
    }
  }

  // Scalars and buffers come in the (sorted) order of their declarations.
  DictionaryAttr scalars = variant.getScalarsAttr();
  size_t numScalars = scalars ? scalars.size() : 0;
  if (getScalars().size() != numScalars)
    return emitOpError() << "variant '" << getVariant() << "' declares "
                         << numScalars << " scalar(s) but " << getScalars().size()
                         << " are passed";
  for (auto [i, entry] : llvm::enumerate(scalars ? scalars.getValue()
                                                 : ArrayRef<NamedAttribute>{})) {
    Type declared = cast<TypeAttr>(entry.getValue()).getValue();
    if (getScalars()[i].getType() != declared)
      return emitOpError() << "scalar '" << entry.getName().getValue()
                           << "' must be " << declared << ", got "
                           << getScalars()[i].getType();
  }

  DictionaryAttr buffers = variant.getBuffersAttr();
  size_t numBuffers = buffers ? buffers.size() : 0;
  if (getBuffers().size() != numBuffers)
    return emitOpError() << "variant '" << getVariant() << "' declares "
                         << numBuffers << " buffer(s) but " << getBuffers().size()
                         << " are passed";
  for (auto [i, entry] : llvm::enumerate(buffers ? buffers.getValue()
                                                 : ArrayRef<NamedAttribute>{})) {
    auto decl = cast<BufferDeclAttr>(entry.getValue());
    auto type = cast<RankedTensorType>(getBuffers()[i].getType());
    std::string what = ("buffer '" + entry.getName().getValue() + "'").str();
    if (type.getElementType() != decl.getElementType())
      return emitOpError() << what << " must have element type "
                           << decl.getElementType() << ", got "
                           << type.getElementType();
    if (type.getRank() != int64_t(decl.getRank()))
      return emitOpError() << what << " must have rank " << decl.getRank()
                           << ", got " << type.getRank();
    for (auto [j, dim] : llvm::enumerate(decl.getShape())) {
      int64_t actual = type.getDimSize(j);
      LogicalResult result = success();
      if (dim == int64_t(SymbolicDim::H))
        result = shapes.expectFixed(what, j, actual, hq);
      else if (dim == int64_t(SymbolicDim::H_KV))
        result = shapes.expectFixed(what, j, actual, hkv);
      else if (isSymbolicDim(dim))
        result = shapes.bind(what, j, symbolicDimName(dim), actual);
      else
        result = shapes.expectFixed(what, j, actual, dim);
      if (failed(result))
        return failure();
    }
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Flash-form tile ops
//===----------------------------------------------------------------------===//

/// Checks that a tile op names a variant and passes its scalars (and buffers).
static LogicalResult verifyTileSymbolUse(Operation *op, FlatSymbolRefAttr name,
                                         ValueRange scalars,
                                         std::optional<ValueRange> buffers,
                                         SymbolTableCollection &symbolTable) {
  auto variant = symbolTable.lookupNearestSymbolFrom<VariantOp>(op, name);
  if (!variant)
    return op->emitOpError("'") << name.getValue()
                                << "' does not reference an attn.variant";
  DictionaryAttr declared = variant.getScalarsAttr();
  size_t numScalars = declared ? declared.size() : 0;
  if (scalars.size() != numScalars)
    return op->emitOpError("variant '")
           << name.getValue() << "' declares " << numScalars
           << " scalar(s) but " << scalars.size() << " are passed";
  if (declared)
    for (auto [i, entry] : llvm::enumerate(declared.getValue()))
      if (scalars[i].getType() != cast<TypeAttr>(entry.getValue()).getValue())
        return op->emitOpError("scalar '")
               << entry.getName().getValue() << "' has the wrong type";
  if (buffers) {
    DictionaryAttr decls = variant.getBuffersAttr();
    size_t numBuffers = decls ? decls.size() : 0;
    if (buffers->size() != numBuffers)
      return op->emitOpError("variant '")
             << name.getValue() << "' declares " << numBuffers
             << " buffer(s) but " << buffers->size() << " are passed";
    if (decls)
      for (auto [i, entry] : llvm::enumerate(decls.getValue())) {
        auto decl = cast<BufferDeclAttr>(entry.getValue());
        auto type = cast<MemRefType>((*buffers)[i].getType());
        if (type.getElementType() != decl.getElementType() ||
            type.getRank() != int64_t(decl.getRank()))
          return op->emitOpError("buffer '")
                 << entry.getName().getValue()
                 << "' must be a memref of rank " << decl.getRank() << " and type "
                 << decl.getElementType();
      }
  }
  return success();
}

LogicalResult
TileMaskClassOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  return verifyTileSymbolUse(*this, getVariantAttr(), getScalars(), std::nullopt,
                             symbolTable);
}

LogicalResult TileModsOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  return verifyTileSymbolUse(*this, getVariantAttr(), getScalars(), getBuffers(),
                             symbolTable);
}

LogicalResult TileProbsOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  return verifyTileSymbolUse(*this, getVariantAttr(), getScalars(), getBuffers(),
                             symbolTable);
}

LogicalResult TileDScoresOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  if (failed(verifyTileSymbolUse(*this, getVariantAttr(), getScalars(), getBuffers(),
                                 symbolTable)))
    return failure();
  auto variant = symbolTable.lookupNearestSymbolFrom<VariantOp>(*this, getVariantAttr());
  if (variant.getScoreModVjp().empty())
    return emitOpError("variant '") << getVariant()
                                    << "' has no score_mod_vjp region (run "
                                       "attn-differentiate-score-mod first)";
  size_t learnable = 0;
  if (DictionaryAttr decls = variant.getBuffersAttr())
    for (NamedAttribute entry : decls.getValue())
      learnable += cast<BufferDeclAttr>(entry.getValue()).getRequiresGrad();
  if (getGrads().size() != learnable)
    return emitOpError("variant '") << getVariant() << "' declares " << learnable
                                    << " requires_grad buffer(s) but "
                                    << getGrads().size() << " gradient(s) are passed";
  return success();
}
