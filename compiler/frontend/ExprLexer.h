//===- ExprLexer.h - tokens of the expression language ----------*- C++ -*-===//
//
// Splits a score_mod/mask_mod string into tokens, each with its byte offset. Word
// operators (`and`, `or`, `not`) become their symbolic tokens here, so the parser
// sees one spelling per operator.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_FRONTEND_EXPRLEXER_H
#define ATTNC_COMPILER_FRONTEND_EXPRLEXER_H

#include <cstdint>
#include <string>
#include <string_view>

namespace attnc::frontend {

enum class Tok {
  End, Error, Ident, Int, Float,
  LParen, RParen, LBracket, RBracket, Comma, Question, Colon,
  OrOr, AndAnd, EqEq, NotEq, Lt, Le, Gt, Ge,
  Plus, Minus, Star, Slash, SlashSlash, Percent, Bang,
};

struct Token {
  Tok kind = Tok::End;
  unsigned offset = 0;
  std::string_view text;
  int64_t intValue = 0;
  double floatValue = 0;
  std::string error; ///< for Tok::Error: what is wrong
};

class ExprLexer {
public:
  explicit ExprLexer(std::string_view source) : src(source) {}
  /// The next token; Tok::End at the end, Tok::Error (with a message) on bad input.
  Token next();

private:
  Token lexNumber(unsigned start);
  std::string_view src;
  unsigned pos = 0;
};

/// How a token is shown in diagnostics: `'&&'`, `identifier 'foo'`, `end of input`.
std::string describeToken(const Token &token);

} // namespace attnc::frontend

#endif // ATTNC_COMPILER_FRONTEND_EXPRLEXER_H
