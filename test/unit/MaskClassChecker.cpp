//===- MaskClassChecker.cpp - the mask analysis checked by brute force -----===//
#include "test/unit/MaskClassChecker.h"
#include "compiler/frontend/ExprEval.h"
#include "compiler/frontend/Frontend.h"
#include "compiler/targets/cpu/CpuPipeline.h"
#include "compiler/transforms/MaskIntervals.h"
#include "compiler/transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"

#include <functional>
#include <limits>
#include <random>
#include <sstream>

using namespace mlir;

namespace attnc::test {

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

/// Values at and near the edges of int64 and int32, and small ones.
const int64_t kInteresting[] = {0, 1, 2, 3, 7, -1, -2, -7, 63, 64, 1000, kMax, kMax - 1,
                                kMax - 64, kMin, kMin + 1, kMin + 64, int64_t(1) << 62,
                                -(int64_t(1) << 62), 3037000499, 2147483647, -2147483648LL,
                                4294967296, 4611686018427387904};

/// The generator's source of choices: a seeded RNG, or fuzzer bytes.
using Chooser = std::function<uint64_t(uint64_t n)>; // uniform in [0, n)

/// Random mask expressions in the spec language (ExprParser.h), typed by
/// construction so that every one is accepted.
class MaskGenerator {
public:
  explicit MaskGenerator(Chooser choose) : choose(std::move(choose)) {}

  std::string boolean(int depth) {
    if (depth <= 0 || choose(8) == 0)
      return comparison(0);
    switch (choose(7)) {
    case 0: return "(" + boolean(depth - 1) + " && " + boolean(depth - 1) + ")";
    case 1: return "(" + boolean(depth - 1) + " || " + boolean(depth - 1) + ")";
    case 2: return "!" + boolean(depth - 1);
    case 3: return "(" + boolean(depth - 1) + " == " + boolean(depth - 1) + ")";
    case 4:
      return "(" + boolean(depth - 1) + " ? " + boolean(depth - 1) + " : " + boolean(depth - 1) +
             ")";
    default: return comparison(depth - 1);
    }
  }

private:
  std::string comparison(int depth) {
    static const char *ops[] = {"<", "<=", ">", ">=", "==", "!="};
    return "(" + integer(depth) + " " + ops[choose(6)] + " " + integer(depth) + ")";
  }

  std::string leaf() {
    static const char *vars[] = {"q_idx", "kv_idx", "q_idx", "kv_idx", "b",  "h",
                                 "q_len", "kv_len", "s",     "t",      "tbl[kv_idx % 4]"};
    if (choose(3) == 0) {
      int64_t c = kInteresting[choose(sizeof kInteresting / sizeof *kInteresting)];
      // -2^63 has no literal: write it as an expression.
      return c == kMin ? "(-9223372036854775807 - 1)" : "(" + std::to_string(c) + ")";
    }
    return vars[choose(sizeof vars / sizeof *vars)];
  }

  std::string integer(int depth) {
    if (depth <= 0 || choose(4) == 0)
      return leaf();
    std::string a = integer(depth - 1);
    switch (choose(12)) {
    case 0: return "(" + a + " + " + integer(depth - 1) + ")";
    case 1: return "(" + a + " - " + integer(depth - 1) + ")";
    case 2: return "(" + a + " * " + integer(depth - 1) + ")";
    case 3: return "(" + a + " // " + std::to_string(1 + choose(9)) + ")";
    case 4: return "(" + a + " // " + integer(depth - 1) + ")";
    case 5: return "(" + a + " % " + integer(depth - 1) + ")";
    case 6: return "min(" + a + ", " + integer(depth - 1) + ")";
    case 7: return "max(" + a + ", " + integer(depth - 1) + ")";
    case 8: return "abs(" + a + ")";
    case 9: return "(-" + a + ")";
    case 10: return "clamp(" + a + ", " + integer(depth - 1) + ", " + integer(depth - 1) + ")";
    default: return "(" + boolean(depth - 1) + " ? " + a + " : " + integer(depth - 1) + ")";
    }
  }

  Chooser choose;
};

std::string specText(const std::string &mask) {
  return R"({"name": "m", "heads": {"q": 4}, "head_dim": 16,
 "scalars": {"s": "i64", "t": "i32"},
 "buffers": {"tbl": {"dtype": "i64", "shape": [4]}},
 "mask_mod": ")" + mask + "\"}";
}

/// One random tile with the run-time values its class depends on.
struct Tile {
  int64_t b, h, q0, q1, k0, k1, qLen, kvLen, s;
  int32_t t;
  int64_t tbl[4];
};

Tile randomTile(std::mt19937_64 &rng) {
  auto pick = [&](uint64_t n) { return rng() % n; };
  auto interesting = [&] { return kInteresting[pick(sizeof kInteresting / sizeof *kInteresting)]; };
  auto length = [&]() -> int64_t {
    switch (pick(4)) {
    case 0: return 1 + int64_t(pick(8));
    case 1: return 1 + int64_t(pick(300));
    case 2: return 1 + int64_t(pick(uint64_t(1) << 31));
    default: return (int64_t(1) << 31) - int64_t(pick(16));
    }
  };
  auto range = [&](int64_t len, int64_t &lo, int64_t &hi) {
    int64_t width = 1 + int64_t(pick(8));
    lo = pick(3) == 0 ? std::max<int64_t>(0, len - width) : int64_t(pick(uint64_t(len)));
    hi = std::min(len - 1, lo + width - 1);
  };
  Tile t;
  t.b = int64_t(pick(3));
  t.h = int64_t(pick(4));
  t.qLen = length();
  t.kvLen = pick(2) ? t.qLen : length();
  range(t.qLen, t.q0, t.q1);
  range(t.kvLen, t.k0, t.k1);
  t.s = pick(2) ? interesting() : int64_t(rng());
  t.t = pick(2) ? int32_t(interesting()) : int32_t(rng());
  for (int64_t &v : t.tbl)
    v = pick(2) ? interesting() : int64_t(pick(16)) - 8;
  return t;
}

/// "mask on tile ..." for a failure message.
std::string describe(const std::string &mask, const Tile &t) {
  std::ostringstream os;
  os << "mask_mod \"" << mask << "\" with b=" << t.b << " h=" << t.h << " q_idx in [" << t.q0
     << ", " << t.q1 << "] kv_idx in [" << t.k0 << ", " << t.k1 << "] q_len=" << t.qLen
     << " kv_len=" << t.kvLen << " s=" << t.s << " t=" << t.t << " tbl=[" << t.tbl[0] << ", "
     << t.tbl[1] << ", " << t.tbl[2] << ", " << t.tbl[3] << "]";
  return os.str();
}

using ClassFn = int64_t (*)(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                            int64_t, int64_t, int32_t);

} // namespace

MaskClassChecker::MaskClassChecker() {
  DialectRegistry registry;
  frontend::registerFrontendDialects(registry);
  ctx.appendDialectRegistry(registry);
  ctx.loadAllAvailableDialects();
}

std::vector<std::string> MaskClassChecker::randomMasks(uint64_t seed, size_t count) {
  std::mt19937_64 rng(seed);
  MaskGenerator gen([&](uint64_t n) { return rng() % n; });
  std::vector<std::string> masks;
  for (size_t i = 0; i < count; ++i)
    masks.push_back(gen.boolean(1 + int(rng() % 4)));
  return masks;
}

std::string MaskClassChecker::maskFromBytes(const uint8_t *data, size_t size) {
  size_t pos = 0;
  MaskGenerator gen([&](uint64_t n) -> uint64_t {
    uint64_t v = pos < size ? data[pos] : 0;
    ++pos;
    return v % n;
  });
  return gen.boolean(4);
}

std::string MaskClassChecker::check(const std::vector<std::string> &masks, uint64_t seed,
                                    int tilesPerMask, Totals &totals) {
  std::string diagnostics;
  ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
    diagnostics += d.str() + "\n";
    return success();
  });
  // One function per mask, @cls_N(b, h, q0, q1, k0, k1, q_len, kv_len, s, t) -> class,
  // from the analysis over the mask after attn-simplify (as the kernels see it).
  OwningOpRef<ModuleOp> all = ModuleOp::create(UnknownLoc::get(&ctx));
  std::vector<frontend::Spec> specs(masks.size());
  for (size_t i = 0; i < masks.size(); ++i) {
    OwningOpRef<ModuleOp> module =
        frontend::importSpec("mask.json", specText(masks[i]), &ctx, &specs[i]);
    PassManager pm(&ctx);
    pm.addPass(createAttnSimplify());
    if (!module || failed(pm.run(*module)))
      return "the frontend rejected mask_mod \"" + masks[i] + "\": " + diagnostics;
    auto variant = *module->getOps<attn::VariantOp>().begin();
    OpBuilder b(&ctx);
    Type index = b.getIndexType();
    auto type = b.getFunctionType({index, index, index, index, index, index, index, index,
                                   b.getI64Type(), b.getI32Type()},
                                  {index});
    b.setInsertionPointToEnd(all->getBody());
    auto fn = func::FuncOp::create(b, variant.getLoc(), "cls_" + std::to_string(i), type);
    Block *entry = fn.addEntryBlock();
    b.setInsertionPointToStart(entry);
    ValueRange a = entry->getArguments();
    Value cls = emitMaskClass(b, variant.getLoc(), variant, a[0], a[1], a[2], a[3], a[4], a[5],
                              a[6], a[7], a.slice(8, 2));
    func::ReturnOp::create(b, variant.getLoc(), cls);
  }
  if (failed(attnc::runPipeline(*all, [](OpPassManager &pm) { cpu::buildCpuToLLVMPipeline(pm); })))
    return "lowering the analysis failed: " + diagnostics;
  std::string error;
  std::unique_ptr<ExecutionEngine> engine = attnc::jitCompile(*all, error, false, {}, 1);
  if (!engine)
    return "JIT: " + error;

  std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ULL);
  for (size_t i = 0; i < masks.size(); ++i) {
    auto symbol = engine->lookup("cls_" + std::to_string(i));
    if (!symbol)
      return "no symbol cls_" + std::to_string(i);
    auto fn = reinterpret_cast<ClassFn>(*symbol);
    const frontend::Expr &expr = *specs[i].maskMod.expr;
    for (int n = 0; n < tilesPerMask; ++n) {
      Tile t = randomTile(rng);
      int64_t cls = fn(t.b, t.h, t.q0, t.q1, t.k0, t.k1, t.qLen, t.kvLen, t.s, t.t);
      (cls == 0 ? totals.empty : cls == 1 ? totals.full : totals.partial)++;
      if (cls < 0 || cls > 2)
        return describe(masks[i], t) + ": class " + std::to_string(cls);
      if (cls == 2)
        continue;
      frontend::EvalContext c;
      c.b = t.b;
      c.h = t.h;
      c.qLen = t.qLen;
      c.kvLen = t.kvLen;
      c.scalar = [&](const std::string &name) -> std::optional<frontend::ExprValue> {
        return frontend::ExprValue::ofInt(name == "s" ? t.s : int64_t(t.t));
      };
      c.buffer = [&](const std::string &, const std::vector<int64_t> &idx)
          -> std::optional<frontend::ExprValue> {
        if (idx.size() != 1 || idx[0] < 0 || idx[0] >= 4)
          return std::nullopt;
        return frontend::ExprValue::ofInt(t.tbl[idx[0]]);
      };
      for (int64_t q = t.q0; q <= t.q1; ++q)
        for (int64_t k = t.k0; k <= t.k1; ++k) {
          c.qIdx = q;
          c.kvIdx = k;
          std::string evalError;
          std::optional<frontend::ExprValue> kept = frontend::evaluate(expr, c, evalError);
          ++totals.pairs;
          if (!kept) {
            ++totals.evalErrors;
            continue;
          }
          if (kept->b != (cls == 1))
            return describe(masks[i], t) + ": the analysis says " +
                   (cls == 0 ? "empty" : "full") + " but (q_idx=" + std::to_string(q) +
                   ", kv_idx=" + std::to_string(k) + ") is " + (kept->b ? "kept" : "dropped");
        }
    }
  }
  return "";
}

} // namespace attnc::test
