//===- AttnAttrs.cpp - attn dialect attributes ----------------------------===//
//
// Parsing, printing and verification of `#attn.buffer<f32, [H, 64]>`.
//
//===----------------------------------------------------------------------===//
#include "dialect/AttnAttrs.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace attnc::attn;

namespace attnc::attn {

static constexpr std::pair<int64_t, llvm::StringLiteral> kSymbolicDims[] = {
    {int64_t(SymbolicDim::B), "B"},
    {int64_t(SymbolicDim::H), "H"},
    {int64_t(SymbolicDim::H_KV), "H_KV"},
    {int64_t(SymbolicDim::Q_LEN), "Q_LEN"},
    {int64_t(SymbolicDim::KV_LEN), "KV_LEN"},
};

llvm::StringRef symbolicDimName(int64_t dim) {
  for (auto &[code, name] : kSymbolicDims)
    if (code == dim)
      return name;
  return {};
}

std::optional<int64_t> symbolicDimFromName(llvm::StringRef name) {
  for (auto &[code, symName] : kSymbolicDims)
    if (symName == name)
      return code;
  return std::nullopt;
}

} // namespace attnc::attn

// #attn.buffer<ELEMENT-TYPE, [DIM, ...] (, requires_grad)?> where DIM is a positive
// integer or a symbolic dimension name.
Attribute BufferDeclAttr::parse(AsmParser &parser, Type) {
  Type elementType;
  SmallVector<int64_t> shape;
  if (parser.parseLess() || parser.parseType(elementType) || parser.parseComma())
    return {};
  auto parseDim = [&]() -> ParseResult {
    int64_t size;
    SMLoc loc = parser.getCurrentLocation();
    OptionalParseResult intResult = parser.parseOptionalInteger(size);
    if (intResult.has_value()) {
      if (failed(*intResult))
        return failure();
      // Negative codes are reserved for symbolic dimensions.
      if (size <= 0)
        return parser.emitError(loc, "buffer dimension must be positive or "
                                     "symbolic, got ")
               << size;
      shape.push_back(size);
      return success();
    }
    StringRef keyword;
    if (parser.parseKeyword(&keyword))
      return failure();
    std::optional<int64_t> code = symbolicDimFromName(keyword);
    if (!code)
      return parser.emitError(loc, "expected a positive integer or one of B, H, "
                                   "H_KV, Q_LEN, KV_LEN, got '")
             << keyword << "'";
    shape.push_back(*code);
    return success();
  };
  if (parser.parseCommaSeparatedList(AsmParser::Delimiter::Square, parseDim))
    return {};
  bool requiresGrad = false;
  if (succeeded(parser.parseOptionalComma())) {
    if (parser.parseKeyword("requires_grad"))
      return {};
    requiresGrad = true;
  }
  if (parser.parseGreater())
    return {};
  return parser.getChecked<BufferDeclAttr>(parser.getContext(), elementType, shape,
                                           requiresGrad);
}

void BufferDeclAttr::print(AsmPrinter &printer) const {
  printer << "<" << getElementType() << ", [";
  llvm::interleaveComma(getShape(), printer, [&](int64_t dim) {
    if (isSymbolicDim(dim))
      printer << symbolicDimName(dim);
    else
      printer << dim;
  });
  printer << "]";
  if (getRequiresGrad())
    printer << ", requires_grad";
  printer << ">";
}

LogicalResult
BufferDeclAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                       Type elementType, ArrayRef<int64_t> shape, bool requiresGrad) {
  if (!elementType.isF32() && !elementType.isSignlessInteger(32) &&
      !elementType.isSignlessInteger(64))
    return emitError() << "buffer element type must be f32, i32 or i64, got "
                       << elementType;
  if (shape.empty())
    return emitError() << "buffer must have at least one dimension";
  if (requiresGrad && !elementType.isF32())
    return emitError() << "only f32 buffers can require gradients, got " << elementType;
  for (int64_t dim : shape)
    if (dim == 0 || (dim < 0 && !isSymbolicDim(dim)))
      return emitError() << "buffer dimension must be positive or symbolic, got "
                         << dim;
  return success();
}


#define GET_ATTRDEF_CLASSES
#include "dialect/AttnAttrs.cpp.inc"

void AttnDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialect/AttnAttrs.cpp.inc"
      >();
}
