//===- CpuKernelTest.cpp - compiled CPU kernels against the reference -----===//
//
// Built three times: attnc-cpu-kernel-tests compiles for the CPU target,
// attnc-emu-attention-tests (ATTNC_TEST_CUDA_EMU) for the GPU kernel run under
// cuda-emu, and attnc-cuda-attention-tests (ATTNC_TEST_CUDA) for the GPU kernel on
// a CUDA device (every test skipped, with the reason, without one), with the same
// checks; a few tests of the CPU runtime's thread pool are skipped on the GPU.
//
// Specs (written here, or the examples) are compiled for the CPU and run on fresh
// random inputs; out and lse are poisoned first, and the kernel's results are
// compared with the variant's float64 reference run on contiguous copies of the same
// inputs. Error measure: max |kernel - reference| / max |reference| over a tensor
// (for lse, the denominator is at least 1); < 1e-5 for f32, < 1e-2 for f16/bf16.
//
// Covered: arbitrary strides (q, k, v, out, lse and buffers as non-contiguous views,
// out and lse inside bigger buffers whose other elements must stay untouched), B > 1,
// odd lengths, q_len != kv_len, GQA/MQA, head dims that are not multiples of 16 and
// head_dim_v != head_dim, all three dtypes, fully masked rows and all -inf score
// rows (out exactly 0, lse -inf), out-of-range buffer reads (an error naming the
// buffer, never a read outside it), the registry, concurrent runs, thread pools of
// different sizes and different tile sizes.
//
//===----------------------------------------------------------------------===//
#include "compiler/Compiler.h"
#include "runtime/AttentionInterface.h"
#include "runtime/cuda/CudaDriver.h"

#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

using namespace attnc;

namespace {

const double kInf = std::numeric_limits<double>::infinity();

bool contains(const std::string &haystack, const std::string &needle) {
  return haystack.find(needle) != std::string::npos;
}

#define EXPECT_CONTAINS(haystack, needle)                                          \
  do {                                                                             \
    std::string haystack_ = (haystack), needle_ = (needle);                        \
    EXPECT_TRUE(contains(haystack_, needle_))                                      \
        << "message: " << haystack_ << "\nexpected to contain: " << needle_;       \
  } while (0)

//===----------------------------------------------------------------------===//
// Specs and compilation
//===----------------------------------------------------------------------===//

/// Specs written for these tests (name → JSON text); "name" inside equals the key.
const std::map<std::string, std::string> &testSpecs() {
  static const std::map<std::string, std::string> specs = {
      {"f32_plain", R"json({"name": "f32_plain", "heads": {"q": 2}, "head_dim": 16})json"},
      {"f32_gqa_causal", R"json({"name": "f32_gqa_causal", "heads": {"q": 4, "kv": 2},
          "head_dim": 40, "head_dim_v": 24, "mask_mod": "q_idx >= kv_idx"})json"},
      {"f16_mqa_softcap", R"json({"name": "f16_mqa_softcap", "heads": {"q": 3, "kv": 1},
          "head_dim": 40, "head_dim_v": 24, "dtype": "f16", "scale": 0.3,
          "constants": {"cap": 5.0}, "score_mod": "cap * tanh(score / cap)"})json"},
      {"bf16_gqa_bias", R"json({"name": "bf16_gqa_bias", "heads": {"q": 6, "kv": 2},
          "head_dim": 24, "head_dim_v": 40, "dtype": "bf16",
          "scalars": {"temp": "f32"},
          "buffers": {"slopes": {"dtype": "f32", "shape": ["H"]}},
          "score_mod": "score * temp + slopes[h] * (kv_idx - q_idx) / 16.0",
          "mask_mod": "kv_idx <= q_idx + 7"})json"},
      {"f32_window_docs", R"json({"name": "f32_window_docs", "heads": {"q": 2},
          "head_dim": 33,
          "buffers": {"docs": {"dtype": "i64", "shape": ["B", "KV_LEN"]}},
          "mask_mod": "(q_idx - kv_idx < 20 && kv_idx - q_idx < 20) || docs[b, kv_idx] == 0"})json"},
      {"f32_tiny_dims", R"json({"name": "f32_tiny_dims", "heads": {"q": 3, "kv": 3},
          "head_dim": 1, "head_dim_v": 1, "mask_mod": "kv_idx <= q_idx + 2"})json"},
      {"f32_wide_dims", R"json({"name": "f32_wide_dims", "heads": {"q": 2, "kv": 1},
          "head_dim": 257, "head_dim_v": 130})json"},
      {"f32_large_scores", R"json({"name": "f32_large_scores", "heads": {"q": 2},
          "head_dim": 16, "score_mod": "score * 8.0 + 200.0", "mask_mod": "q_idx + 20 >= kv_idx"})json"},
      {"f16_index_vars", R"json({"name": "f16_index_vars", "heads": {"q": 4, "kv": 2},
          "head_dim": 40, "head_dim_v": 24, "dtype": "f16", "scalars": {"base": "i64"},
          "score_mod": "score + 0.5 * h - 0.75 * b + 0.01 * (q_len - kv_len) + 0.001 * base",
          "mask_mod": "(b + h) % 3 != 1 || q_idx >= kv_idx"})json"},
      {"f32_scalar_mix", R"json({"name": "f32_scalar_mix", "heads": {"q": 2}, "head_dim": 24,
          "scalars": {"t": "f32", "o": "i32", "w": "i64"},
          "score_mod": "score * t + 0.01 * o", "mask_mod": "q_idx + w >= kv_idx"})json"},
      // Masking corner cases.
      {"f32_rowmask", R"json({"name": "f32_rowmask", "heads": {"q": 2}, "head_dim": 20,
          "mask_mod": "q_idx % 3 != 0"})json"},
      {"bf16_rowmask", R"json({"name": "bf16_rowmask", "heads": {"q": 4, "kv": 2},
          "head_dim": 24, "dtype": "bf16", "mask_mod": "q_idx % 3 != 0 && kv_idx <= q_idx + 40"})json"},
      {"f16_allmask", R"json({"name": "f16_allmask", "heads": {"q": 2}, "head_dim": 16,
          "dtype": "f16", "mask_mod": "kv_idx > q_idx + kv_len"})json"},
      {"f32_neginf", R"json({"name": "f32_neginf", "heads": {"q": 2, "kv": 1}, "head_dim": 40,
          "head_dim_v": 24, "score_mod": "-inf"})json"},
      {"f16_neginf_rows", R"json({"name": "f16_neginf_rows", "heads": {"q": 2},
          "head_dim": 16, "dtype": "f16",
          "score_mod": "where(q_idx % 2 == 0, -inf, score)"})json"},
      // Buffer reads out of range.
      {"oob_bias", R"json({"name": "oob_bias", "heads": {"q": 2}, "head_dim": 16,
          "buffers": {"bias": {"dtype": "f32", "shape": [5]}},
          "score_mod": "score + bias[kv_idx]"})json"},
      {"oob_negative", R"json({"name": "oob_negative", "heads": {"q": 2}, "head_dim": 16,
          "buffers": {"bias": {"dtype": "f32", "shape": ["KV_LEN"]}},
          "score_mod": "score + bias[kv_idx - 1]"})json"},
      {"oob_mask", R"json({"name": "oob_mask", "heads": {"q": 2}, "head_dim": 16,
          "buffers": {"alpha": {"dtype": "f32", "shape": ["H"]},
                      "docs": {"dtype": "i32", "shape": ["B", 4]}},
          "score_mod": "score * alpha[h]",
          "mask_mod": "docs[b, q_idx] >= 0"})json"},
      {"oob_masked_pairs", R"json({"name": "oob_masked_pairs", "heads": {"q": 2},
          "head_dim": 16, "buffers": {"bias": {"dtype": "f32", "shape": [5]}},
          "score_mod": "score + bias[kv_idx]", "mask_mod": "kv_idx < 5"})json"},
      // Integer division by a run-time zero.
      {"divzero", R"json({"name": "divzero", "heads": {"q": 2}, "head_dim": 16,
          "scalars": {"d": "i64"}, "mask_mod": "kv_idx // d >= 0"})json"},
  };
  return specs;
}

std::string examplesDir() { return ATTNC_EXAMPLES_DIR; }

#if defined(ATTNC_TEST_CUDA_EMU)
constexpr Target kTarget = Target::CudaEmu;
/// Tests of the CPU runtime (its thread pool) that have no GPU counterpart.
#define CPU_RUNTIME_ONLY() GTEST_SKIP() << "tests the CPU runtime's thread pool"
#elif defined(ATTNC_TEST_CUDA)
constexpr Target kTarget = Target::Cuda;
#define CPU_RUNTIME_ONLY() GTEST_SKIP() << "tests the CPU runtime's thread pool"

#else
constexpr Target kTarget = Target::Cpu;
#define CPU_RUNTIME_ONLY() (void)0
#endif

/// One compiler for the whole test binary (never destroyed: compiled kernels may be
/// registered in the process-wide registry), and a cache of compiled variants.
std::shared_ptr<CompiledVariant> compile(const std::string &key,
                                         KernelTileOptions options = {}) {
  static std::mutex mutex;
  static Compiler *compiler = new Compiler();
  // Leaked too: JIT engines must not be torn down after LLVM's own statics at exit.
  static auto &cache = *new std::map<std::string, std::shared_ptr<CompiledVariant>>();
  std::lock_guard<std::mutex> lock(mutex);
  std::string cacheKey =
      key + "@" + std::to_string(options.blockQ) + "x" + std::to_string(options.blockKV);
  auto it = cache.find(cacheKey);
  if (it != cache.end())
    return it->second;
  std::shared_ptr<CompiledVariant> v;
  // The default tiles are each target's own (the GPU's key tiles follow the head dims).
  if (kTarget != Target::Cpu && options.blockQ == 64 && options.blockKV == 64)
    options.blockKV = 0;
  auto spec = testSpecs().find(key);
  if (spec != testSpecs().end()) {
    // Written to a file and compiled from it, as the command line does.
    std::string path = ::testing::TempDir() + "/attnc_cpu_kernel_test_" +
                       std::to_string(getpid()) + "_" + key + ".json";
    {
      std::ofstream out(path);
      out << spec->second;
    }
    v = compiler->compileFileFor(path, kTarget, options);
    std::remove(path.c_str());
  } else {
    v = compiler->compileFileFor(examplesDir() + "/" + key + ".json", kTarget, options);
  }
  cache[cacheKey] = v;
  return v;
}

//===----------------------------------------------------------------------===//
// Tensors
//===----------------------------------------------------------------------===//

void forEachIndex(const std::vector<int64_t> &shape,
                  const std::function<void(const int64_t *)> &fn) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  std::vector<int64_t> idx(shape.size(), 0);
  for (int64_t e = 0; e < n; ++e) {
    fn(idx.data());
    for (int64_t d = int64_t(idx.size()) - 1; d >= 0; --d) {
      if (++idx[size_t(d)] < shape[size_t(d)])
        break;
      idx[size_t(d)] = 0;
    }
  }
}

void copyElements(const TensorView &from, const TensorView &to) {
  forEachIndex(from.shape, [&](const int64_t *i) { to.set(i, from.get(i)); });
}

/// A view into bigger storage: storage bytes are first filled with `fill`, the view's
/// own elements are then poisoned (0xFF bytes: NaN). `inView` marks storage elements
/// the view covers.
struct StridedTensor {
  Tensor storage;
  TensorView view;
  std::vector<bool> inView;
  uint8_t fill = 0;

  StridedTensor() = default;
  StridedTensor(DType dtype, std::vector<int64_t> storageShape, std::vector<int64_t> shape,
                std::vector<int64_t> strides, int64_t offset, uint8_t fillByte)
      : storage(dtype, std::move(storageShape)), fill(fillByte) {
    size_t elt = dtypeSize(dtype);
    std::memset(storage.data(), fill, storage.byteSize());
    view = TensorView{static_cast<char *>(storage.data()) + offset * int64_t(elt), dtype,
                      std::move(shape), std::move(strides)};
    inView.assign(size_t(storage.numel()), false);
    forEachIndex(view.shape, [&](const int64_t *i) {
      int64_t e = offset + view.offsetOf(i);
      assert(e >= 0 && e < storage.numel());
      inView[size_t(e)] = true;
      std::memset(static_cast<char *>(storage.data()) + e * int64_t(elt), 0xFF, elt);
    });
  }

  /// Elements of the storage outside the view whose bytes changed.
  int64_t touchedOutside() const {
    size_t elt = dtypeSize(storage.dtype());
    const unsigned char *bytes = static_cast<const unsigned char *>(storage.data());
    int64_t touched = 0;
    for (int64_t e = 0; e < storage.numel(); ++e) {
      if (inView[size_t(e)])
        continue;
      for (size_t b = 0; b < elt; ++b)
        if (bytes[size_t(e) * elt + b] != fill) {
          ++touched;
          break;
        }
    }
    return touched;
  }
};

/// Fills a contiguous tensor with uniform values in [lo, hi] (rounded to its dtype).
void fillUniform(Tensor &t, std::mt19937_64 &rng, double lo, double hi) {
  std::uniform_real_distribution<double> dist(lo, hi);
  TensorView v = t.view();
  forEachIndex(v.shape, [&](const int64_t *i) { v.set(i, dist(rng)); });
}

/// A call's tensors: contiguous inputs for the reference, the kernel's views (the
/// same tensors, or strided copies), and poisoned outputs for both.
struct Problem {
  VariantDesc desc;
  int64_t B = 0, Q = 0, KV = 0;
  bool strided = false;
  Tensor q, k, v, refOut, refLse;
  std::map<std::string, Tensor> buffers;
  std::map<std::string, ScalarValue> scalars;
  // The kernel's side.
  StridedTensor qS, kS, vS, outS, lseS;
  std::map<std::string, StridedTensor> buffersS;

  AttentionCall referenceCall() const {
    AttentionCall c;
    c.q = q.view();
    c.k = k.view();
    c.v = v.view();
    c.out = refOut.view();
    c.lse = refLse.view();
    for (const auto &[name, t] : buffers)
      c.buffers[name] = t.view();
    c.scalars = scalars;
    return c;
  }

  AttentionCall kernelCall() const {
    AttentionCall c;
    c.q = qS.view;
    c.k = kS.view;
    c.v = vS.view;
    c.out = outS.view;
    c.lse = lseS.view;
    for (const auto &[name, t] : buffersS)
      c.buffers[name] = t.view;
    c.scalars = scalars;
    return c;
  }

  /// Poisons the kernel's out and lse again (for a second run).
  void repoison() {
    for (StridedTensor *t : {&outS, &lseS})
      forEachIndex(t->view.shape, [&](const int64_t *i) {
        size_t elt = dtypeSize(t->view.dtype);
        std::memset(static_cast<char *>(t->view.data) + t->view.offsetOf(i) * int64_t(elt),
                    0xFF, elt);
      });
  }
};

/// Random inputs for `desc`. With `strided`, q is stored [B, Q, H, D], k [KV, B, H_KV,
/// D + 3], v every other element of padded rows, out [B, Q + 2, H, DV + 5] at an
/// offset, lse [B, Q + 1, 2H] at an offset, buffers column-major with stride 2; all
/// storage outside the views holds NaN (inputs) or a sentinel (outputs).
Problem makeProblem(const VariantDesc &desc, int64_t B, int64_t Q, int64_t KV,
                    bool strided, uint64_t seed,
                    const std::map<std::string, ScalarValue> &scalarValues = {}) {
  Problem p;
  p.desc = desc;
  p.B = B;
  p.Q = Q;
  p.KV = KV;
  p.strided = strided;
  const int64_t H = desc.headsQ, HKV = desc.headsKV, D = desc.headDim, DV = desc.headDimV;
  std::mt19937_64 rng(seed);
  p.q = Tensor(desc.dtype, {B, H, Q, D});
  p.k = Tensor(desc.dtype, {B, HKV, KV, D});
  p.v = Tensor(desc.dtype, {B, HKV, KV, DV});
  fillUniform(p.q, rng, -1, 1);
  fillUniform(p.k, rng, -1, 1);
  fillUniform(p.v, rng, -1, 1);
  p.refOut = Tensor(desc.dtype, {B, H, Q, DV});
  p.refLse = Tensor(DType::F32, {B, H, Q});
  p.refOut.poison();
  p.refLse.poison();

  AttentionCall shapes;
  shapes.q = p.q.view();
  shapes.k = p.k.view();
  for (const BufferDecl &decl : desc.buffers) {
    std::vector<int64_t> shape;
    for (int64_t d : decl.shape)
      shape.push_back(resolveDim(d, desc, shapes));
    Tensor buf(decl.dtype, shape);
    if (decl.dtype == DType::F32) {
      fillUniform(buf, rng, -1, 1);
    } else { // small ids, non-decreasing along the last dimension (document ids)
      int64_t last = shape.back(), rows = buf.numel() / last;
      std::uniform_int_distribution<int64_t> dist(0, 3);
      for (int64_t r = 0; r < rows; ++r) {
        std::vector<int64_t> values(static_cast<size_t>(last));
        for (int64_t &x : values)
          x = dist(rng);
        std::sort(values.begin(), values.end());
        for (int64_t c = 0; c < last; ++c) {
          if (decl.dtype == DType::I32)
            buf.as<int32_t>()[r * last + c] = int32_t(values[size_t(c)]);
          else
            buf.as<int64_t>()[r * last + c] = values[size_t(c)];
        }
      }
    }
    p.buffers.emplace(decl.name, std::move(buf));
  }
  for (const ScalarDecl &decl : desc.scalars) {
    ScalarValue v;
    v.type = decl.type;
    auto it = scalarValues.find(decl.name);
    if (it != scalarValues.end())
      v = it->second;
    else if (decl.type == DType::F32)
      v.f = 0.75;
    else
      v.i = KV - Q; // e.g. a decoding offset: the last query sees every key
    p.scalars[decl.name] = v;
  }

  const DType dt = desc.dtype;
  if (!strided) {
    p.qS = StridedTensor(dt, {B, H, Q, D}, {B, H, Q, D}, contiguousStrides({B, H, Q, D}), 0, 0);
    p.kS = StridedTensor(dt, {B, HKV, KV, D}, {B, HKV, KV, D},
                         contiguousStrides({B, HKV, KV, D}), 0, 0);
    p.vS = StridedTensor(dt, {B, HKV, KV, DV}, {B, HKV, KV, DV},
                         contiguousStrides({B, HKV, KV, DV}), 0, 0);
    p.outS = StridedTensor(dt, {B, H, Q, DV}, {B, H, Q, DV},
                           contiguousStrides({B, H, Q, DV}), 0, 0x5A);
    p.lseS = StridedTensor(DType::F32, {B, H, Q}, {B, H, Q}, contiguousStrides({B, H, Q}),
                           0, 0x5A);
  } else {
    p.qS = StridedTensor(dt, {B, Q, H, D}, {B, H, Q, D}, {Q * H * D, D, H * D, 1}, 0, 0xFF);
    const int64_t kRow = D + 3;
    p.kS = StridedTensor(dt, {KV, B, HKV, kRow}, {B, HKV, KV, D},
                         {HKV * kRow, kRow, B * HKV * kRow, 1}, 0, 0xFF);
    const int64_t vRow = 2 * DV + 1;
    p.vS = StridedTensor(dt, {B, HKV, KV, vRow}, {B, HKV, KV, DV},
                         {HKV * KV * vRow, KV * vRow, vRow, 2}, 1, 0xFF);
    const int64_t oRow = DV + 5;
    p.outS = StridedTensor(dt, {B, Q + 2, H, oRow}, {B, H, Q, DV},
                           {(Q + 2) * H * oRow, oRow, H * oRow, 1}, H * oRow + 2, 0x5A);
    p.lseS = StridedTensor(DType::F32, {B, Q + 1, 2 * H}, {B, H, Q},
                           {(Q + 1) * 2 * H, 2, 2 * H}, 2 * H + 1, 0x5A);
  }
  copyElements(p.q.view(), p.qS.view);
  copyElements(p.k.view(), p.kS.view);
  copyElements(p.v.view(), p.vS.view);
  for (const auto &[name, buf] : p.buffers) {
    const std::vector<int64_t> &shape = buf.shape();
    if (!strided) {
      p.buffersS[name] = StridedTensor(buf.dtype(), shape, shape, contiguousStrides(shape), 0, 0);
    } else {
      std::vector<int64_t> strides(shape.size());
      int64_t s = 2;
      for (size_t d = 0; d < shape.size(); ++d) {
        strides[d] = s;
        s *= shape[d];
      }
      p.buffersS[name] = StridedTensor(buf.dtype(), {2 * buf.numel() + 1}, shape, strides,
                                       1, 0xFF);
    }
    copyElements(buf.view(), p.buffersS[name].view);
  }
  return p;
}

double tolerance(DType dtype) { return dtype == DType::F32 ? 1e-5 : 1e-2; }

/// Compares the kernel's out and lse with the reference's (which must have run).
::testing::AssertionResult matchesReference(const Problem &p, double tol) {
  double maxRef = 0, maxErr = 0;
  std::string firstBad;
  const TensorView ko = p.outS.view, ro = p.refOut.view();
  forEachIndex(ro.shape, [&](const int64_t *i) {
    double k = ko.get(i), r = ro.get(i);
    if (std::isnan(r) && firstBad.empty())
      firstBad = "reference out is NaN";
    if (std::isnan(k) && firstBad.empty())
      firstBad = "out[" + std::to_string(i[0]) + ", " + std::to_string(i[1]) + ", " +
                 std::to_string(i[2]) + ", " + std::to_string(i[3]) +
                 "] is NaN (never written?)";
    maxRef = std::max(maxRef, std::fabs(r));
    maxErr = std::max(maxErr, std::fabs(k - r));
  });
  if (!firstBad.empty())
    return ::testing::AssertionFailure() << firstBad;
  double outErr = maxRef > 0 ? maxErr / maxRef : maxErr;
  if (!(outErr < tol))
    return ::testing::AssertionFailure() << "out relative error " << outErr << " (max |err| "
                                         << maxErr << ", max |ref| " << maxRef << ")";

  double maxRefL = 1, maxErrL = 0;
  const TensorView kl = p.lseS.view, rl = p.refLse.view();
  forEachIndex(rl.shape, [&](const int64_t *i) {
    double k = kl.get(i), r = rl.get(i);
    std::string where = "lse[" + std::to_string(i[0]) + ", " + std::to_string(i[1]) + ", " +
                        std::to_string(i[2]) + "]";
    if (std::isnan(k) && firstBad.empty())
      firstBad = where + " is NaN";
    if (r == -kInf) {
      if (k != -kInf && firstBad.empty())
        firstBad = where + " = " + std::to_string(k) + ", reference -inf";
      return;
    }
    maxRefL = std::max(maxRefL, std::fabs(r));
    maxErrL = std::max(maxErrL, std::fabs(k - r));
  });
  if (!firstBad.empty())
    return ::testing::AssertionFailure() << firstBad;
  if (!(maxErrL / maxRefL < tol))
    return ::testing::AssertionFailure() << "lse relative error " << maxErrL / maxRefL;
  if (int64_t n = p.outS.touchedOutside())
    return ::testing::AssertionFailure() << n << " elements outside the out view were written";
  if (int64_t n = p.lseS.touchedOutside())
    return ::testing::AssertionFailure() << n << " elements outside the lse view were written";
  return ::testing::AssertionSuccess();
}

/// Runs kernel and reference on `p` and compares.
::testing::AssertionResult runAndCompare(const CompiledVariant &v, Problem &p) {
  Status ref = v.reference(p.referenceCall());
  if (!ref)
    return ::testing::AssertionFailure() << "reference failed: " << ref.message();
  Status run = v.run(p.kernelCall());
  if (!run)
    return ::testing::AssertionFailure() << "kernel failed: " << run.message();
  return matchesReference(p, tolerance(v.desc.dtype));
}

//===----------------------------------------------------------------------===//
// Kernel vs reference over specs × shapes × layouts
//===----------------------------------------------------------------------===//

struct KernelCase {
  std::string spec;
  int64_t B, Q, KV;
  bool strided;
};

std::string caseName(const ::testing::TestParamInfo<KernelCase> &info) {
  const KernelCase &c = info.param;
  return c.spec + "_B" + std::to_string(c.B) + "_Q" + std::to_string(c.Q) + "_KV" +
         std::to_string(c.KV) + (c.strided ? "_strided" : "_contiguous");
}

class KernelVsReference : public ::testing::TestWithParam<KernelCase> {};

TEST_P(KernelVsReference, Matches) {
  const KernelCase &c = GetParam();
  std::shared_ptr<CompiledVariant> v = compile(c.spec);
  ASSERT_TRUE(v) << "compiling " << c.spec << " failed";
  uint64_t seed = std::hash<std::string>()(caseName(::testing::TestParamInfo<KernelCase>(c, 0)));
  Problem p = makeProblem(v->desc, c.B, c.Q, c.KV, c.strided, seed);
  EXPECT_TRUE(runAndCompare(*v, p));
}

std::vector<KernelCase> customCases() {
  std::vector<KernelCase> cases;
  const int64_t shapes[][3] = {{1, 1, 1},   {2, 17, 17}, {1, 65, 130}, {3, 130, 65},
                               {2, 1, 130}, {1, 130, 1}, {2, 64, 128}};
  for (const char *spec : {"f32_plain", "f32_gqa_causal", "f16_mqa_softcap",
                           "bf16_gqa_bias", "f32_window_docs", "f32_tiny_dims",
                           "f32_wide_dims", "f32_large_scores", "f16_index_vars"})
    for (const auto &s : shapes)
      for (bool strided : {false, true})
        cases.push_back({spec, s[0], s[1], s[2], strided});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Specs, KernelVsReference, ::testing::ValuesIn(customCases()),
                         caseName);

std::vector<KernelCase> exampleCases() {
  std::vector<KernelCase> cases;
  for (const char *spec :
       {"alibi", "causal", "chunked_causal", "cross_attention", "decode_offset",
        "document", "gemma2_softcap_window", "gqa", "mqa", "plain", "prefix_lm",
        "relative_bias", "sliding_window", "softcap"}) {
    cases.push_back({spec, 2, 17, 33, false});
    cases.push_back({spec, 1, 67, 129, true});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Examples, KernelVsReference, ::testing::ValuesIn(exampleCases()),
                         caseName);

TEST(Strides, KeysAndValuesBroadcastOverTheBatch) {
  // k and v given with batch stride 0 (one key/value set shared by every batch), and
  // q's head dimension broadcast too: stride 0 is a valid stride.
  for (const char *spec : {"f32_gqa_causal", "bf16_gqa_bias"}) {
    SCOPED_TRACE(spec);
    std::shared_ptr<CompiledVariant> v = compile(spec);
    ASSERT_TRUE(v);
    Problem p = makeProblem(v->desc, 3, 19, 45, false, 90);
    const int64_t H = v->desc.headsQ;
    // The reference's contiguous inputs hold the broadcast values explicitly.
    for (Tensor *t : {&p.k, &p.v}) {
      int64_t perBatch = t->numel() / 3;
      size_t elt = dtypeSize(t->dtype());
      for (int64_t b = 1; b < 3; ++b)
        std::memcpy(static_cast<char *>(t->data()) + b * perBatch * int64_t(elt), t->data(),
                    size_t(perBatch) * elt);
    }
    p.kS.view.strides[0] = 0;
    p.vS.view.strides[0] = 0;
    int64_t perHead = p.q.numel() / (3 * H);
    size_t elt = dtypeSize(p.q.dtype());
    for (int64_t b = 0; b < 3; ++b)
      for (int64_t h = 1; h < H; ++h)
        std::memcpy(static_cast<char *>(p.q.data()) + (b * H + h) * perHead * int64_t(elt),
                    static_cast<char *>(p.q.data()) + b * H * perHead * int64_t(elt),
                    size_t(perHead) * elt);
    p.qS.view.strides[1] = 0;
    EXPECT_TRUE(runAndCompare(*v, p));
  }
}

//===----------------------------------------------------------------------===//
// Masking: empty rows give out = 0 and lse = -inf
//===----------------------------------------------------------------------===//

/// Checks row (b, h, i) of the kernel's output is exactly 0 with lse -inf.
::testing::AssertionResult emptyRow(const Problem &p, int64_t b, int64_t h, int64_t i) {
  int64_t li[3] = {b, h, i};
  double lse = p.lseS.view.get(li);
  if (lse != -kInf)
    return ::testing::AssertionFailure() << "lse[" << b << ", " << h << ", " << i
                                         << "] = " << lse << ", expected -inf";
  for (int64_t d = 0; d < p.desc.headDimV; ++d) {
    int64_t oi[4] = {b, h, i, d};
    double o = p.outS.view.get(oi);
    if (o != 0.0)
      return ::testing::AssertionFailure() << "out[" << b << ", " << h << ", " << i << ", "
                                           << d << "] = " << o << ", expected 0";
  }
  return ::testing::AssertionSuccess();
}

class EmptyRows : public ::testing::TestWithParam<bool> {};

TEST_P(EmptyRows, FullyMaskedRowsGiveZeroAndMinusInf) {
  for (const char *spec : {"f32_rowmask", "bf16_rowmask"}) {
    SCOPED_TRACE(spec);
    std::shared_ptr<CompiledVariant> v = compile(spec);
    ASSERT_TRUE(v);
    Problem p = makeProblem(v->desc, 2, 70, 37, GetParam(), 21);
    EXPECT_TRUE(runAndCompare(*v, p));
    int64_t empty = 0;
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t h = 0; h < v->desc.headsQ; ++h)
        for (int64_t i = 0; i < 70; i += 3, ++empty)
          ASSERT_TRUE(emptyRow(p, b, h, i));
    EXPECT_GT(empty, 0);
  }
}

TEST_P(EmptyRows, EverythingMasked) {
  std::shared_ptr<CompiledVariant> v = compile("f16_allmask");
  ASSERT_TRUE(v);
  for (auto [Q, KV] : {std::pair<int64_t, int64_t>{1, 1}, {33, 130}, {130, 7}}) {
    Problem p = makeProblem(v->desc, 2, Q, KV, GetParam(), 22);
    Status s = v->run(p.kernelCall());
    ASSERT_TRUE(s) << s.message();
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t h = 0; h < 2; ++h)
        for (int64_t i = 0; i < Q; ++i)
          ASSERT_TRUE(emptyRow(p, b, h, i)) << "Q " << Q << " KV " << KV;
    EXPECT_EQ(p.outS.touchedOutside(), 0);
    EXPECT_EQ(p.lseS.touchedOutside(), 0);
  }
}

TEST_P(EmptyRows, ScoreModMinusInfEverywhere) {
  std::shared_ptr<CompiledVariant> v = compile("f32_neginf");
  ASSERT_TRUE(v);
  for (auto [Q, KV] : {std::pair<int64_t, int64_t>{1, 1}, {17, 65}, {65, 17}}) {
    Problem p = makeProblem(v->desc, 2, Q, KV, GetParam(), 23);
    EXPECT_TRUE(runAndCompare(*v, p));
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t h = 0; h < 2; ++h)
        for (int64_t i = 0; i < Q; ++i)
          ASSERT_TRUE(emptyRow(p, b, h, i)) << "Q " << Q << " KV " << KV;
  }
}

TEST_P(EmptyRows, ScoreModMinusInfOnSomeRows) {
  std::shared_ptr<CompiledVariant> v = compile("f16_neginf_rows");
  ASSERT_TRUE(v);
  Problem p = makeProblem(v->desc, 2, 37, 70, GetParam(), 24);
  EXPECT_TRUE(runAndCompare(*v, p));
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t i = 0; i < 37; ++i) {
        if (i % 2 == 0) {
          ASSERT_TRUE(emptyRow(p, b, h, i));
        } else {
          int64_t li[3] = {b, h, i};
          ASSERT_TRUE(std::isfinite(p.lseS.view.get(li)));
        }
      }
}

INSTANTIATE_TEST_SUITE_P(Layouts, EmptyRows, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool> &info) {
                           return std::string(info.param ? "strided" : "contiguous");
                         });

//===----------------------------------------------------------------------===//
// Buffer reads out of range, division by zero, invalid calls
//===----------------------------------------------------------------------===//

TEST(BufferBounds, InRangeReadsWork) {
  std::shared_ptr<CompiledVariant> v = compile("oob_bias");
  ASSERT_TRUE(v);
  for (int64_t KV : {1, 4, 5}) {
    Problem p = makeProblem(v->desc, 2, 9, KV, true, 30);
    // bias has the fixed shape [5] whatever KV is.
    EXPECT_TRUE(runAndCompare(*v, p)) << "KV " << KV;
  }
}

TEST(BufferBounds, ReadPastTheEndFailsNamingTheBuffer) {
  std::shared_ptr<CompiledVariant> v = compile("oob_bias");
  ASSERT_TRUE(v);
  for (int64_t KV : {6, 17, 130}) {
    for (bool strided : {false, true}) {
      Problem p = makeProblem(v->desc, 2, 9, KV, strided, 31);
      Status s = v->run(p.kernelCall());
      ASSERT_FALSE(s) << "KV " << KV << ": the kernel accepted bias[kv_idx] with kv_idx >= 5";
      EXPECT_CONTAINS(s.message(), "'bias'");
      EXPECT_CONTAINS(s.message(), "out of range");
      Status r = v->reference(p.referenceCall());
      ASSERT_FALSE(r);
      EXPECT_CONTAINS(r.message(), "'bias'");
    }
  }
}

TEST(BufferBounds, NegativeIndexFailsNamingTheBuffer) {
  std::shared_ptr<CompiledVariant> v = compile("oob_negative");
  ASSERT_TRUE(v);
  for (int64_t KV : {1, 20}) {
    Problem p = makeProblem(v->desc, 1, 3, KV, false, 32);
    Status s = v->run(p.kernelCall());
    ASSERT_FALSE(s) << "bias[-1] was accepted";
    EXPECT_CONTAINS(s.message(), "'bias'");
  }
}

TEST(BufferBounds, ReadInMaskModFailsNamingTheBuffer) {
  std::shared_ptr<CompiledVariant> v = compile("oob_mask");
  ASSERT_TRUE(v);
  // docs is [B, 4]: q_len 4 is fine, q_len 5 reads docs[b, 4].
  Problem ok = makeProblem(v->desc, 2, 4, 9, true, 33);
  EXPECT_TRUE(runAndCompare(*v, ok));
  for (int64_t Q : {5, 70}) {
    Problem p = makeProblem(v->desc, 2, Q, 9, true, 34);
    Status s = v->run(p.kernelCall());
    ASSERT_FALSE(s) << "Q " << Q;
    EXPECT_CONTAINS(s.message(), "'docs'");
    EXPECT_FALSE(contains(s.message(), "'alpha'")) << s.message();
  }
}

TEST(BufferBounds, KernelAndReferenceAgreeOnReadsUnderMaskedPairs) {
  // bias[kv_idx] with kv_idx >= 5 is only reached for pairs the mask drops. Whether
  // that is an error is the spec's call; the kernel and the reference must agree.
  std::shared_ptr<CompiledVariant> v = compile("oob_masked_pairs");
  ASSERT_TRUE(v);
  Problem p = makeProblem(v->desc, 1, 8, 40, false, 35);
  Status r = v->reference(p.referenceCall());
  Status s = v->run(p.kernelCall());
  std::printf("reads under masked pairs: reference %s, kernel %s\n",
              r ? "ok" : r.message().c_str(), s ? "ok" : s.message().c_str());
  EXPECT_EQ(bool(r), bool(s)) << "reference: " << (r ? "ok" : r.message())
                              << "\nkernel: " << (s ? "ok" : s.message());
  if (r && s)
    EXPECT_TRUE(matchesReference(p, 1e-5));
}

/// Page-aligned memory whose last usable byte is followed by an inaccessible page.
struct GuardedAlloc {
  void *base = MAP_FAILED;
  size_t size = 0;
  char *end = nullptr; ///< first inaccessible byte
  explicit GuardedAlloc(size_t bytes) {
    size_t page = size_t(sysconf(_SC_PAGESIZE));
    size_t dataPages = (bytes + page - 1) / page;
    size = (dataPages + 1) * page;
    base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
      return;
    end = static_cast<char *>(base) + dataPages * page;
    mprotect(end, page, PROT_NONE);
  }
  ~GuardedAlloc() {
    if (base != MAP_FAILED)
      munmap(base, size);
  }
};

TEST(BufferBounds, NeverReadsPastTheBuffer) {
  // bias's 5 floats end exactly at an inaccessible page: a read past them would crash.
  std::shared_ptr<CompiledVariant> v = compile("oob_bias");
  ASSERT_TRUE(v);
  GuardedAlloc guarded(5 * sizeof(float));
  ASSERT_NE(guarded.base, MAP_FAILED);
  float *bias = reinterpret_cast<float *>(guarded.end) - 5;
  for (int i = 0; i < 5; ++i)
    bias[i] = 0.1f * float(i);
  for (int64_t KV : {5, 16, 64, 130}) {
    Problem p = makeProblem(v->desc, 1, 7, KV, false, 36);
    Tensor &owned = p.buffers.at("bias");
    std::memcpy(owned.data(), bias, 5 * sizeof(float));
    AttentionCall call = p.kernelCall();
    call.buffers["bias"] = TensorView{bias, DType::F32, {5}, {1}};
    Status s = v->run(call);
    if (KV == 5) {
      ASSERT_TRUE(s) << s.message();
      ASSERT_TRUE(v->reference(p.referenceCall()));
      EXPECT_TRUE(matchesReference(p, 1e-5));
    } else {
      ASSERT_FALSE(s) << "KV " << KV;
      EXPECT_CONTAINS(s.message(), "'bias'");
    }
  }
}

TEST(KernelErrors, DivisionByRuntimeZero) {
  std::shared_ptr<CompiledVariant> v = compile("divzero");
  ASSERT_TRUE(v);
  ScalarValue two;
  two.type = DType::I64;
  two.i = 2;
  Problem ok = makeProblem(v->desc, 1, 5, 9, false, 40, {{"d", two}});
  EXPECT_TRUE(runAndCompare(*v, ok));
  ScalarValue zero;
  zero.type = DType::I64;
  zero.i = 0;
  Problem p = makeProblem(v->desc, 1, 5, 9, false, 41, {{"d", zero}});
  Status s = v->run(p.kernelCall());
  ASSERT_FALSE(s);
  EXPECT_CONTAINS(s.message(), "by zero");
}

TEST(KernelErrors, InvalidCallIsRejectedBeforeRunning) {
  std::shared_ptr<CompiledVariant> v = compile("f32_gqa_causal");
  ASSERT_TRUE(v);
  Problem p = makeProblem(v->desc, 1, 5, 9, false, 42);
  AttentionCall call = p.kernelCall();
  Tensor wrong(DType::F16, {1, 4, 5, 40});
  call.q = wrong.view();
  Status s = v->run(call);
  ASSERT_FALSE(s);
  EXPECT_CONTAINS(s.message(), "tensor 'q' must have dtype f32, got f16");
  Tensor shortV(DType::F32, {1, 2, 9, 23});
  call = p.kernelCall();
  call.v = shortV.view();
  s = v->run(call);
  ASSERT_FALSE(s);
  EXPECT_CONTAINS(s.message(), "tensor 'v' must have shape [1, 2, 9, 24], got [1, 2, 9, 23]");
  // Nothing was written.
  forEachIndex(p.outS.view.shape,
               [&](const int64_t *i) { ASSERT_TRUE(std::isnan(p.outS.view.get(i))); });
}

//===----------------------------------------------------------------------===//
// Run-time scalars, the registry, concurrency, thread pools, tile sizes
//===----------------------------------------------------------------------===//

TEST(Scalars, ChangingAScalarNeverRecompiles) {
  std::shared_ptr<CompiledVariant> v = compile("decode_offset");
  ASSERT_TRUE(v);
  for (int64_t offset : {-3, 0, 5, 64, 100000}) {
    ScalarValue s;
    s.type = DType::I32;
    s.i = offset;
    Problem p = makeProblem(v->desc, 2, 9, 64, true, 50, {{"offset", s}});
    EXPECT_TRUE(runAndCompare(*v, p)) << "offset " << offset;
    if (offset == -3) // rows 0-2 see no key
      EXPECT_TRUE(emptyRow(p, 1, 7, 2));
  }
}

TEST(Scalars, EveryScalarTypeWithManyValues) {
  std::shared_ptr<CompiledVariant> v = compile("f32_scalar_mix");
  ASSERT_TRUE(v);
  ASSERT_EQ(v->desc.scalars.size(), 3u);
  struct Values {
    double t;
    int64_t o, w;
  } values[] = {{0.1, -7, 0}, {-2.5, 123456, 40}, {1e-3, 0, -5}, {3.0, -2147483648LL, 1000}};
  uint64_t seed = 120;
  for (const Values &x : values) {
    ScalarValue t, o, w;
    t.type = DType::F32;
    t.f = x.t;
    o.type = DType::I32;
    o.i = x.o;
    w.type = DType::I64;
    w.i = x.w;
    Problem p = makeProblem(v->desc, 2, 33, 47, true, ++seed, {{"t", t}, {"o", o}, {"w", w}});
    EXPECT_TRUE(runAndCompare(*v, p)) << "t " << x.t << " o " << x.o << " w " << x.w;
  }
}

TEST(Compile, BadSpecGivesNullNotACrash) {
  Compiler compiler;
  EXPECT_FALSE(compiler.compileText("bad.json", R"json({"name": "bad", "head_dim": 8})json"));
  EXPECT_FALSE(compiler.compileText(
      "bad2.json",
      R"json({"name": "bad2", "heads": {"q": 2}, "head_dim": 8, "mask_mod": "score > 0"})json"));
  EXPECT_FALSE(compiler.compileFile(::testing::TempDir() + "/attnc-no-such-spec.json"));
  std::shared_ptr<CompiledVariant> good = compiler.compileText(
      "good.json", R"json({"name": "good", "heads": {"q": 2}, "head_dim": 8})json");
  ASSERT_TRUE(good);
  Problem p = makeProblem(good->desc, 1, 5, 6, true, 130);
  EXPECT_TRUE(runAndCompare(*good, p));
}

TEST(Registry, CompiledVariantThroughAllAttentionFunctions) {
  std::shared_ptr<CompiledVariant> v = compile("f32_gqa_causal");
  ASSERT_TRUE(v);
  ALL_ATTENTION_FUNCTIONS.registerFunction(v->desc.name, v->function());
  EXPECT_TRUE(ALL_ATTENTION_FUNCTIONS.contains("f32_gqa_causal"));
  std::vector<std::string> keys = ALL_ATTENTION_FUNCTIONS.keys();
  EXPECT_NE(std::find(keys.begin(), keys.end(), "f32_gqa_causal"), keys.end());
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));

  Problem p = makeProblem(v->desc, 2, 33, 47, true, 60);
  ASSERT_TRUE(v->reference(p.referenceCall()));
  Status s = ALL_ATTENTION_FUNCTIONS["f32_gqa_causal"](p.kernelCall());
  ASSERT_TRUE(s) << s.message();
  EXPECT_TRUE(matchesReference(p, 1e-5));

  // Switching implementation by name: the same call through "eager" gives plain
  // (unmasked) attention, which differs from the causal kernel.
  Problem plain = makeProblem(v->desc, 1, 4, 4, false, 61);
  ASSERT_TRUE(ALL_ATTENTION_FUNCTIONS["eager"](plain.referenceCall()));
  ASSERT_TRUE(ALL_ATTENTION_FUNCTIONS["f32_gqa_causal"](plain.kernelCall()));
  int64_t first[4] = {0, 0, 0, 0};
  EXPECT_NE(plain.refOut.view().get(first), plain.outS.view.get(first))
      << "row 0 of causal sees only key 0; eager sees all keys";

  Status missing = ALL_ATTENTION_FUNCTIONS["f32_gqa_causall"](p.kernelCall());
  ASSERT_FALSE(missing);
  EXPECT_CONTAINS(missing.message(), "'f32_gqa_causall'");
  EXPECT_CONTAINS(missing.message(), "eager, f32_gqa_causal");
}

TEST(Registry, SdpaMatchesEager) {
  registerSdpa();
  ASSERT_TRUE(ALL_ATTENTION_FUNCTIONS.contains("sdpa"));
  VariantDesc plain;
  plain.headsQ = 4;
  plain.headsKV = 2;
  plain.headDim = 40;
  plain.headDimV = 24;
  for (DType dt : {DType::F32, DType::BF16}) {
    plain.dtype = dt;
    Problem p = makeProblem(plain, 2, 17, 33, true, 62);
    Status e = ALL_ATTENTION_FUNCTIONS["eager"](p.referenceCall());
    ASSERT_TRUE(e) << e.message();
    Status s = ALL_ATTENTION_FUNCTIONS["sdpa"](p.kernelCall());
    ASSERT_TRUE(s) << s.message();
    EXPECT_TRUE(matchesReference(p, tolerance(dt))) << dtypeName(dt);
  }
}

TEST(Registry, SdpaReportsTheCompilersError) {
  // A head dim of 0 is no spec: sdpa's error says why, not only that it failed.
  registerSdpa();
  float dummy = 0;
  AttentionCall call;
  for (TensorView *t : {&call.q, &call.k, &call.v, &call.out})
    *t = TensorView{&dummy, DType::F32, {1, 1, 2, 0}, {0, 0, 0, 1}, Device::Cpu};
  call.lse = TensorView{&dummy, DType::F32, {1, 1, 2}, {0, 0, 1}, Device::Cpu};
  Status s = ALL_ATTENTION_FUNCTIONS["sdpa"](call);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("sdpa: compiling sdpa_h1_kv1_d0_dv0_f32 failed: "),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("error: "), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("head_dim"), std::string::npos) << s.message();
}

TEST(Compiler, CollectsDiagnosticsForTheCaller) {
  Compiler compiler(Compiler::DiagnosticMode::Collect);
  EXPECT_FALSE(compiler.compileText("bad.json", R"({"name": "b", "heads": {"q": 1}, "head_dim": 8,
 "mask_mod": "q_idx + 1.5"})"));
  std::string diagnostics = compiler.takeDiagnostics();
  EXPECT_NE(diagnostics.find("bad.json:2:15: error: in mask_mod: mask_mod must be a bool expression, got float"), std::string::npos) << diagnostics;
  EXPECT_EQ(compiler.takeDiagnostics(), "");
  EXPECT_TRUE(compiler.compileText("good.json", R"({"name": "g", "heads": {"q": 1}, "head_dim": 8})"));
  EXPECT_EQ(compiler.takeDiagnostics(), "");
}

TEST(Concurrency, SameKernelFromTwoThreads) {
  for (const char *spec : {"bf16_gqa_bias", "f32_window_docs"}) {
    SCOPED_TRACE(spec);
    std::shared_ptr<CompiledVariant> v = compile(spec);
    ASSERT_TRUE(v);
    Problem a = makeProblem(v->desc, 2, 65, 130, true, 70);
    Problem b = makeProblem(v->desc, 3, 17, 33, false, 71);
    ASSERT_TRUE(v->reference(a.referenceCall()));
    ASSERT_TRUE(v->reference(b.referenceCall()));
    std::vector<std::string> failures[2];
    auto worker = [&](Problem &p, std::vector<std::string> &fails) {
      for (int r = 0; r < 8; ++r) {
        p.repoison();
        Status s = v->run(p.kernelCall());
        if (!s) {
          fails.push_back(s.message());
          continue;
        }
        ::testing::AssertionResult m = matchesReference(p, tolerance(v->desc.dtype));
        if (!m)
          fails.push_back(m.message());
      }
    };
    std::thread t1(worker, std::ref(a), std::ref(failures[0]));
    std::thread t2(worker, std::ref(b), std::ref(failures[1]));
    t1.join();
    t2.join();
    for (int t = 0; t < 2; ++t)
      EXPECT_TRUE(failures[t].empty()) << "thread " << t << ": " << failures[t].front();
  }
}

TEST(Concurrency, ResultsDoNotDependOnThePool) {
  CPU_RUNTIME_ONLY();
  std::shared_ptr<CompiledVariant> v = compile("f16_mqa_softcap");
  ASSERT_TRUE(v);
  Problem p = makeProblem(v->desc, 2, 130, 65, true, 72);
  ASSERT_TRUE(v->reference(p.referenceCall()));
  std::vector<double> first;
  for (unsigned threads : {1u, 3u, 8u}) {
    ThreadPool pool(threads);
    p.repoison();
    Status s = v->cpuKernel->run(p.kernelCall(), pool);
    ASSERT_TRUE(s) << s.message();
    EXPECT_TRUE(matchesReference(p, 1e-2)) << threads << " threads";
    std::vector<double> got;
    forEachIndex(p.outS.view.shape,
                 [&](const int64_t *i) { got.push_back(p.outS.view.get(i)); });
    forEachIndex(p.lseS.view.shape,
                 [&](const int64_t *i) { got.push_back(p.lseS.view.get(i)); });
    if (first.empty())
      first = got;
    else
      EXPECT_EQ(got, first) << "results differ with " << threads << " threads";
  }
}

TEST(Workspace, ReuseAcrossShapesAndLayouts) {
  // Packed buffers are kept between calls; a smaller call after a bigger one must not
  // see the bigger call's leftovers (padding, tails of tiles).
  const int64_t shapes[][3] = {{2, 130, 130}, {1, 3, 70}, {3, 65, 1},
                               {2, 130, 130}, {1, 64, 64}, {1, 65, 65}, {1, 1, 129}};
  for (const char *spec : {"f32_window_docs", "bf16_gqa_bias", "f32_wide_dims"}) {
    SCOPED_TRACE(spec);
    std::shared_ptr<CompiledVariant> v = compile(spec);
    ASSERT_TRUE(v);
    uint64_t seed = 100;
    for (const auto &s : shapes) {
      for (bool strided : {false, true}) {
        Problem p = makeProblem(v->desc, s[0], s[1], s[2], strided, ++seed);
        EXPECT_TRUE(runAndCompare(*v, p))
            << "B " << s[0] << " Q " << s[1] << " KV " << s[2] << (strided ? " strided" : "");
      }
    }
  }
}

// Regression: a compiled kernel (or "eager") called from inside a
// ThreadPool::global().parallelFor callback used to deadlock; nested parallelFor now
// runs inline. A death test, so that a hang is a failure (SIGALRM), not a stuck
// test binary.
TEST(ConcurrencyDeathTest, KernelCalledFromInsideTheGlobalPool) {
  CPU_RUNTIME_ONLY();
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        alarm(10);
        std::shared_ptr<CompiledVariant> v = compile("f32_gqa_causal");
        std::vector<Problem> problems;
        for (int i = 0; i < 4; ++i)
          problems.push_back(makeProblem(v->desc, 1, 17, 33, false, 110 + uint64_t(i)));
        std::atomic<int> ok{0};
        ThreadPool::global().parallelFor(4, [&](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i)
            if (v->run(problems[size_t(i)].kernelCall()))
              ++ok;
        });
        std::_Exit(ok.load() == 4 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

class TileSizes : public ::testing::TestWithParam<std::pair<int64_t, int64_t>> {};

TEST_P(TileSizes, SameResultAsDefaultTiles) {
  KernelTileOptions options;
  options.blockQ = GetParam().first;
  options.blockKV = GetParam().second;
  for (const char *spec : {"f32_gqa_causal", "bf16_gqa_bias", "f32_window_docs"}) {
    SCOPED_TRACE(spec);
    std::shared_ptr<CompiledVariant> tiled = compile(spec, options);
    std::shared_ptr<CompiledVariant> base = compile(spec);
    ASSERT_TRUE(tiled);
    ASSERT_TRUE(base);
    if (tiled->cpuKernel) {
      EXPECT_EQ(tiled->cpuKernel->layout().blockQ, options.blockQ);
      EXPECT_EQ(tiled->cpuKernel->layout().blockKV, options.blockKV);
    }
    for (auto [B, Q, KV] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1},
                            {2, 17, 33},
                            {1, 65, 130},
                            {2, 130, 17}}) {
      SCOPED_TRACE("B " + std::to_string(B) + " Q " + std::to_string(Q) + " KV " +
                   std::to_string(KV));
      Problem p = makeProblem(tiled->desc, B, Q, KV, true, 80 + uint64_t(Q));
      EXPECT_TRUE(runAndCompare(*tiled, p));
      // The default tiles on the same inputs agree with the reference too, and so
      // (within the tolerance) with each other.
      Problem d = makeProblem(base->desc, B, Q, KV, true, 80 + uint64_t(Q));
      EXPECT_TRUE(runAndCompare(*base, d));
      double maxDiff = 0, maxAbs = 0;
      forEachIndex(p.outS.view.shape, [&](const int64_t *i) {
        maxDiff = std::max(maxDiff, std::fabs(p.outS.view.get(i) - d.outS.view.get(i)));
        maxAbs = std::max(maxAbs, std::fabs(d.outS.view.get(i)));
      });
      EXPECT_LE(maxDiff, 2 * tolerance(tiled->desc.dtype) * std::max(maxAbs, 1e-30));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Options, TileSizes,
                         ::testing::Values(std::make_pair(int64_t(32), int64_t(16)),
                                           std::make_pair(int64_t(8), int64_t(32))),
                         [](const auto &info) {
                           return "q" + std::to_string(info.param.first) + "_kv" +
                                  std::to_string(info.param.second);
                         });

} // namespace

#ifdef ATTNC_TEST_CUDA
/// Without a CUDA device nothing runs: the reason is printed and the exit status
/// is 77, which ctest reports as skipped.
int main(int argc, char **argv) {
  ::testing::InitGoogleTest(&argc, argv);
  Result<cuda::CudaDevice> device = cuda::firstDevice();
  if (!device) {
    std::printf("skipped: %s\n", device.status().message().c_str());
    return 77;
  }
  std::printf("running on %s (%s)\n", device->name.c_str(), device->chip().c_str());
  return RUN_ALL_TESTS();
}
#endif
