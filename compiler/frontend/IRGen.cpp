//===- IRGen.cpp - build attn IR from a checked spec -----------------------===//
//
// Expressions lower to arith/math ops on i64, f32 and i1. Python's floor division and
// modulo, sigmoid, clamp and the lazy `&&`/`||`/`?:` are spelled out here, once, so
// every target inherits the same semantics. Lazy evaluation uses `scf.if` only where
// an operand may fail at run time (a buffer read, an integer division); elsewhere the
// cheaper `arith.select`/`andi`/`ori` is exact.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontend/IRGen.h"
#include "dialect/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"

using namespace mlir;

namespace attnc::frontend {

Location SpecLocations::at(size_t offset) const {
  auto [line, col] = map.lineColumn(offset);
  return FileLineColLoc::get(ctx, filename, line, col);
}

namespace {

class ModifierCodegen {
public:
  ModifierCodegen(OpBuilder &builder, const SpecExpr &source,
                  const SpecLocations &locs, Block &block, bool hasScore)
      : b(builder), source(source), locs(locs), block(block), hasScore(hasScore) {}

  Value emit(const Expr &e) {
    Location loc = locs.at(source.fileOffset(e.offset));
    switch (e.kind) {
    case Expr::Kind::IntLit:
      return constInt(loc, e.intValue);
    case Expr::Kind::FloatLit:
      return constFloat(loc, e.floatValue);
    case Expr::Kind::BoolLit:
      return arith::ConstantIntOp::create(b, loc, e.boolValue ? 1 : 0, 1);
    case Expr::Kind::Var:
      return emitVar(e, loc);
    case Expr::Kind::Cast: {
      Value v = emit(*e.args[0]);
      if (e.type == ExprType::Float)
        return arith::SIToFPOp::create(b, loc, b.getF32Type(), v);
      return arith::FPToSIOp::create(b, loc, b.getI64Type(), v);
    }
    case Expr::Kind::Unary: {
      Value v = emit(*e.args[0]);
      if (e.op == ExprOp::Not)
        return arith::XOrIOp::create(b, loc, v,
                                     arith::ConstantIntOp::create(b, loc, 1, 1));
      if (e.type == ExprType::Float)
        return arith::NegFOp::create(b, loc, v);
      return arith::SubIOp::create(b, loc, constInt(loc, 0), v);
    }
    case Expr::Kind::Select:
      return emitSelect(e, loc);
    case Expr::Kind::Binary:
      return emitBinary(e, loc);
    case Expr::Kind::Call:
      return emitCall(e, loc);
    case Expr::Kind::BufferLoad: {
      SmallVector<Value> indices;
      for (const ExprPtr &arg : e.args)
        indices.push_back(emit(*arg));
      Type elementType = e.storageType == "f32"   ? Type(b.getF32Type())
                         : e.storageType == "i32" ? Type(b.getI32Type())
                                                  : Type(b.getI64Type());
      Value v = attn::BufferLoadOp::create(b, loc, elementType, e.name, indices);
      return widen(v, loc);
    }
    }
    return {};
  }

private:
  Value constInt(Location loc, int64_t v) {
    return arith::ConstantIntOp::create(b, loc, v, 64);
  }
  Value constFloat(Location loc, double v) {
    return arith::ConstantFloatOp::create(b, loc, b.getF32Type(),
                                          APFloat(float(v)));
  }
  Value constBool(Location loc, bool v) {
    return arith::ConstantIntOp::create(b, loc, v ? 1 : 0, 1);
  }
  /// i32 run-time values become the language's 64-bit int.
  Value widen(Value v, Location loc) {
    if (v.getType().isSignlessInteger(32))
      return arith::ExtSIOp::create(b, loc, b.getI64Type(), v);
    return v;
  }

  Value emitVar(const Expr &e, Location loc) {
    switch (e.varKind) {
    case VarKind::Score:
      return block.getArgument(0);
    case VarKind::Index:
      return block.getArgument((hasScore ? 1 : 0) + unsigned(e.indexVar));
    case VarKind::Constant:
      return e.type == ExprType::Int ? constInt(loc, e.intValue)
                                     : constFloat(loc, e.floatValue);
    case VarKind::Scalar: {
      Type type = e.storageType == "f32"   ? Type(b.getF32Type())
                  : e.storageType == "i32" ? Type(b.getI32Type())
                                           : Type(b.getI64Type());
      return widen(attn::ScalarOp::create(b, loc, type, e.name), loc);
    }
    }
    return {};
  }

  Type typeOf(const Expr &e) {
    switch (e.type) {
    case ExprType::Bool:
      return b.getI1Type();
    case ExprType::Int:
      return b.getI64Type();
    case ExprType::Float:
      return b.getF32Type();
    }
    return {};
  }

  /// `cond ? then : else`, with the branches in an scf.if when one may fail.
  Value lazySelect(Location loc, Value cond, const Expr &thenExpr,
                   const Expr &elseExpr, Type type) {
    if (!thenExpr.mayFail() && !elseExpr.mayFail()) {
      Value t = emit(thenExpr);
      Value f = emit(elseExpr);
      return arith::SelectOp::create(b, loc, cond, t, f);
    }
    auto ifOp = scf::IfOp::create(b, loc, TypeRange{type}, cond,
                                  /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    scf::YieldOp::create(b, loc, emit(thenExpr));
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, loc, emit(elseExpr));
    return ifOp.getResult(0);
  }

  Value emitSelect(const Expr &e, Location loc) {
    Value cond = emit(*e.args[0]);
    return lazySelect(loc, cond, *e.args[1], *e.args[2], typeOf(e));
  }

  Value emitLogical(const Expr &e, Location loc) {
    Value lhs = emit(*e.args[0]);
    const Expr &rhsExpr = *e.args[1];
    bool isAnd = e.op == ExprOp::And;
    if (!rhsExpr.mayFail()) {
      Value rhs = emit(rhsExpr);
      return isAnd ? Value(arith::AndIOp::create(b, loc, lhs, rhs))
                   : Value(arith::OrIOp::create(b, loc, lhs, rhs));
    }
    auto ifOp = scf::IfOp::create(b, loc, TypeRange{b.getI1Type()}, lhs,
                                  /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(isAnd ? ifOp.thenBlock() : ifOp.elseBlock());
    scf::YieldOp::create(b, loc, emit(rhsExpr));
    b.setInsertionPointToStart(isAnd ? ifOp.elseBlock() : ifOp.thenBlock());
    scf::YieldOp::create(b, loc, constBool(loc, !isAnd));
    return ifOp.getResult(0);
  }

  /// Python's floor modulo: r = rem(a, b); r + b if r != 0 and sign(r) != sign(b).
  Value floorMod(Location loc, Value lhs, Value rhs, bool isFloat) {
    Value rem, zero, rNeg, bNeg, rNonZero, adjusted;
    if (isFloat) {
      rem = arith::RemFOp::create(b, loc, lhs, rhs);
      zero = constFloat(loc, 0.0);
      rNonZero = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, rem, zero);
      rNeg = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, rem, zero);
      bNeg = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, rhs, zero);
      adjusted = arith::AddFOp::create(b, loc, rem, rhs);
    } else {
      rem = arith::RemSIOp::create(b, loc, lhs, rhs);
      zero = constInt(loc, 0);
      rNonZero = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, rem, zero);
      rNeg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, rem, zero);
      bNeg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, rhs, zero);
      adjusted = arith::AddIOp::create(b, loc, rem, rhs);
    }
    Value signsDiffer = arith::XOrIOp::create(b, loc, rNeg, bNeg);
    Value fix = arith::AndIOp::create(b, loc, rNonZero, signsDiffer);
    return arith::SelectOp::create(b, loc, fix, adjusted, rem);
  }

  /// Python's float floor division, consistent with its modulo (see floorDivF in
  /// ExprEval.cpp): div = (a - fmod(a, b)) / b, adjusted to the floor.
  Value floorDivF(Location loc, Value lhs, Value rhs) {
    using P = arith::CmpFPredicate;
    Value zero = constFloat(loc, 0.0), one = constFloat(loc, 1.0);
    Value mod = arith::RemFOp::create(b, loc, lhs, rhs);
    Value div = arith::DivFOp::create(b, loc, arith::SubFOp::create(b, loc, lhs, mod), rhs);
    Value modNonZero = arith::CmpFOp::create(b, loc, P::UNE, mod, zero);
    Value signsDiffer = arith::XOrIOp::create(
        b, loc, arith::CmpFOp::create(b, loc, P::OLT, rhs, zero),
        arith::CmpFOp::create(b, loc, P::OLT, mod, zero));
    Value fix = arith::AndIOp::create(b, loc, modNonZero, signsDiffer);
    div = arith::SelectOp::create(b, loc, fix, arith::SubFOp::create(b, loc, div, one), div);
    Value floored = math::FloorOp::create(b, loc, div);
    Value roundUp = arith::CmpFOp::create(b, loc, P::OGT,
                                          arith::SubFOp::create(b, loc, div, floored),
                                          constFloat(loc, 0.5));
    floored = arith::SelectOp::create(b, loc, roundUp,
                                      arith::AddFOp::create(b, loc, floored, one), floored);
    Value signedZero = math::CopySignOp::create(
        b, loc, zero, arith::DivFOp::create(b, loc, lhs, rhs));
    Value isZero = arith::CmpFOp::create(b, loc, P::OEQ, div, zero);
    return arith::SelectOp::create(b, loc, isZero, signedZero, floored);
  }

  Value emitBinary(const Expr &e, Location loc) {
    if (e.op == ExprOp::And || e.op == ExprOp::Or)
      return emitLogical(e, loc);
    Value lhs = emit(*e.args[0]);
    Value rhs = emit(*e.args[1]);
    ExprType operandType = e.args[0]->type;
    bool isFloat = operandType == ExprType::Float;
    switch (e.op) {
    case ExprOp::Add:
      return isFloat ? Value(arith::AddFOp::create(b, loc, lhs, rhs))
                     : Value(arith::AddIOp::create(b, loc, lhs, rhs));
    case ExprOp::Sub:
      return isFloat ? Value(arith::SubFOp::create(b, loc, lhs, rhs))
                     : Value(arith::SubIOp::create(b, loc, lhs, rhs));
    case ExprOp::Mul:
      return isFloat ? Value(arith::MulFOp::create(b, loc, lhs, rhs))
                     : Value(arith::MulIOp::create(b, loc, lhs, rhs));
    case ExprOp::Div:
      return arith::DivFOp::create(b, loc, lhs, rhs);
    case ExprOp::FloorDiv:
      if (isFloat)
        return floorDivF(loc, lhs, rhs);
      return arith::FloorDivSIOp::create(b, loc, lhs, rhs);
    case ExprOp::Mod:
      return floorMod(loc, lhs, rhs, isFloat);
    default:
      break;
    }
    // Comparisons.
    if (operandType == ExprType::Bool || operandType == ExprType::Int) {
      arith::CmpIPredicate pred;
      switch (e.op) {
      case ExprOp::Lt: pred = arith::CmpIPredicate::slt; break;
      case ExprOp::Le: pred = arith::CmpIPredicate::sle; break;
      case ExprOp::Gt: pred = arith::CmpIPredicate::sgt; break;
      case ExprOp::Ge: pred = arith::CmpIPredicate::sge; break;
      case ExprOp::Eq: pred = arith::CmpIPredicate::eq; break;
      default: pred = arith::CmpIPredicate::ne; break;
      }
      return arith::CmpIOp::create(b, loc, pred, lhs, rhs);
    }
    arith::CmpFPredicate pred;
    switch (e.op) {
    case ExprOp::Lt: pred = arith::CmpFPredicate::OLT; break;
    case ExprOp::Le: pred = arith::CmpFPredicate::OLE; break;
    case ExprOp::Gt: pred = arith::CmpFPredicate::OGT; break;
    case ExprOp::Ge: pred = arith::CmpFPredicate::OGE; break;
    case ExprOp::Eq: pred = arith::CmpFPredicate::OEQ; break;
    default: pred = arith::CmpFPredicate::UNE; break;
    }
    return arith::CmpFOp::create(b, loc, pred, lhs, rhs);
  }

  Value emitCall(const Expr &e, Location loc) {
    SmallVector<Value> args;
    for (const ExprPtr &arg : e.args)
      args.push_back(emit(*arg));
    bool isInt = e.type == ExprType::Int;
    auto minOf = [&](Value x, Value y) -> Value {
      return isInt ? Value(arith::MinSIOp::create(b, loc, x, y))
                   : Value(arith::MinNumFOp::create(b, loc, x, y));
    };
    auto maxOf = [&](Value x, Value y) -> Value {
      return isInt ? Value(arith::MaxSIOp::create(b, loc, x, y))
                   : Value(arith::MaxNumFOp::create(b, loc, x, y));
    };
    Value x = args[0];
    switch (e.op) {
    case ExprOp::Exp: return math::ExpOp::create(b, loc, x);
    case ExprOp::Exp2: return math::Exp2Op::create(b, loc, x);
    case ExprOp::Log: return math::LogOp::create(b, loc, x);
    case ExprOp::Log2: return math::Log2Op::create(b, loc, x);
    case ExprOp::Sqrt: return math::SqrtOp::create(b, loc, x);
    case ExprOp::Rsqrt: return math::RsqrtOp::create(b, loc, x);
    case ExprOp::Tanh: return math::TanhOp::create(b, loc, x);
    case ExprOp::Sigmoid: {
      // 1 / (1 + exp(-x))
      Value e1 = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, x));
      Value one = constFloat(loc, 1.0);
      return arith::DivFOp::create(b, loc, one, arith::AddFOp::create(b, loc, one, e1));
    }
    case ExprOp::Abs:
      return isInt ? Value(math::AbsIOp::create(b, loc, x))
                   : Value(math::AbsFOp::create(b, loc, x));
    case ExprOp::Floor: return math::FloorOp::create(b, loc, x);
    case ExprOp::Ceil: return math::CeilOp::create(b, loc, x);
    case ExprOp::Min: return minOf(x, args[1]);
    case ExprOp::Max: return maxOf(x, args[1]);
    case ExprOp::Clamp: return minOf(maxOf(x, args[1]), args[2]);
    default:
      return {};
    }
  }

  OpBuilder &b;
  const SpecExpr &source;
  const SpecLocations &locs;
  Block &block;
  bool hasScore;
};

Type elementTypeOf(Builder &b, const std::string &dtype) {
  if (dtype == "f16")
    return b.getF16Type();
  if (dtype == "bf16")
    return b.getBF16Type();
  if (dtype == "i32")
    return b.getI32Type();
  if (dtype == "i64")
    return b.getI64Type();
  return b.getF32Type();
}

/// Fills one modifier region: block arguments, the expression (or its default), and
/// the attn.yield.
void buildRegion(OpBuilder &builder, Region &region, const SpecExpr &source,
                 const SpecLocations &locs, bool hasScore, Location defaultLoc) {
  Block *block = new Block();
  region.push_back(block);
  SmallVector<Type> argTypes;
  if (hasScore)
    argTypes.push_back(builder.getF32Type());
  argTypes.append(6, builder.getI64Type());
  for (Type t : argTypes)
    block->addArgument(t, defaultLoc);
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(block);
  Value result;
  Location loc = defaultLoc;
  if (source.expr) {
    ModifierCodegen codegen(builder, source, locs, *block, hasScore);
    result = codegen.emit(*source.expr);
    loc = locs.at(source.fieldOffset);
  } else if (hasScore) {
    result = block->getArgument(0); // score_mod defaults to `score`
  } else {
    result = arith::ConstantIntOp::create(builder, loc, 1, 1); // mask_mod: `true`
  }
  attn::YieldOp::create(builder, loc, result);
}

} // namespace

OwningOpRef<ModuleOp> generateIR(const Spec &spec, const SpecLocations &locs,
                                 MLIRContext *ctx) {
  OpBuilder b(ctx);
  Location loc = locs.at(spec.nameOffset);
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());

  SmallVector<NamedAttribute> constants, scalars, buffers;
  for (const SpecConstant &c : spec.constants)
    constants.push_back(b.getNamedAttr(
        c.name, c.isInt ? Attribute(b.getI64IntegerAttr(c.intValue))
                        : Attribute(b.getF64FloatAttr(c.floatValue))));
  for (const SpecScalar &s : spec.scalars)
    scalars.push_back(b.getNamedAttr(s.name, TypeAttr::get(elementTypeOf(b, s.type))));
  for (const SpecBuffer &buf : spec.buffers)
    buffers.push_back(b.getNamedAttr(
        buf.name, attn::BufferDeclAttr::get(ctx, elementTypeOf(b, buf.dtype),
                                            buf.shape, buf.requiresGrad)));
  auto dictOrNull = [&](ArrayRef<NamedAttribute> attrs) {
    return attrs.empty() ? DictionaryAttr() : b.getDictionaryAttr(attrs);
  };

  Type dtype = elementTypeOf(b, spec.dtype);
  auto variant = attn::VariantOp::create(
      b, loc, b.getStringAttr(spec.name), b.getI64IntegerAttr(spec.headsQ),
      b.getI64IntegerAttr(spec.headsKV), b.getI64IntegerAttr(spec.headDim),
      b.getI64IntegerAttr(spec.headDimV), TypeAttr::get(dtype),
      b.getF64FloatAttr(spec.scale), dictOrNull(constants), dictOrNull(scalars),
      dictOrNull(buffers));
  buildRegion(b, variant.getScoreMod(), spec.scoreMod, locs, /*hasScore=*/true, loc);
  buildRegion(b, variant.getMaskMod(), spec.maskMod, locs, /*hasScore=*/false, loc);

  // func.func @<name>_forward(q, k, v, scalars..., buffers...) -> (out, lse), with
  // scalars and buffers in the variant's (sorted) declaration order.
  int64_t dyn = ShapedType::kDynamic;
  auto tensor = [&](ArrayRef<int64_t> shape, Type elt) {
    return RankedTensorType::get(shape, elt);
  };
  SmallVector<Type> inputs = {
      tensor({dyn, spec.headsQ, dyn, spec.headDim}, dtype),
      tensor({dyn, spec.headsKV, dyn, spec.headDim}, dtype),
      tensor({dyn, spec.headsKV, dyn, spec.headDimV}, dtype)};
  unsigned numScalars = 0, numBuffers = 0;
  if (DictionaryAttr dict = variant.getScalarsAttr())
    for (NamedAttribute entry : dict) {
      inputs.push_back(cast<TypeAttr>(entry.getValue()).getValue());
      ++numScalars;
    }
  if (DictionaryAttr dict = variant.getBuffersAttr())
    for (NamedAttribute entry : dict) {
      auto decl = cast<attn::BufferDeclAttr>(entry.getValue());
      SmallVector<int64_t> shape;
      for (int64_t dim : decl.getShape())
        shape.push_back(dim == int64_t(attn::SymbolicDim::H)      ? spec.headsQ
                        : dim == int64_t(attn::SymbolicDim::H_KV) ? spec.headsKV
                        : attn::isSymbolicDim(dim)                ? dyn
                                                                  : dim);
      inputs.push_back(tensor(shape, decl.getElementType()));
      ++numBuffers;
    }
  SmallVector<Type> results = {
      tensor({dyn, spec.headsQ, dyn, spec.headDimV}, dtype),
      tensor({dyn, spec.headsQ, dyn}, b.getF32Type())};
  auto func = func::FuncOp::create(b, loc, spec.name + "_forward",
                                   b.getFunctionType(inputs, results));
  Block *body = func.addEntryBlock();
  b.setInsertionPointToStart(body);
  ValueRange args = body->getArguments();
  auto attention = attn::AttentionOp::create(
      b, loc, results[0], results[1], spec.name, args[0], args[1], args[2],
      args.slice(3, numScalars), args.slice(3 + numScalars, numBuffers));
  func::ReturnOp::create(b, loc, attention.getResults());
  return module;
}

} // namespace attnc::frontend
