//===- SpecReader.cpp - read and check a spec file -------------------------===//
//
// Validation proceeds field by field; a bad field is reported and reading goes on, so
// one run shows every independent mistake. Expressions are parsed last, once the
// names they may use (constants, scalars, buffers) are known.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontend/SpecReader.h"
#include "compiler/frontend/ExprParser.h"
#include "compiler/frontend/JsonSourceMap.h"
#include "dialect/AttnAttrs.h"
#include "dialect/AttnOps.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <set>

namespace attnc::frontend {

using Json = nlohmann::ordered_json;

namespace {

/// Captures the position and message of nlohmann's first parse error.
struct ParseErrorCapture : nlohmann::json_sax<Json> {
  size_t offset = 0;
  std::string message;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t &) override { return true; }
  bool string(string_t &) override { return true; }
  bool binary(binary_t &) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t &) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string &,
                   const nlohmann::detail::exception &ex) override {
    offset = position > 0 ? position - 1 : 0;
    message = ex.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: syntax
    // error while parsing value - ..." → "syntax error while parsing value - ..."
    size_t colon = message.find(": ");
    size_t bracket = message.find("] ");
    if (message.find("parse error at") != std::string::npos && colon != std::string::npos)
      message = message.substr(colon + 2);
    else if (bracket != std::string::npos)
      message = message.substr(bracket + 2);
    return false;
  }
};

const char *describeJson(const Json &j) {
  switch (j.type()) {
  case Json::value_t::null: return "null";
  case Json::value_t::boolean: return "a boolean";
  case Json::value_t::string: return "a string";
  case Json::value_t::array: return "an array";
  case Json::value_t::object: return "an object";
  case Json::value_t::number_integer:
  case Json::value_t::number_unsigned: return "an integer";
  case Json::value_t::number_float: return "a float";
  default: return "an unsupported value";
  }
}

bool isIdentifier(const std::string &s) {
  if (s.empty() || !(std::isalpha((unsigned char)s[0]) || s[0] == '_'))
    return false;
  for (char c : s)
    if (!(std::isalnum((unsigned char)c) || c == '_'))
      return false;
  return true;
}

constexpr int64_t kMaxSize = 1 << 20;

class Reader {
public:
  Reader(std::string_view text, const Json &root,
         std::vector<SpecDiagnostic> &diags)
      : text(text), root(root), map(text), diags(diags) {}

  std::optional<Spec> read() {
    if (auto dup = map.duplicateKey())
      error(dup->first, "duplicate field '" + dup->second + "'");
    if (!root.is_object()) {
      error(map.valueOffset(""), std::string("a spec must be a JSON object, got ") +
                                     describeJson(root));
      return std::nullopt;
    }
    static const std::set<std::string> kFields = {
        "name",      "heads",   "head_dim", "head_dim_v", "dtype",    "scale",
        "constants", "scalars", "buffers",  "score_mod",  "mask_mod"};
    for (auto it = root.begin(); it != root.end(); ++it)
      if (!kFields.count(it.key()))
        error(map.keyOffset(JsonSourceMap::child("", it.key())),
              "unknown field '" + it.key() +
                  "' (expected one of: name, heads, head_dim, head_dim_v, dtype, "
                  "scale, constants, scalars, buffers, score_mod, mask_mod)");

    readName();
    readHeads();
    readDims();
    readDtype();
    readScale();
    ExprEnv env;
    readConstants(env);
    readScalars(env);
    readBuffers(env);
    readExpr("score_mod", ModifierKind::ScoreMod, env, spec.scoreMod);
    readExpr("mask_mod", ModifierKind::MaskMod, env, spec.maskMod);
    if (!diags.empty())
      return std::nullopt;
    return std::move(spec);
  }

private:
  void error(size_t offset, std::string message) {
    diags.push_back({offset, std::move(message)});
  }

  const Json *field(const std::string &key, bool required) {
    auto it = root.find(key);
    if (it != root.end())
      return &*it;
    if (required)
      error(map.valueOffset(""), "missing required field '" + key + "'");
    return nullptr;
  }

  /// A positive integer no larger than kMaxSize.
  std::optional<int64_t> positiveInt(const Json &j, const std::string &path,
                                     const std::string &what) {
    if (j.is_number_integer()) {
      bool isUnsigned = j.is_number_unsigned();
      int64_t v = isUnsigned ? 0 : j.get<int64_t>();
      uint64_t u = isUnsigned ? j.get<uint64_t>() : 0;
      if (isUnsigned ? (u >= 1 && u <= uint64_t(kMaxSize)) : (v >= 1 && v <= kMaxSize))
        return isUnsigned ? int64_t(u) : v;
      error(map.valueOffset(path), what + " must be between 1 and " +
                                       std::to_string(kMaxSize) + ", got " + j.dump());
      return std::nullopt;
    }
    error(map.valueOffset(path), what + " must be a positive integer, got " +
                                     describeJson(j));
    return std::nullopt;
  }

  void readName() {
    const Json *j = field("name", true);
    if (!j)
      return;
    spec.nameOffset = map.valueOffset("/name");
    if (!j->is_string() || !isIdentifier(j->get<std::string>())) {
      error(spec.nameOffset,
            "'name' must be an identifier ([A-Za-z_][A-Za-z0-9_]*), got " +
                (j->is_string() ? "'" + j->get<std::string>() + "'"
                                : std::string(describeJson(*j))));
      return;
    }
    spec.name = j->get<std::string>();
  }

  void readHeads() {
    const Json *j = field("heads", true);
    if (!j)
      return;
    if (!j->is_object()) {
      error(map.valueOffset("/heads"),
            std::string("'heads' must be an object like {\"q\": 8, \"kv\": 2}, got ") +
                describeJson(*j));
      return;
    }
    for (auto it = j->begin(); it != j->end(); ++it)
      if (it.key() != "q" && it.key() != "kv")
        error(map.keyOffset(JsonSourceMap::child("/heads", it.key())),
              "unknown field 'heads." + it.key() + "' (expected 'q' or 'kv')");
    auto q = j->find("q");
    if (q == j->end()) {
      error(map.valueOffset("/heads"), "missing required field 'heads.q'");
      return;
    }
    std::optional<int64_t> hq = positiveInt(*q, "/heads/q", "'heads.q'");
    std::optional<int64_t> hkv = hq;
    auto kv = j->find("kv");
    if (kv != j->end())
      hkv = positiveInt(*kv, "/heads/kv", "'heads.kv'");
    if (!hq || !hkv)
      return;
    if (*hq % *hkv != 0) {
      error(map.valueOffset("/heads/kv"),
            "'heads.q' (" + std::to_string(*hq) +
                ") must be a multiple of 'heads.kv' (" + std::to_string(*hkv) + ")");
      return;
    }
    spec.headsQ = *hq;
    spec.headsKV = *hkv;
  }

  void readDims() {
    if (const Json *j = field("head_dim", true))
      if (auto d = positiveInt(*j, "/head_dim", "'head_dim'"))
        spec.headDim = *d;
    spec.headDimV = spec.headDim;
    if (const Json *j = field("head_dim_v", false)) {
      auto d = positiveInt(*j, "/head_dim_v", "'head_dim_v'");
      spec.headDimV = d ? *d : 0;
    }
  }

  void readDtype() {
    const Json *j = field("dtype", false);
    if (!j)
      return;
    std::string s = j->is_string() ? j->get<std::string>() : "";
    if (s != "f32" && s != "f16" && s != "bf16") {
      error(map.valueOffset("/dtype"),
            "'dtype' must be \"f32\", \"f16\" or \"bf16\", got " +
                (j->is_string() ? "\"" + s + "\"" : std::string(describeJson(*j))));
      return;
    }
    spec.dtype = s;
  }

  void readScale() {
    const Json *j = field("scale", false);
    if (!j) {
      spec.scale = spec.headDim > 0 ? 1.0 / std::sqrt(double(spec.headDim)) : 1.0;
      return;
    }
    if (!j->is_number() || !std::isfinite(j->get<double>())) {
      error(map.valueOffset("/scale"), std::string("'scale' must be a finite number, got ") +
                                           (j->is_number() ? j->dump() : describeJson(*j)));
      return;
    }
    spec.scale = j->get<double>();
  }

  /// Checks a declared name; returns false (after reporting) when it is unusable.
  bool checkName(const std::string &section, const std::string &name,
                 const std::string &path) {
    size_t at = map.keyOffset(path);
    if (!isIdentifier(name)) {
      error(at, section + " name '" + name +
                    "' is not an identifier ([A-Za-z_][A-Za-z0-9_]*)");
      return false;
    }
    if (attn::isReservedName(name)) {
      error(at, section + " name '" + name +
                    "' is reserved (a built-in variable, literal, operator or "
                    "function)");
      return false;
    }
    if (!declared.insert(name).second) {
      error(at, section + " name '" + name +
                    "' is already declared as a constant, scalar or buffer");
      return false;
    }
    return true;
  }

  const Json *section(const std::string &key) {
    const Json *j = field(key, false);
    if (j && !j->is_object()) {
      error(map.valueOffset("/" + key),
            "'" + key + "' must be an object, got " + describeJson(*j));
      return nullptr;
    }
    return j;
  }

  void readConstants(ExprEnv &env) {
    const Json *j = section("constants");
    if (!j)
      return;
    for (auto it = j->begin(); it != j->end(); ++it) {
      std::string path = JsonSourceMap::child("/constants", it.key());
      if (!checkName("constant", it.key(), path))
        continue;
      const Json &v = it.value();
      SpecConstant c;
      c.name = it.key();
      ExprSymbol sym;
      if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX)) {
        error(map.valueOffset(path), "constant '" + it.key() +
                                         "' does not fit in a 64-bit signed int");
        continue;
      }
      if (v.is_number_integer()) {
        c.intValue = v.get<int64_t>();
        sym.type = ExprType::Int;
        sym.intValue = c.intValue;
      } else if (v.is_number_float() && std::isfinite(v.get<double>())) {
        c.isInt = false;
        c.floatValue = v.get<double>();
        sym.type = ExprType::Float;
        sym.floatValue = c.floatValue;
      } else {
        error(map.valueOffset(path), "constant '" + it.key() +
                                         "' must be a finite number, got " +
                                         describeJson(v));
        continue;
      }
      sym.kind = ExprSymbol::Kind::Constant;
      env.symbols[c.name] = sym;
      spec.constants.push_back(c);
    }
  }

  void readScalars(ExprEnv &env) {
    const Json *j = section("scalars");
    if (!j)
      return;
    for (auto it = j->begin(); it != j->end(); ++it) {
      std::string path = JsonSourceMap::child("/scalars", it.key());
      if (!checkName("scalar", it.key(), path))
        continue;
      const Json &v = it.value();
      std::string type = v.is_string() ? v.get<std::string>() : "";
      if (type != "i32" && type != "i64" && type != "f32") {
        error(map.valueOffset(path),
              "scalar '" + it.key() + "' must have type \"i32\", \"i64\" or \"f32\", got " +
                  (v.is_string() ? "\"" + type + "\"" : std::string(describeJson(v))));
        continue;
      }
      ExprSymbol sym;
      sym.kind = ExprSymbol::Kind::Scalar;
      sym.type = type == "f32" ? ExprType::Float : ExprType::Int;
      sym.storageType = type;
      env.symbols[it.key()] = sym;
      spec.scalars.push_back({it.key(), type});
    }
  }

  void readBuffers(ExprEnv &env) {
    const Json *j = section("buffers");
    if (!j)
      return;
    for (auto it = j->begin(); it != j->end(); ++it) {
      std::string path = JsonSourceMap::child("/buffers", it.key());
      if (!checkName("buffer", it.key(), path))
        continue;
      std::optional<SpecBuffer> buffer = readBuffer(it.key(), it.value(), path);
      if (!buffer) {
        // Already reported; keep the name usable so expressions that read it do not
        // add a misleading "unknown buffer" error.
        ExprSymbol sym;
        sym.kind = ExprSymbol::Kind::Buffer;
        sym.type = ExprType::Float;
        auto shape = it.value().is_object() ? it.value().find("shape") : it.value().end();
        sym.rank = shape != it.value().end() && shape->is_array() && !shape->empty()
                       ? unsigned(shape->size())
                       : 1;
        sym.storageType = "f32";
        env.symbols[it.key()] = sym;
        continue;
      }
      ExprSymbol sym;
      sym.kind = ExprSymbol::Kind::Buffer;
      sym.type = buffer->dtype == "f32" ? ExprType::Float : ExprType::Int;
      sym.rank = buffer->shape.size();
      sym.storageType = buffer->dtype;
      env.symbols[it.key()] = sym;
      spec.buffers.push_back(std::move(*buffer));
    }
  }

  std::optional<SpecBuffer> readBuffer(const std::string &name, const Json &v,
                                       const std::string &path) {
    std::string what = "buffer '" + name + "'";
    if (!v.is_object()) {
      error(map.valueOffset(path),
            what + " must be an object like {\"dtype\": \"f32\", \"shape\": [\"H\"]}, got " +
                describeJson(v));
      return std::nullopt;
    }
    bool ok = true;
    for (auto f = v.begin(); f != v.end(); ++f)
      if (f.key() != "dtype" && f.key() != "shape" && f.key() != "requires_grad") {
        error(map.keyOffset(JsonSourceMap::child(path, f.key())),
              "unknown field '" + f.key() + "' in " + what +
                  " (expected 'dtype', 'shape' and optionally 'requires_grad')");
        ok = false;
      }
    SpecBuffer buffer;
    buffer.name = name;
    auto dtype = v.find("dtype");
    auto shape = v.find("shape");
    if (dtype == v.end() || shape == v.end()) {
      error(map.valueOffset(path), what + " must have both 'dtype' and 'shape'");
      return std::nullopt;
    }
    std::string dtypePath = JsonSourceMap::child(path, "dtype");
    buffer.dtype = dtype->is_string() ? dtype->get<std::string>() : "";
    if (buffer.dtype != "f32" && buffer.dtype != "i32" && buffer.dtype != "i64") {
      error(map.valueOffset(dtypePath),
            "dtype of " + what + " must be \"f32\", \"i32\" or \"i64\", got " +
                (dtype->is_string() ? "\"" + buffer.dtype + "\""
                                    : std::string(describeJson(*dtype))));
      ok = false;
    }
    std::string shapePath = JsonSourceMap::child(path, "shape");
    if (!shape->is_array() || shape->empty()) {
      error(map.valueOffset(shapePath),
            "shape of " + what + " must be a non-empty array of dimensions");
      return std::nullopt;
    }
    for (size_t i = 0; i < shape->size(); ++i) {
      const Json &dim = (*shape)[i];
      std::string dimPath = JsonSourceMap::child(shapePath, std::to_string(i));
      if (dim.is_string()) {
        std::optional<int64_t> code = attn::symbolicDimFromName(dim.get<std::string>());
        if (!code) {
          error(map.valueOffset(dimPath),
                "dimension " + std::to_string(i) + " of " + what +
                    " must be a positive integer or one of \"B\", \"H\", \"H_KV\", "
                    "\"Q_LEN\", \"KV_LEN\", got \"" + dim.get<std::string>() + "\"");
          ok = false;
          continue;
        }
        buffer.shape.push_back(*code);
      } else if (auto size = positiveInt(dim, dimPath,
                                         "dimension " + std::to_string(i) + " of " + what)) {
        buffer.shape.push_back(*size);
      } else {
        ok = false;
      }
    }
    if (auto grad = v.find("requires_grad"); grad != v.end()) {
      std::string gradPath = JsonSourceMap::child(path, "requires_grad");
      if (!grad->is_boolean()) {
        error(map.valueOffset(gradPath), "requires_grad of " + what +
                                             " must be true or false, got " +
                                             describeJson(*grad));
        ok = false;
      } else if (grad->get<bool>() && buffer.dtype != "f32") {
        error(map.valueOffset(gradPath),
              "only f32 buffers can require gradients; " + what + " is " + buffer.dtype);
        ok = false;
      } else {
        buffer.requiresGrad = grad->get<bool>();
      }
    }
    if (!ok)
      return std::nullopt;
    return buffer;
  }

  void readExpr(const std::string &key, ModifierKind kind, const ExprEnv &env,
                SpecExpr &out) {
    const Json *j = field(key, false);
    if (!j)
      return;
    std::string path = "/" + key;
    out.fieldOffset = map.valueOffset(path);
    if (!j->is_string()) {
      error(out.fieldOffset, "'" + key + "' must be a string expression, got " +
                                 describeJson(*j));
      return;
    }
    std::string source;
    if (!decodeJsonString(text, out.fieldOffset, source, out.charToOffset) ||
        source != j->get<std::string>()) {
      // Cannot happen for JSON nlohmann accepted; keep locations coarse if it does.
      source = j->get<std::string>();
      out.charToOffset.clear();
    }
    ExprError err;
    out.source = source;
    out.expr = parseModifier(source, env, kind, err);
    if (!out.expr) {
      error(out.fileOffset(err.offset), "in " + key + ": " + err.message);
      for (const auto &[offset, message] : err.more)
        error(out.fileOffset(offset), "in " + key + ": " + message);
    }
  }

  std::string_view text;
  const Json &root;
  JsonSourceMap map;
  std::vector<SpecDiagnostic> &diags;
  std::set<std::string> declared;
  Spec spec;
};

} // namespace

std::optional<Spec> readSpec(std::string_view text,
                             std::vector<SpecDiagnostic> &diagnostics) {
  Json root = Json::parse(text.begin(), text.end(), nullptr,
                          /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    ParseErrorCapture capture;
    Json::sax_parse(text.begin(), text.end(), &capture);
    diagnostics.push_back({std::min(capture.offset, text.size()),
                           "invalid JSON: " + capture.message});
    return std::nullopt;
  }
  return Reader(text, root, diagnostics).read();
}

} // namespace attnc::frontend
