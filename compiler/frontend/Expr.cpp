//===- Expr.cpp - typed expression trees ----------------------------------===//
//
// Names, spellings and the debug rendering of expression nodes.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontend/Expr.h"

#include <cstdio>

namespace attnc::frontend {

const char *exprTypeName(ExprType type) {
  switch (type) {
  case ExprType::Bool:
    return "bool";
  case ExprType::Int:
    return "int";
  case ExprType::Float:
    return "float";
  }
  return "?";
}

const char *exprOpSpelling(ExprOp op) {
  switch (op) {
  case ExprOp::Add: return "+";
  case ExprOp::Sub: return "-";
  case ExprOp::Mul: return "*";
  case ExprOp::Div: return "/";
  case ExprOp::FloorDiv: return "//";
  case ExprOp::Mod: return "%";
  case ExprOp::Lt: return "<";
  case ExprOp::Le: return "<=";
  case ExprOp::Gt: return ">";
  case ExprOp::Ge: return ">=";
  case ExprOp::Eq: return "==";
  case ExprOp::Ne: return "!=";
  case ExprOp::And: return "&&";
  case ExprOp::Or: return "||";
  case ExprOp::Neg: return "neg";
  case ExprOp::Not: return "!";
  case ExprOp::Exp: return "exp";
  case ExprOp::Exp2: return "exp2";
  case ExprOp::Log: return "log";
  case ExprOp::Log2: return "log2";
  case ExprOp::Sqrt: return "sqrt";
  case ExprOp::Rsqrt: return "rsqrt";
  case ExprOp::Tanh: return "tanh";
  case ExprOp::Sigmoid: return "sigmoid";
  case ExprOp::Abs: return "abs";
  case ExprOp::Floor: return "floor";
  case ExprOp::Ceil: return "ceil";
  case ExprOp::Min: return "min";
  case ExprOp::Max: return "max";
  case ExprOp::Clamp: return "clamp";
  }
  return "?";
}

const char *indexVarName(IndexVar var) {
  switch (var) {
  case IndexVar::B: return "b";
  case IndexVar::H: return "h";
  case IndexVar::QIdx: return "q_idx";
  case IndexVar::KVIdx: return "kv_idx";
  case IndexVar::QLen: return "q_len";
  case IndexVar::KVLen: return "kv_len";
  }
  return "?";
}

bool Expr::mayFail() const {
  if (kind == Kind::BufferLoad)
    return true;
  if (kind == Kind::Binary && type == ExprType::Int &&
      (op == ExprOp::FloorDiv || op == ExprOp::Mod))
    return true;
  for (const ExprPtr &arg : args)
    if (arg->mayFail())
      return true;
  return false;
}

std::string Expr::str() const {
  auto withArgs = [&](std::string head) {
    std::string s = "(" + head;
    for (const ExprPtr &arg : args)
      s += " " + arg->str();
    return s + ")";
  };
  switch (kind) {
  case Kind::IntLit:
    return std::to_string(intValue);
  case Kind::FloatLit: {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%g", floatValue);
    std::string s = buf;
    if (s.find_first_of(".ein") == std::string::npos)
      s += ".0";
    return s;
  }
  case Kind::BoolLit:
    return boolValue ? "true" : "false";
  case Kind::Var:
    return name;
  case Kind::Unary:
  case Kind::Binary:
  case Kind::Call:
    return withArgs(exprOpSpelling(op));
  case Kind::Select:
    return withArgs("?:");
  case Kind::BufferLoad:
    return withArgs(name + "[]");
  case Kind::Cast:
    return withArgs(type == ExprType::Float ? "float" : "int");
  }
  return "?";
}

} // namespace attnc::frontend
