//===- ExprLexer.cpp - tokens of the expression language ------------------===//
//
// A hand-written lexer: identifiers, integer and decimal float literals, and the
// operators of docs/spec.md, "Expressions". Malformed input becomes a Tok::Error
// with a message that says what was expected (e.g. a lone '&' suggests '&&').
//
//===----------------------------------------------------------------------===//
#include "compiler/frontend/ExprLexer.h"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace attnc::frontend {

static bool isIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
static bool isIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}
static bool isDigit(char c) { return c >= '0' && c <= '9'; }

Token ExprLexer::lexNumber(unsigned start) {
  Token tok;
  tok.offset = start;
  bool isFloat = false;
  while (pos < src.size() && isDigit(src[pos]))
    ++pos;
  if (pos < src.size() && src[pos] == '.') {
    isFloat = true;
    ++pos;
    while (pos < src.size() && isDigit(src[pos]))
      ++pos;
  }
  if (pos < src.size() && (src[pos] == 'e' || src[pos] == 'E')) {
    isFloat = true;
    ++pos;
    if (pos < src.size() && (src[pos] == '+' || src[pos] == '-'))
      ++pos;
    if (pos >= src.size() || !isDigit(src[pos])) {
      tok.kind = Tok::Error;
      tok.error = "expected digits in the exponent of a number";
      return tok;
    }
    while (pos < src.size() && isDigit(src[pos]))
      ++pos;
  }
  tok.text = src.substr(start, pos - start);
  if (pos < src.size() && (isIdentChar(src[pos]) || src[pos] == '.')) {
    while (pos < src.size() && (isIdentChar(src[pos]) || src[pos] == '.'))
      ++pos;
    tok.kind = Tok::Error;
    tok.error = "invalid number '" + std::string(src.substr(start, pos - start)) + "'";
    return tok;
  }
  std::string text(tok.text);
  errno = 0;
  if (isFloat) {
    tok.kind = Tok::Float;
    tok.floatValue = std::strtod(text.c_str(), nullptr);
    if (errno == ERANGE && (tok.floatValue > 1 || tok.floatValue < -1)) {
      tok.kind = Tok::Error;
      tok.error = "float literal '" + text + "' is out of range";
    }
    return tok;
  }
  tok.kind = Tok::Int;
  tok.intValue = std::strtoll(text.c_str(), nullptr, 10);
  if (errno == ERANGE) {
    tok.kind = Tok::Error;
    tok.error = "integer literal '" + text + "' does not fit in 64 bits";
  }
  return tok;
}

Token ExprLexer::next() {
  while (pos < src.size() &&
         (src[pos] == ' ' || src[pos] == '\t' || src[pos] == '\n' || src[pos] == '\r'))
    ++pos;
  Token tok;
  tok.offset = pos;
  if (pos >= src.size()) {
    tok.kind = Tok::End;
    return tok;
  }
  unsigned start = pos;
  char c = src[pos];
  if (isIdentStart(c)) {
    while (pos < src.size() && isIdentChar(src[pos]))
      ++pos;
    tok.text = src.substr(start, pos - start);
    tok.kind = Tok::Ident;
    if (tok.text == "and")
      tok.kind = Tok::AndAnd;
    else if (tok.text == "or")
      tok.kind = Tok::OrOr;
    else if (tok.text == "not")
      tok.kind = Tok::Bang;
    return tok;
  }
  if (isDigit(c) || (c == '.' && pos + 1 < src.size() && isDigit(src[pos + 1])))
    return lexNumber(start);

  auto peekIs = [&](char want) {
    return pos + 1 < src.size() && src[pos + 1] == want;
  };
  auto make = [&](Tok kind, unsigned length) {
    tok.kind = kind;
    tok.text = src.substr(start, length);
    pos += length;
    return tok;
  };
  switch (c) {
  case '(': return make(Tok::LParen, 1);
  case ')': return make(Tok::RParen, 1);
  case '[': return make(Tok::LBracket, 1);
  case ']': return make(Tok::RBracket, 1);
  case ',': return make(Tok::Comma, 1);
  case '?': return make(Tok::Question, 1);
  case ':': return make(Tok::Colon, 1);
  case '+': return make(Tok::Plus, 1);
  case '-': return make(Tok::Minus, 1);
  case '*': return make(Tok::Star, 1);
  case '%': return make(Tok::Percent, 1);
  case '/': return peekIs('/') ? make(Tok::SlashSlash, 2) : make(Tok::Slash, 1);
  case '<': return peekIs('=') ? make(Tok::Le, 2) : make(Tok::Lt, 1);
  case '>': return peekIs('=') ? make(Tok::Ge, 2) : make(Tok::Gt, 1);
  case '!': return peekIs('=') ? make(Tok::NotEq, 2) : make(Tok::Bang, 1);
  case '=':
    if (peekIs('='))
      return make(Tok::EqEq, 2);
    tok.kind = Tok::Error;
    tok.error = "unexpected '='; did you mean '=='?";
    return tok;
  case '&':
    if (peekIs('&'))
      return make(Tok::AndAnd, 2);
    tok.kind = Tok::Error;
    tok.error = "unexpected '&'; did you mean '&&'?";
    return tok;
  case '|':
    if (peekIs('|'))
      return make(Tok::OrOr, 2);
    tok.kind = Tok::Error;
    tok.error = "unexpected '|'; did you mean '||'?";
    return tok;
  default:
    break;
  }
  tok.kind = Tok::Error;
  unsigned char uc = static_cast<unsigned char>(c);
  if (std::isprint(uc)) {
    tok.error = std::string("unexpected character '") + c + "'";
  } else {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "0x%02X", uc);
    tok.error = std::string("unexpected ") + (uc >= 0x80 ? "non-ASCII " : "control ") +
                "byte " + buf + " (expressions are ASCII)";
  }
  return tok;
}

std::string describeToken(const Token &token) {
  switch (token.kind) {
  case Tok::End:
    return "end of expression";
  case Tok::Ident:
    return "identifier '" + std::string(token.text) + "'";
  case Tok::Int:
  case Tok::Float:
    return "number '" + std::string(token.text) + "'";
  default:
    return "'" + std::string(token.text) + "'";
  }
}

} // namespace attnc::frontend
