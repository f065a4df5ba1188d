//===- BackwardCommands.cpp - `run --backward` and `bench --backward` ------===//
//
// The backward pass from the command line (docs/spec.md, "Backward pass"): the
// forward runs first (its out and lse are the backward kernel's inputs), then the
// backward on dout, either random (seeded, checked against the float64 reference
// backward, which differentiates score_mod by dual numbers, independently of the
// compiler) or read from a safetensors file with the gradients written to another.
//
//===----------------------------------------------------------------------===//
#include "runtime/SafeTensors.h"
#include "tools/common/RunCommands.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

namespace attnc {
namespace {

/// The tensors of a backward call beyond the forward's: dout and the gradients.
struct GradTensors {
  Tensor dout, dq, dk, dv;
  std::map<std::string, Tensor> dbuffers;
  const Tensor *sharedDout = nullptr; ///< dout of another GradTensors (the reference's)

  /// Gradients of `dtype` (the reference's are f32) shaped for `fwd`, poisoned.
  Status allocate(const VariantDesc &variant, const CallTensors &fwd, DType dtype) {
    for (auto [dst, like, name] :
         {std::tuple{&dq, &fwd.q, "dq"}, std::tuple{&dk, &fwd.k, "dk"},
          std::tuple{&dv, &fwd.v, "dv"}}) {
      Result<Tensor> t = Tensor::create(dtype, like->shape(), name);
      if (!t)
        return t.status();
      *dst = t.take();
      dst->poison();
    }
    for (const BufferDecl &decl : variant.buffers)
      if (decl.requiresGrad) {
        Result<Tensor> t =
            Tensor::create(DType::F32, fwd.buffers.at(decl.name).shape(), "d" + decl.name);
        if (!t)
          return t.status();
        Tensor g = t.take();
        g.poison();
        dbuffers.emplace(decl.name, std::move(g));
      }
    return Status::ok();
  }

  BackwardCall call(const CallTensors &fwd) const {
    BackwardCall c;
    c.forward = fwd.call();
    c.dout = sharedDout ? sharedDout->view() : dout.view();
    c.dq = dq.view();
    c.dk = dk.view();
    c.dv = dv.view();
    for (const auto &[name, t] : dbuffers)
      c.dbuffers[name] = t.view();
    return c;
  }
};

/// A random dout from N(0, 1), seeded apart from q, k and v.
Result<Tensor> randomDout(const VariantDesc &variant, const CallTensors &fwd, uint64_t seed) {
  Result<Tensor> t = Tensor::create(variant.dtype, fwd.out.shape(), "dout");
  if (!t)
    return t;
  Tensor dout = t.take();
  std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ull);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  TensorView view = dout.view();
  std::vector<int64_t> index(view.shape.size(), 0);
  for (int64_t i = 0; i < dout.numel(); ++i) {
    view.set(index.data(), normal(rng));
    nextIndex(index, view.shape);
  }
  return dout;
}

/// A random dout and poisoned gradients of the variant's dtype for `fwd`.
Status randomGradTensors(const VariantDesc &variant, const CallTensors &fwd, uint64_t seed,
                         GradTensors &grads) {
  Result<Tensor> dout = randomDout(variant, fwd, seed);
  if (!dout)
    return dout.status();
  grads.dout = dout.take();
  return grads.allocate(variant, fwd, variant.dtype);
}

/// sqrt(sum (got - want)^2 / sum want^2) over the finite pairs; NaN or infinite
/// values must match (each mismatch counts in `bad`).
double relativeError(const TensorView &got, const TensorView &want, int64_t &bad) {
  double diff2 = 0, ref2 = 0;
  std::vector<int64_t> index(got.shape.size(), 0);
  int64_t n = 1;
  for (int64_t s : got.shape)
    n *= s;
  for (int64_t i = 0; i < n; ++i) {
    double a = got.get(index.data()), b = want.get(index.data());
    if (!std::isfinite(a) || !std::isfinite(b)) {
      bad += (std::isnan(a) && std::isnan(b)) || a == b ? 0 : 1;
    } else {
      diff2 += (a - b) * (a - b);
      ref2 += b * b;
    }
    nextIndex(index, got.shape);
  }
  return ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
}

double millisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

int noBackward(const Runnable &variant) {
  return failWith("'" + variant.desc.name + "' has no backward kernel on the " + variant.target +
                  " target (the backward pass runs on the cpu and cuda-emu targets)");
}

} // namespace

int runBackwardRandom(const Runnable &variant, const RunOptions &o) {
  if (!variant.runBackward)
    return noBackward(variant);
  int64_t B, Q, KV;
  if (!parseShape(o.randomShape, B, Q, KV))
    return failWith("--random expects B,Q_LEN,KV_LEN with sizes in [1, 2^31), got '" +
                    o.randomShape + "'");
  std::map<std::string, ScalarValue> scalars;
  std::map<std::string, Tensor> buffers;
  Result<CallTensors> created =
      prepareRandomInputs(variant, o, B, Q, KV, o.check ? 4 : 2, scalars, buffers);
  if (!created)
    return failWith(created.status().message());
  CallTensors &fwd = *created;
  if (Status s = variant.run(fwd.call()); !s)
    return failRun(variant, fwd.call(), s);
  GradTensors grads;
  if (Status s = randomGradTensors(variant.desc, fwd, o.seed, grads); !s)
    return failWith(s.message());
  auto start = std::chrono::steady_clock::now();
  if (Status s = variant.runBackward(grads.call(fwd)); !s)
    return failRun(variant, fwd.call(), s);
  double ms = millisSince(start);
  const char *dtype = dtypeName(variant.desc.dtype);
  if (!o.check) {
    std::printf("%-24s %-4s backward B=%lld Q_LEN=%lld KV_LEN=%lld %-4s  %8.3f ms  (not "
                "checked)\n",
                variant.desc.name.c_str(), variant.target.c_str(), (long long)B, (long long)Q,
                (long long)KV, dtype, ms);
    return 0;
  }
  GradTensors ref;
  ref.sharedDout = &grads.dout;
  if (Status s = ref.allocate(variant.desc, fwd, DType::F32); !s)
    return failWith(s.message());
  if (Status s = variant.referenceBackward(ref.call(fwd)); !s)
    return failWith("reference: " + s.message());
  // f32 gradients within 1e-4 of float64; 16-bit ones are rounded on output and
  // come from a 16-bit out (delta), so 3e-2.
  double tol = o.tolerance > 0 ? o.tolerance : (variant.desc.dtype == DType::F32 ? 1e-4 : 3e-2);
  int64_t bad = 0;
  std::string line;
  double worst = 0;
  auto add = [&](const std::string &name, const Tensor &got, const Tensor &want) {
    double e = relativeError(got.view(), want.view(), bad);
    worst = std::max(worst, e);
    char buf[96];
    std::snprintf(buf, sizeof buf, "  %s rel %.2e", name.c_str(), e);
    line += buf;
  };
  add("dq", grads.dq, ref.dq);
  add("dk", grads.dk, ref.dk);
  add("dv", grads.dv, ref.dv);
  for (const auto &[name, t] : grads.dbuffers)
    add("d" + name, t, ref.dbuffers.at(name));
  bool ok = bad == 0 && worst < tol;
  std::printf("%-24s %-4s backward B=%lld Q_LEN=%lld KV_LEN=%lld %-4s%s  %8.3f ms  %s\n",
              variant.desc.name.c_str(), variant.target.c_str(), (long long)B, (long long)Q,
              (long long)KV, dtype, line.c_str(), ms, ok ? "ok" : "FAILED");
  if (!ok) {
    char message[256];
    std::snprintf(message, sizeof message,
                  "the gradients of '%s' differ from the float64 reference: worst rel %.3e, "
                  "%lld bad values (tolerance %.1e)",
                  variant.desc.name.c_str(), worst, (long long)bad, tol);
    return failWith(message);
  }
  return 0;
}

int runBackwardFiles(const Runnable &variant, const RunOptions &o) {
  if (!variant.runBackward)
    return noBackward(variant);
  if (o.inputsPath.empty() || o.outputPath.empty())
    return failWith("run --backward needs --inputs FILE and --output FILE, or --random "
                    "B,Q_LEN,KV_LEN");
  GradTensors grads;
  Result<CallTensors> tensors = callFromFile(variant.desc, o.inputsPath, &grads.dout);
  if (!tensors)
    return failWith(tensors.status().message());
  CallTensors &fwd = *tensors;
  if (grads.dout.shape() != fwd.out.shape())
    return failWith(o.inputsPath + ": tensor 'dout' must have shape " +
                    fwd.out.view().shapeString() + " (that of out), got " +
                    grads.dout.view().shapeString());
  if (Status s = variant.run(fwd.call()); !s)
    return failRun(variant, fwd.call(), s);
  if (Status s = grads.allocate(variant.desc, fwd, variant.desc.dtype); !s)
    return failWith(s.message());
  if (Status s = variant.runBackward(grads.call(fwd)); !s)
    return failRun(variant, fwd.call(), s);
  std::map<std::string, TensorView> out{{"out", fwd.out.view()}, {"lse", fwd.lse.view()},
                                        {"dq", grads.dq.view()},   {"dk", grads.dk.view()},
                                        {"dv", grads.dv.view()}};
  for (const auto &[name, t] : grads.dbuffers)
    out["d" + name] = t.view();
  if (Status s = writeSafeTensors(o.outputPath, out); !s)
    return failWith(s.message());
  return 0;
}

int runBackwardBench(const Runnable &variant, const RunOptions &o) {
  if (!variant.runBackward)
    return noBackward(variant);
  int64_t B, Q, KV;
  if (!parseShape(o.benchShape, B, Q, KV))
    return failWith("bench needs --shape B,Q_LEN,KV_LEN with sizes in [1, 2^31)");
  std::map<std::string, ScalarValue> scalars;
  std::map<std::string, Tensor> buffers;
  Result<CallTensors> created = prepareRandomInputs(variant, o, B, Q, KV, 2, scalars, buffers);
  if (!created)
    return failWith(created.status().message());
  CallTensors &fwd = *created;
  GradTensors grads;
  if (Status s = randomGradTensors(variant.desc, fwd, o.seed, grads); !s)
    return failWith(s.message());
  BackwardCall call = grads.call(fwd);
  auto median = [&](const std::function<Status()> &fn, double &ms) -> Status {
    std::vector<double> times;
    for (int i = 0; i < 2 + std::max(1, o.reps); ++i) {
      auto start = std::chrono::steady_clock::now();
      if (Status s = fn(); !s)
        return s;
      if (i >= 2)
        times.push_back(millisSince(start));
    }
    std::sort(times.begin(), times.end());
    ms = times[times.size() / 2];
    return Status::ok();
  };
  double fwdMs = 0, bwdMs = 0;
  if (Status s = median([&] { return variant.run(fwd.call()); }, fwdMs); !s)
    return failRun(variant, fwd.call(), s);
  if (Status s = median([&] { return variant.runBackward(call); }, bwdMs); !s)
    return failRun(variant, fwd.call(), s);
  // FlashAttention-2's count for the backward: 2.5x the forward's 4·B·H·Q·KV·D
  // (five matrix products instead of two), without the mask's savings.
  double flops = 2.5 * 2.0 * double(B) * double(variant.desc.headsQ) * double(Q) * double(KV) *
                 double(variant.desc.headDim + variant.desc.headDimV);
  std::printf("%-24s %-4s backward B=%lld H=%lld Q_LEN=%lld KV_LEN=%lld D=%lld %-4s  %10.3f ms  "
              "(%.2f GFLOP/s dense-equivalent; forward %.3f ms, ratio %.2f, %s)\n",
              variant.desc.name.c_str(), variant.target.c_str(), (long long)B,
              (long long)variant.desc.headsQ, (long long)Q, (long long)KV,
              (long long)variant.desc.headDim, dtypeName(variant.desc.dtype), bwdMs,
              flops / (bwdMs * 1e6), fwdMs, bwdMs / fwdMs, variant.threadsLabel.c_str());
  return 0;
}

} // namespace attnc
