//===- RunCommands.cpp - `run` and `bench` of attnc and attnc-rt ----------===//
#include "tools/common/RunCommands.h"
#include "compiler/frontend/ExprEval.h"
#include "compiler/frontend/ExprReference.h"
#include "runtime/SafeTensors.h"
#include "runtime/cuda/CudaDriver.h"
#include "runtime/cuda/DeviceMemory.h"
#include "tools/common/Inputs.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>

namespace attnc {

int failWith(const std::string &message) {
  std::fflush(stdout);
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return 1;
}

namespace {

/// printf into a string.
__attribute__((format(printf, 1, 2))) std::string formatted(const char *format, ...) {
  va_list args;
  va_start(args, format);
  char buffer[1024];
  std::vsnprintf(buffer, sizeof buffer, format, args);
  va_end(args);
  return buffer;
}

/// printf to stdout.
__attribute__((format(printf, 1, 2))) void printLine(const char *format, ...) {
  va_list args;
  va_start(args, format);
  std::vprintf(format, args);
  va_end(args);
}


double millisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

/// Fraction of (q, kv) pairs the mask keeps, sampled on a grid for b = h = 0.
double maskDensity(const Runnable &variant, const CallTensors &tensors) {
  const frontend::Expr *mask = variant.maskMod;
  if (!mask)
    return 1.0;
  AttentionCall call = tensors.call();
  int64_t Q = call.qLen(), KV = call.kvLen();
  int64_t steps = 64, kept = 0, total = 0;
  for (int64_t a = 0; a < steps; ++a)
    for (int64_t c = 0; c < steps; ++c) {
      frontend::EvalContext ctx;
      ctx.qIdx = a * Q / steps;
      ctx.kvIdx = c * KV / steps;
      ctx.qLen = Q;
      ctx.kvLen = KV;
      ctx.scalar = [&](const std::string &n) -> std::optional<frontend::ExprValue> {
        const ScalarValue &v = call.scalars.at(n);
        return v.type == DType::F32 ? frontend::ExprValue::ofFloat(v.f)
                                    : frontend::ExprValue::ofInt(v.i);
      };
      ctx.buffer = [&](const std::string &n, const std::vector<int64_t> &idx)
          -> std::optional<frontend::ExprValue> {
        const TensorView &view = call.buffers.at(n);
        for (size_t d = 0; d < idx.size(); ++d)
          if (idx[d] < 0 || idx[d] >= view.shape[d])
            return std::nullopt;
        return view.dtype == DType::F32 ? frontend::ExprValue::ofFloat(view.get(idx.data()))
                                        : frontend::ExprValue::ofInt(int64_t(view.get(idx.data())));
      };
      std::string error;
      auto v = frontend::evaluate(*mask, ctx, error);
      kept += v && v->b;
      ++total;
    }
  return double(kept) / double(total);
}

} // namespace

Errors compare(const CallTensors &got, const CallTensors &want) {
  Errors e;
  auto accumulate = [&](double a, double b, double &maxAbs, double &diff2, double &ref2) {
    if (std::isnan(a) || std::isnan(b) || std::isinf(a) || std::isinf(b)) {
      bool same = (std::isnan(a) && std::isnan(b)) || a == b;
      e.badValues += same ? 0 : 1;
      return;
    }
    double d = std::fabs(a - b);
    maxAbs = std::max(maxAbs, d);
    diff2 += d * d;
    ref2 += b * b;
  };
  TensorView g = got.out.view(), w = want.out.view();
  double diff2 = 0, ref2 = 0;
  std::vector<int64_t> index(4, 0);
  for (int64_t i = 0; i < got.out.numel(); ++i) {
    accumulate(g.get(index.data()), w.get(index.data()), e.outMaxAbs, diff2, ref2);
    nextIndex(index, g.shape);
  }
  e.outRel = ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
  const float *gl = got.lse.as<float>(), *wl = want.lse.as<float>();
  double ldiff2 = 0, lref2 = 0;
  for (int64_t i = 0; i < got.lse.numel(); ++i)
    accumulate(gl[i], wl[i], e.lseMaxAbs, ldiff2, lref2);
  e.lseRel = lref2 > 0 ? std::sqrt(ldiff2 / lref2) : std::sqrt(ldiff2);
  return e;
}

/// The random inputs of a run or bench of shape B x Q x KV: `copies` sets of them
/// must fit in memory (checked before anything is allocated); the line saying what
/// the buffers and scalars hold is printed. Returns the first set.
/// Reports a failed run. A run-time error in an expression (an out-of-range buffer
/// read, an integer division by zero; the kernel reports only which) is made
/// precise by evaluating the modifiers pair by pair as the reference does: the
/// expression's location, the index values and the first failing (b, h, q_idx,
/// kv_idx).
int failRun(const Runnable &variant, const AttentionCall &call, const Status &s) {
  const std::string &message = s.message();
  bool inExpression = message.rfind("index out of range reading buffer", 0) == 0 ||
                      message.rfind("integer division or modulo by zero", 0) == 0;
  // The scan is bounded (about a second per 10^7 pairs): past it, the kernel's message.
  int64_t limit = 100000000;
  if (const char *env = std::getenv("ATTNC_DIAGNOSE_PAIRS"); env && *env)
    limit = std::atoll(env);
  std::optional<frontend::PairFailure> f;
  if (inExpression && call.q.device == Device::Cpu)
    f = frontend::firstFailingPair(variant.desc, variant.scoreMod, variant.maskMod, call, limit);
  if (!f)
    return failWith(message + (inExpression ? " (the failing pair was not located within the "
                                              "first " + std::to_string(limit) + " pairs)"
                                            : ""));
  size_t at = f->message.rfind(" at [");
  std::string detail = message.rfind("index out of range", 0) == 0 &&
                               f->message.rfind("index out of range", 0) == 0 &&
                               at != std::string::npos
                           ? message + f->message.substr(at)
                           : f->message;
  std::string modifier = f->inMaskMod ? "mask_mod" : "score_mod";
  std::string where = variant.locate ? variant.locate(f->inMaskMod, f->offset) : "";
  detail += ", in " + modifier + " for b=" + std::to_string(f->b) + ", h=" +
            std::to_string(f->h) + ", q_idx=" + std::to_string(f->qIdx) +
            ", kv_idx=" + std::to_string(f->kvIdx);
  if (where.empty())
    return failWith(detail + " (column " + std::to_string(f->offset + 1) + " of the " +
                    modifier + ")");
  std::fflush(stdout);
  std::fprintf(stderr, "%s: error: %s\n", where.c_str(), detail.c_str());
  return 1;
}

Result<CallTensors> prepareRandomInputs(const Runnable &variant, const RunOptions &o,
                                        int64_t B, int64_t Q, int64_t KV, int copies,
                                        std::map<std::string, ScalarValue> &scalars,
                                        std::map<std::string, Tensor> &buffers) {
  if (Status s = parseScalarOverrides(variant.desc, o.scalars, scalars); !s)
    return s;
  if (Status s = parseBufferOverrides(variant.desc, o.buffers, buffers); !s)
    return s;
  if (Status s = checkMemoryEstimate(variant.desc, B, Q, KV, copies); !s)
    return s;
  std::string described = describeRandomInputs(variant.desc, scalars, buffers);
  if (!described.empty())
    printLine("%s: %s\n", variant.desc.name.c_str(), described.c_str());
  return randomCall(variant.desc, B, Q, KV, o.seed, scalars, buffers);
}

int runRandom(const Runnable &variant, const RunOptions &o) {
  int64_t B, Q, KV;
  if (!parseShape(o.randomShape, B, Q, KV))
    return failWith("--random expects B,Q_LEN,KV_LEN with sizes in [1, 2^31), got '" +
                o.randomShape + "'");
  std::map<std::string, ScalarValue> scalars;
  std::map<std::string, Tensor> buffers;
  Result<CallTensors> kernelTensors =
      prepareRandomInputs(variant, o, B, Q, KV, o.check ? 2 : 1, scalars, buffers);
  if (!kernelTensors)
    return failWith(kernelTensors.status().message());
  CallTensors &kernelCall = *kernelTensors;
  auto start = std::chrono::steady_clock::now();
  if (Status s = variant.run(kernelCall.call()); !s)
    return failRun(variant, kernelCall.call(), s);
  double ms = millisSince(start);
  if (!o.check) {
    printLine("%-24s %-4s B=%lld Q_LEN=%lld KV_LEN=%lld %-4s  %8.3f ms  (not checked)\n",
                     variant.desc.name.c_str(), variant.target.c_str(), (long long)B, (long long)Q,
                     (long long)KV, dtypeName(variant.desc.dtype), ms);
    return 0;
  }
  Result<CallTensors> refTensors = randomCall(variant.desc, B, Q, KV, o.seed, scalars, buffers);
  if (!refTensors)
    return failWith(refTensors.status().message());
  CallTensors &refCall = *refTensors;
  if (Status s = variant.reference(refCall.call()); !s)
    return failWith("reference: " + s.message());
  Errors e = compare(kernelCall, refCall);
  double tol = o.tolerance > 0 ? o.tolerance
                             : (variant.desc.dtype == DType::F32 ? 1e-5 : 1e-2);
  bool ok = e.badValues == 0 && e.outRel < tol && e.lseRel < tol;
  printLine("%-24s %-4s B=%lld Q_LEN=%lld KV_LEN=%lld %-4s  out rel %.2e (max %.2e)"
                   "  lse rel %.2e (max %.2e)  %8.3f ms  %s\n",
                   variant.desc.name.c_str(), variant.target.c_str(), (long long)B, (long long)Q,
                   (long long)KV,
                   dtypeName(variant.desc.dtype), e.outRel, e.outMaxAbs, e.lseRel,
                   e.lseMaxAbs, ms, ok ? "ok" : "FAILED");
  if (!ok)
  {
    std::string message = formatted("'%s' differs from the float64 reference: out rel %.3e, lse rel "
                 "%.3e, %lld bad values (tolerance %.1e)",
                 variant.desc.name.c_str(), e.outRel, e.lseRel, (long long)e.badValues,
                 tol);
    return failWith(message);
  }
  return 0;
}

int runFiles(const Runnable &variant, const RunOptions &o) {
  if (o.inputsPath.empty() || o.outputPath.empty())
    return failWith("run needs --inputs FILE and --output FILE, or --random B,Q_LEN,KV_LEN");
  Result<CallTensors> tensors = callFromFile(variant.desc, o.inputsPath);
  if (!tensors)
    return failWith(tensors.status().message());
  if (Status s = variant.run(tensors->call()); !s)
    return failRun(variant, tensors->call(), s);
  if (Status s = writeSafeTensors(o.outputPath,
                                  {{"out", tensors->out.view()}, {"lse", tensors->lse.view()}});
      !s)
    return failWith(s.message());
  return 0;
}

int runBench(const Runnable &variant, const RunOptions &o) {
  int64_t B, Q, KV;
  if (!parseShape(o.benchShape, B, Q, KV))
    return failWith("bench needs --shape B,Q_LEN,KV_LEN with sizes in [1, 2^31)");
  std::map<std::string, ScalarValue> scalars;
  std::map<std::string, Tensor> buffers;
  Result<CallTensors> created =
      prepareRandomInputs(variant, o, B, Q, KV, 1, scalars, buffers);
  if (!created)
    return failWith(created.status().message());
  CallTensors &tensors = *created;
  AttentionCall call = tensors.call(), hostCall = call;
  // On a GPU the tensors are staged once: the timed calls run on GPU memory.
  std::unique_ptr<cuda::StagedCall> staged;
  if (variant.cudaKernel) {
    CudaKernel::timeLaunches(true);
    Result<std::unique_ptr<cuda::StagedCall>> s = cuda::stageCall(call);
    if (!s)
      return failWith(s.status().message());
    staged = s.take();
    call = staged->device;
  }
  auto timeIt = [&](const std::function<Status()> &fn, int repetitions,
                    double &median) -> Status {
    std::vector<double> times;
    for (int i = 0; i < 2; ++i) // warm-up
      if (Status s = fn(); !s)
        return s;
    for (int i = 0; i < std::max(1, repetitions); ++i) {
      auto start = std::chrono::steady_clock::now();
      if (Status s = fn(); !s)
        return s;
      times.push_back(millisSince(start));
    }
    std::sort(times.begin(), times.end());
    median = times[times.size() / 2];
    return Status::ok();
  };
  double ms = 0;
  std::vector<double> gpuTimes; // CUDA events around each launch (--target cuda)
  if (Status s = timeIt(
          [&] {
            Status st = variant.run(call);
            if (variant.cudaKernel)
              gpuTimes.push_back(CudaKernel::lastKernelMilliseconds());
            return st;
          },
          o.reps, ms);
      !s)
    return failWith(s.message());
  double density = maskDensity(variant, tensors);
  // FlashAttention's count: 2·B·H·Q·KV·(D + DV) (= 4·B·H·Q·KV·D when DV = D),
  // times the fraction of pairs the mask keeps (one half for causal).
  double flops = 2.0 * double(B) * double(variant.desc.headsQ) * double(Q) * double(KV) *
                 double(variant.desc.headDim + variant.desc.headDimV) * density;
  std::string where = variant.threadsLabel;
  if (variant.cudaKernel)
    if (Result<cuda::CudaDevice> device = cuda::firstDevice())
      where = device->name + ", " + variant.cudaKernel->chip();
  printLine("%-24s %-4s B=%lld H=%lld Q_LEN=%lld KV_LEN=%lld D=%lld %-4s  "
                   "%10.3f ms  %7.4f TFLOP/s  (%.2f GFLOP/s, mask density %.3f, %s)\n",
                   variant.desc.name.c_str(), variant.target.c_str(), (long long)B,
                   (long long)variant.desc.headsQ,
                   (long long)Q, (long long)KV, (long long)variant.desc.headDim,
                   dtypeName(variant.desc.dtype), ms, flops / (ms * 1e9), flops / (ms * 1e6),
                   density, where.c_str());
  if (variant.cudaKernel) {
    gpuTimes.erase(gpuTimes.begin(), gpuTimes.begin() + std::min<size_t>(2, gpuTimes.size()));
    std::sort(gpuTimes.begin(), gpuTimes.end());
    double gpuMs = gpuTimes.empty() ? 0 : gpuTimes[gpuTimes.size() / 2];
    if (gpuMs > 0)
      printLine("%-24s kernel time on the GPU (CUDA events, median) %10.3f ms  %7.4f "
                       "TFLOP/s\n",
                       variant.desc.name.c_str(), gpuMs, flops / (gpuMs * 1e9));
    else
      printLine("%s: the driver reported no kernel time\n", variant.desc.name.c_str());
  }
  if (o.withReference) {
    double refMs = 0;
    if (Status s = timeIt([&] { return variant.reference(hostCall); }, 1, refMs); !s)
      return failWith(s.message());
    printLine("%-24s eager reference (float64)              %10.3f ms  %7.4f TFLOP/s  "
                     "(%.2f GFLOP/s)\n",
                     variant.desc.name.c_str(), refMs, flops / (refMs * 1e9),
                     flops / (refMs * 1e6));
  }
  return 0;
}


int runCommand(const Runnable &variant, const RunOptions &o) {
  if (!o.randomShape.empty()) {
    if (!o.inputsPath.empty() || !o.outputPath.empty())
      return failWith("--random cannot be combined with --inputs/--output");
    return o.backward ? runBackwardRandom(variant, o) : runRandom(variant, o);
  }
  return o.backward ? runBackwardFiles(variant, o) : runFiles(variant, o);
}

} // namespace attnc
