//===- ExprParser.cpp - parse and type-check an expression ----------------===//
//
// Grammar, loosest first (docs/spec.md, "Expressions"):
//   ternary := or ('?' ternary ':' ternary)?
//   or      := and ('||' and)*          and := eq ('&&' eq)*
//   eq      := rel (('=='|'!=') rel)*   rel := add (('<'|'<='|'>'|'>=') add)*
//   add     := mul (('+'|'-') mul)*     mul := unary (('*'|'/'|'//'|'%') unary)*
//   unary   := ('-'|'!') unary | primary
//   primary := INT | FLOAT | true | false | inf | NAME | NAME '(' args ')'
//            | NAME '[' args ']' | '(' ternary ')'
// Type rules: int/float mix promotes to float, `/` is float division, comparisons give
// bool, logical operators take bool only, bool is never a number.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontend/ExprParser.h"
#include "compiler/frontend/ExprLexer.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace attnc::frontend {

const char *modifierName(ModifierKind kind) {
  return kind == ModifierKind::ScoreMod ? "score_mod" : "mask_mod";
}

namespace {

struct FunctionInfo {
  const char *name;
  ExprOp op;
  unsigned arity;
};

// Float functions: their arguments are promoted to float. `abs`, `min`, `max` and
// `clamp` keep int when all arguments are int.
constexpr FunctionInfo kFunctions[] = {
    {"exp", ExprOp::Exp, 1},     {"exp2", ExprOp::Exp2, 1},
    {"log", ExprOp::Log, 1},     {"log2", ExprOp::Log2, 1},
    {"sqrt", ExprOp::Sqrt, 1},   {"rsqrt", ExprOp::Rsqrt, 1},
    {"tanh", ExprOp::Tanh, 1},   {"sigmoid", ExprOp::Sigmoid, 1},
    {"abs", ExprOp::Abs, 1},     {"floor", ExprOp::Floor, 1},
    {"ceil", ExprOp::Ceil, 1},   {"min", ExprOp::Min, 2},
    {"max", ExprOp::Max, 2},     {"clamp", ExprOp::Clamp, 3},
};

const FunctionInfo *lookupFunction(std::string_view name) {
  for (const FunctionInfo &f : kFunctions)
    if (name == f.name)
      return &f;
  return nullptr;
}

bool keepsIntType(ExprOp op) {
  return op == ExprOp::Abs || op == ExprOp::Min || op == ExprOp::Max ||
         op == ExprOp::Clamp;
}

bool isNumeric(ExprType type) { return type != ExprType::Bool; }

class Parser {
public:
  Parser(std::string_view source, const ExprEnv &env, ModifierKind kind)
      : lexer(source), env(env), kind(kind) {
    advance();
  }

  ExprPtr parseAll() {
    ExprPtr expr = parseTernary();
    if (!expr)
      return nullptr;
    if (tok.kind == Tok::Error)
      return fail(tok.offset, tok.error);
    if (tok.kind != Tok::End)
      return fail(tok.offset, "expected an operator or end of expression, got " +
                                  describeToken(tok));
    return expr;
  }

  const std::vector<std::pair<unsigned, std::string>> &errors() const {
    return semanticErrors;
  }

private:
  // --- Tokens and errors --------------------------------------------------

  void advance() { tok = lexer.next(); }

  /// A syntax error: parsing stops.
  ExprPtr fail(unsigned offset, std::string message) {
    if (!failed) {
      failed = true;
      semanticErrors.push_back({offset, std::move(message)});
    }
    return nullptr;
  }

  /// An error in the meaning of a well-formed subexpression (a type error, an
  /// unknown name): recorded, and a poison node of `type` stands in for the
  /// subexpression so that parsing goes on without reporting its consequences.
  ExprPtr semanticError(unsigned offset, std::string message, ExprType type = ExprType::Float) {
    semanticErrors.push_back({offset, std::move(message)});
    return poisonNode(type, offset);
  }

  static ExprPtr poisonNode(ExprType type, unsigned offset) {
    auto node = std::make_unique<Expr>(Expr::Kind::IntLit, type, offset);
    node->poison = true;
    return node;
  }

  static bool anyPoison(const std::vector<ExprPtr> &args) {
    for (const ExprPtr &a : args)
      if (a->poison)
        return true;
    return false;
  }

  bool expect(Tok kind, const char *what) {
    if (tok.kind == kind) {
      advance();
      return true;
    }
    if (tok.kind == Tok::Error)
      fail(tok.offset, tok.error);
    else
      fail(tok.offset, std::string("expected ") + what + ", got " +
                           describeToken(tok));
    return false;
  }

  /// Guards recursion so hostile input cannot overflow the stack.
  struct DepthGuard {
    Parser &p;
    bool ok;
    DepthGuard(Parser &p) : p(p), ok(++p.depth <= kMaxExprDepth) {}
    ~DepthGuard() { --p.depth; }
  };

  // --- Node construction --------------------------------------------------

  static ExprPtr makeNode(Expr::Kind k, ExprType type, unsigned offset) {
    return std::make_unique<Expr>(k, type, offset);
  }

  /// Converts `e` to float (a no-op for float).
  static ExprPtr toFloat(ExprPtr e) {
    if (e->type == ExprType::Float)
      return e;
    auto cast = makeNode(Expr::Kind::Cast, ExprType::Float, e->offset);
    cast->args.push_back(std::move(e));
    return cast;
  }

  static std::string typeList(const std::vector<ExprPtr> &args) {
    std::string s;
    for (size_t i = 0; i < args.size(); ++i)
      s += (i ? (i + 1 == args.size() ? " and " : ", ") : "") +
           std::string(exprTypeName(args[i]->type));
    return s;
  }

  /// Promotes numeric operands to a common type: float if any is float.
  static ExprType promote(std::vector<ExprPtr> &args) {
    bool anyFloat = false;
    for (ExprPtr &a : args)
      anyFloat |= a->type == ExprType::Float;
    if (anyFloat)
      for (ExprPtr &a : args)
        a = toFloat(std::move(a));
    return anyFloat ? ExprType::Float : ExprType::Int;
  }

  ExprPtr makeBinary(ExprOp op, unsigned offset, ExprPtr lhs, ExprPtr rhs) {
    std::vector<ExprPtr> args;
    args.push_back(std::move(lhs));
    args.push_back(std::move(rhs));
    ExprType lt = args[0]->type, rt = args[1]->type;
    ExprType result;
    std::string opName = std::string("'") + exprOpSpelling(op) + "'";
    if (anyPoison(args)) {
      bool boolean = op == ExprOp::And || op == ExprOp::Or || op == ExprOp::Eq ||
                     op == ExprOp::Ne || op == ExprOp::Lt || op == ExprOp::Le ||
                     op == ExprOp::Gt || op == ExprOp::Ge;
      return poisonNode(boolean ? ExprType::Bool : ExprType::Float, offset);
    }
    switch (op) {
    case ExprOp::And:
    case ExprOp::Or:
      if (lt != ExprType::Bool || rt != ExprType::Bool)
        return semanticError(offset, "operator " + opName + " requires bool operands, got " +
                                         typeList(args),
                             ExprType::Bool);
      result = ExprType::Bool;
      break;
    case ExprOp::Eq:
    case ExprOp::Ne:
      if (lt == ExprType::Bool && rt == ExprType::Bool) {
        result = ExprType::Bool;
        break;
      }
      [[fallthrough]];
    case ExprOp::Lt:
    case ExprOp::Le:
    case ExprOp::Gt:
    case ExprOp::Ge:
      if (!isNumeric(lt) || !isNumeric(rt))
        return semanticError(offset,
                             "operator " + opName + " requires numeric operands" +
                                 (op == ExprOp::Eq || op == ExprOp::Ne ? " (or two bools)"
                                                                       : "") +
                                 ", got " + typeList(args),
                             ExprType::Bool);
      promote(args);
      result = ExprType::Bool;
      break;
    case ExprOp::Div:
      if (!isNumeric(lt) || !isNumeric(rt))
        return semanticError(offset, "operator " + opName +
                                         " requires numeric operands, got " + typeList(args));
      args[0] = toFloat(std::move(args[0]));
      args[1] = toFloat(std::move(args[1]));
      result = ExprType::Float;
      break;
    default:
      if (!isNumeric(lt) || !isNumeric(rt))
        return semanticError(offset, "operator " + opName +
                                         " requires numeric operands, got " + typeList(args));
      result = promote(args);
      break;
    }
    auto node = makeNode(Expr::Kind::Binary, result, offset);
    node->op = op;
    node->args = std::move(args);
    return node;
  }

  // --- Grammar -------------------------------------------------------------

  ExprPtr parseTernary() {
    DepthGuard guard(*this);
    if (!guard.ok)
      return fail(tok.offset, "expression is nested too deeply");
    ExprPtr cond = parseOr();
    if (!cond || tok.kind != Tok::Question)
      return cond;
    unsigned offset = tok.offset;
    advance();
    ExprPtr thenExpr = parseTernary();
    if (!thenExpr || !expect(Tok::Colon, "':' of '?:'"))
      return nullptr;
    ExprPtr elseExpr = parseTernary();
    if (!elseExpr)
      return nullptr;
    return makeSelect(offset, "'?:'", std::move(cond), std::move(thenExpr),
                      std::move(elseExpr));
  }

  ExprPtr makeSelect(unsigned offset, const std::string &what, ExprPtr cond,
                     ExprPtr thenExpr, ExprPtr elseExpr) {
    if (cond->poison || thenExpr->poison || elseExpr->poison)
      return poisonNode(thenExpr->poison ? elseExpr->type : thenExpr->type, offset);
    if (cond->type != ExprType::Bool)
      return semanticError(cond->offset, "condition of " + what + " must be bool, got " +
                                             exprTypeName(cond->type),
                           thenExpr->type);
    std::vector<ExprPtr> branches;
    branches.push_back(std::move(thenExpr));
    branches.push_back(std::move(elseExpr));
    ExprType type;
    if (branches[0]->type == ExprType::Bool && branches[1]->type == ExprType::Bool)
      type = ExprType::Bool;
    else if (isNumeric(branches[0]->type) && isNumeric(branches[1]->type))
      type = promote(branches);
    else
      return semanticError(offset, "branches of " + what +
                                       " must both be numeric or both bool, got " +
                                       typeList(branches));
    auto node = makeNode(Expr::Kind::Select, type, offset);
    node->args.push_back(std::move(cond));
    node->args.push_back(std::move(branches[0]));
    node->args.push_back(std::move(branches[1]));
    return node;
  }

  template <typename Next>
  ExprPtr parseLeftAssoc(Next next, std::initializer_list<std::pair<Tok, ExprOp>> ops) {
    ExprPtr lhs = (this->*next)();
    // Each chained operator deepens the (left-leaning) tree by one level. A flat
    // chain is not nesting (`1 + 1 + ... + 1` is fine), but the trees of later
    // stages are walked recursively: chains have a limit of their own.
    unsigned chained = 0;
    struct Restore {
      unsigned &depth, &chained;
      ~Restore() { depth -= chained; }
    } restore{chainDepth, chained};
    while (lhs) {
      const std::pair<Tok, ExprOp> *match = nullptr;
      for (const auto &entry : ops)
        if (entry.first == tok.kind)
          match = &entry;
      if (!match)
        return lhs;
      unsigned offset = tok.offset;
      if (++chainDepth, ++chained, chainDepth > kMaxExprChain)
        return fail(offset, "expression chains more than " + std::to_string(kMaxExprChain) +
                                " binary operators");
      advance();
      ExprPtr rhs = (this->*next)();
      if (!rhs)
        return nullptr;
      lhs = makeBinary(match->second, offset, std::move(lhs), std::move(rhs));
    }
    return nullptr;
  }

  ExprPtr parseOr() { return parseLeftAssoc(&Parser::parseAnd, {{Tok::OrOr, ExprOp::Or}}); }
  ExprPtr parseAnd() { return parseLeftAssoc(&Parser::parseEq, {{Tok::AndAnd, ExprOp::And}}); }
  ExprPtr parseEq() {
    return parseLeftAssoc(&Parser::parseRel,
                          {{Tok::EqEq, ExprOp::Eq}, {Tok::NotEq, ExprOp::Ne}});
  }
  ExprPtr parseRel() {
    return parseLeftAssoc(&Parser::parseAdd,
                          {{Tok::Lt, ExprOp::Lt}, {Tok::Le, ExprOp::Le},
                           {Tok::Gt, ExprOp::Gt}, {Tok::Ge, ExprOp::Ge}});
  }
  ExprPtr parseAdd() {
    return parseLeftAssoc(&Parser::parseMul,
                          {{Tok::Plus, ExprOp::Add}, {Tok::Minus, ExprOp::Sub}});
  }
  ExprPtr parseMul() {
    return parseLeftAssoc(&Parser::parseUnary,
                          {{Tok::Star, ExprOp::Mul}, {Tok::Slash, ExprOp::Div},
                           {Tok::SlashSlash, ExprOp::FloorDiv},
                           {Tok::Percent, ExprOp::Mod}});
  }

  ExprPtr parseUnary() {
    DepthGuard guard(*this);
    if (!guard.ok)
      return fail(tok.offset, "expression is nested too deeply");
    if (tok.kind != Tok::Minus && tok.kind != Tok::Bang)
      return parsePrimary();
    bool isNeg = tok.kind == Tok::Minus;
    unsigned offset = tok.offset;
    std::string spelling(tok.text);
    advance();
    ExprPtr operand = parseUnary();
    if (!operand)
      return nullptr;
    if (operand->poison)
      return poisonNode(isNeg ? ExprType::Float : ExprType::Bool, offset);
    if (isNeg && !isNumeric(operand->type))
      return semanticError(offset, "unary '-' requires a numeric operand, got bool");
    if (!isNeg && operand->type != ExprType::Bool)
      return semanticError(offset, "'" + spelling + "' requires a bool operand, got " +
                                       exprTypeName(operand->type),
                           ExprType::Bool);
    auto node = makeNode(Expr::Kind::Unary, operand->type, offset);
    node->op = isNeg ? ExprOp::Neg : ExprOp::Not;
    node->args.push_back(std::move(operand));
    return node;
  }

  /// Parses a parenthesised or bracketed, comma-separated argument list; the opening
  /// token is current.
  bool parseArgs(Tok close, const char *closeName, std::vector<ExprPtr> &args) {
    advance();
    if (tok.kind == close) {
      advance();
      return true;
    }
    while (true) {
      ExprPtr arg = parseTernary();
      if (!arg)
        return false;
      args.push_back(std::move(arg));
      if (tok.kind == Tok::Comma) {
        advance();
        continue;
      }
      return expect(close, closeName);
    }
  }

  ExprPtr parsePrimary() {
    Token t = tok;
    switch (t.kind) {
    case Tok::Int: {
      advance();
      auto node = makeNode(Expr::Kind::IntLit, ExprType::Int, t.offset);
      node->intValue = t.intValue;
      return node;
    }
    case Tok::Float: {
      advance();
      auto node = makeNode(Expr::Kind::FloatLit, ExprType::Float, t.offset);
      node->floatValue = t.floatValue;
      return node;
    }
    case Tok::LParen: {
      advance();
      ExprPtr inner = parseTernary();
      if (!inner || !expect(Tok::RParen, "')'"))
        return nullptr;
      return inner;
    }
    case Tok::Ident:
      return parseName();
    case Tok::Error:
      return fail(t.offset, t.error);
    case Tok::End:
      return fail(t.offset, "expected an expression, got end of expression");
    default:
      return fail(t.offset, "expected an expression, got " + describeToken(t));
    }
  }

  ExprPtr parseName() {
    Token t = tok;
    std::string name(t.text);
    advance();
    if (tok.kind == Tok::LParen)
      return parseCall(t);
    if (tok.kind == Tok::LBracket)
      return parseIndex(t);

    if (name == "true" || name == "false") {
      auto node = makeNode(Expr::Kind::BoolLit, ExprType::Bool, t.offset);
      node->boolValue = name == "true";
      return node;
    }
    if (name == "inf") {
      auto node = makeNode(Expr::Kind::FloatLit, ExprType::Float, t.offset);
      node->floatValue = std::numeric_limits<double>::infinity();
      return node;
    }
    if (name == "score") {
      if (kind != ModifierKind::ScoreMod)
        return fail(t.offset, "'score' is only available in score_mod");
      auto node = makeNode(Expr::Kind::Var, ExprType::Float, t.offset);
      node->name = name;
      node->varKind = VarKind::Score;
      return node;
    }
    static constexpr IndexVar kIndexVars[] = {IndexVar::B,     IndexVar::H,
                                              IndexVar::QIdx,  IndexVar::KVIdx,
                                              IndexVar::QLen,  IndexVar::KVLen};
    for (IndexVar var : kIndexVars)
      if (name == indexVarName(var)) {
        auto node = makeNode(Expr::Kind::Var, ExprType::Int, t.offset);
        node->name = name;
        node->varKind = VarKind::Index;
        node->indexVar = var;
        return node;
      }
    if (lookupFunction(name) || name == "where" || name == "float" || name == "int")
      return semanticError(t.offset, "function '" + name + "' must be called, e.g. " + name +
                                         "(...)");
    auto it = env.symbols.find(name);
    if (it == env.symbols.end())
      return semanticError(t.offset, "unknown name '" + name + "'");
    const ExprSymbol &sym = it->second;
    if (sym.kind == ExprSymbol::Kind::Buffer)
      return semanticError(t.offset, "buffer '" + name + "' must be indexed, e.g. " + name +
                                         "[" + (sym.rank == 2 ? "i, j" : "i") + "]");
    auto node = makeNode(Expr::Kind::Var, sym.type, t.offset);
    node->name = name;
    node->varKind =
        sym.kind == ExprSymbol::Kind::Constant ? VarKind::Constant : VarKind::Scalar;
    node->intValue = sym.intValue;
    node->floatValue = sym.floatValue;
    node->storageType = sym.storageType;
    return node;
  }

  ExprPtr parseIndex(const Token &nameTok) {
    std::string name(nameTok.text);
    std::vector<ExprPtr> indices;
    if (!parseArgs(Tok::RBracket, "',' or ']'", indices))
      return nullptr;
    auto it = env.symbols.find(name);
    if (it == env.symbols.end() || it->second.kind != ExprSymbol::Kind::Buffer)
      return semanticError(nameTok.offset,
                           it == env.symbols.end() && !isKnownNonBuffer(name)
                               ? "unknown buffer '" + name + "'"
                               : "'" + name + "' is not a buffer and cannot be indexed");
    const ExprSymbol &sym = it->second;
    if (anyPoison(indices))
      return poisonNode(sym.type, nameTok.offset);
    if (indices.size() != sym.rank)
      return semanticError(nameTok.offset,
                  "buffer '" + name + "' has " + std::to_string(sym.rank) +
                      (sym.rank == 1 ? " dimension" : " dimensions") + " but " +
                      std::to_string(indices.size()) +
                      (indices.size() == 1 ? " index was" : " indices were") +
                      " given", sym.type);
    for (ExprPtr &index : indices)
      if (index->type != ExprType::Int)
        return semanticError(index->offset, "index of buffer '" + name + "' must be int, got " +
                                                exprTypeName(index->type),
                             sym.type);
    auto node = makeNode(Expr::Kind::BufferLoad, sym.type, nameTok.offset);
    node->name = name;
    node->storageType = sym.storageType;
    node->args = std::move(indices);
    return node;
  }

  bool isKnownNonBuffer(const std::string &name) const {
    return name == "score" || name == "b" || name == "h" || name == "q_idx" ||
           name == "kv_idx" || name == "q_len" || name == "kv_len" ||
           name == "where" || name == "float" || name == "int" || name == "true" ||
           name == "false" || name == "inf" || lookupFunction(name);
  }

  ExprPtr parseCall(const Token &nameTok) {
    std::string name(nameTok.text);
    const FunctionInfo *fn = lookupFunction(name);
    bool isWhere = name == "where", isFloat = name == "float", isInt = name == "int";
    std::vector<ExprPtr> args;
    if (!parseArgs(Tok::RParen, "',' or ')'", args))
      return nullptr;
    if (!fn && !isWhere && !isFloat && !isInt) {
      if (env.symbols.count(name) || isKnownNonBuffer(name) || name == "true" ||
          name == "false" || name == "inf")
        return semanticError(nameTok.offset, "'" + name + "' is not a function");
      return semanticError(nameTok.offset, "unknown function '" + name + "'");
    }
    unsigned arity = fn ? fn->arity : isWhere ? 3 : 1;
    if (args.size() != arity)
      return semanticError(nameTok.offset,
                  "'" + name + "' takes " + std::to_string(arity) +
                      (arity == 1 ? " argument" : " arguments") + ", got " +
                      std::to_string(args.size()));
    if (isWhere)
      return makeSelect(nameTok.offset, "'where'", std::move(args[0]),
                        std::move(args[1]), std::move(args[2]));
    if (anyPoison(args))
      return poisonNode(isInt ? ExprType::Int : ExprType::Float, nameTok.offset);
    for (ExprPtr &arg : args)
      if (!isNumeric(arg->type))
        return semanticError(arg->offset, "argument of '" + name + "' must be numeric, got " +
                                              exprTypeName(arg->type),
                             isInt ? ExprType::Int : ExprType::Float);
    if (isFloat || isInt) {
      ExprType target = isFloat ? ExprType::Float : ExprType::Int;
      if (args[0]->type == target)
        return std::move(args[0]);
      auto node = makeNode(Expr::Kind::Cast, target, nameTok.offset);
      node->args.push_back(std::move(args[0]));
      return node;
    }
    ExprType type;
    if (keepsIntType(fn->op)) {
      type = promote(args);
    } else {
      for (ExprPtr &arg : args)
        arg = toFloat(std::move(arg));
      type = ExprType::Float;
    }
    auto node = makeNode(Expr::Kind::Call, type, nameTok.offset);
    node->op = fn->op;
    node->args = std::move(args);
    return node;
  }

  ExprLexer lexer;
  const ExprEnv &env;
  ModifierKind kind;
  Token tok;
  unsigned depth = 0;      ///< nesting: parentheses, calls, unary operators, ?:
  unsigned chainDepth = 0; ///< binary operators chained on the current path
  bool failed = false;
  /// Every error found, syntax errors included, in the order found.
  std::vector<std::pair<unsigned, std::string>> semanticErrors;
};

} // namespace

ExprPtr parseModifier(std::string_view source, const ExprEnv &env,
                      ModifierKind kind, ExprError &error) {
  Parser parser(source, env, kind);
  ExprPtr expr = parser.parseAll();
  if (!parser.errors().empty()) {
    std::vector<std::pair<unsigned, std::string>> all = parser.errors();
    std::stable_sort(all.begin(), all.end(),
                     [](const auto &a, const auto &b) { return a.first < b.first; });
    error.offset = all.front().first;
    error.message = all.front().second;
    error.more.assign(all.begin() + 1, all.end());
    return nullptr;
  }
  // Whole-expression type errors point at the expression's first token.
  unsigned start = 0;
  while (start < source.size() && (source[start] == ' ' || source[start] == '\t' ||
                                   source[start] == '\n' || source[start] == '\r'))
    ++start;
  if (kind == ModifierKind::MaskMod && expr->type != ExprType::Bool) {
    error.offset = start;
    error.message = std::string("mask_mod must be a bool expression, got ") +
                    exprTypeName(expr->type);
    return nullptr;
  }
  if (kind == ModifierKind::ScoreMod) {
    if (expr->type == ExprType::Bool) {
      error.offset = start;
      error.message = "score_mod must be a numeric expression, got bool";
      return nullptr;
    }
    if (expr->type == ExprType::Int) {
      auto cast = std::make_unique<Expr>(Expr::Kind::Cast, ExprType::Float,
                                         expr->offset);
      cast->args.push_back(std::move(expr));
      expr = std::move(cast);
    }
  }
  return expr;
}

} // namespace attnc::frontend
