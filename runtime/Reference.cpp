//===- Reference.cpp - the float64 reference implementation ----------------===//
#include "runtime/Reference.h"

#include "runtime/ThreadPool.h"

#include <cmath>
#include <mutex>
#include <limits>
#include <vector>

namespace attnc {

/// Copies row `row` of a [B, H, L, D] view, as doubles.
static void rowAsDoubles(const TensorView &t, int64_t b, int64_t h, int64_t row,
                         int64_t n, double *dst) {
  int64_t index[4] = {b, h, row, 0};
  for (int64_t d = 0; d < n; ++d) {
    index[3] = d;
    dst[d] = t.get(index);
  }
}

Status referenceAttention(const VariantDesc &variant, const AttentionCall &call,
                          const ModFunctions &mods) {
  if (Status s = validateCall(variant, call); !s)
    return s;
  const int64_t B = call.batch(), H = variant.headsQ, Q = call.qLen(),
                KV = call.kvLen(), D = variant.headDim, DV = variant.headDimV;
  const int64_t group = variant.headsQ / variant.headsKV;
  const double ninf = -std::numeric_limits<double>::infinity();
  std::mutex errorMutex;
  std::string firstError;

  // One (batch, head) per task: K and V of its key/value head as doubles, then
  // every query row with its whole score row materialised.
  ThreadPool::global().parallelFor(B * H, [&](int64_t begin, int64_t end) {
    std::vector<double> k(static_cast<size_t>(KV * D)), v(static_cast<size_t>(KV * DV)),
        q(static_cast<size_t>(D));
    std::vector<double> scores(static_cast<size_t>(KV)), acc(static_cast<size_t>(DV));
    std::string error;
    for (int64_t bh = begin; bh < end; ++bh) {
      int64_t b = bh / H, h = bh % H, g = h / group;
      for (int64_t j = 0; j < KV; ++j) {
        rowAsDoubles(call.k, b, g, j, D, &k[size_t(j * D)]);
        rowAsDoubles(call.v, b, g, j, DV, &v[size_t(j * DV)]);
      }
      for (int64_t i = 0; i < Q; ++i) {
        rowAsDoubles(call.q, b, h, i, D, q.data());
        double rowMax = ninf;
        bool nanRow = false; // a kept score of NaN or +inf: out and lse are NaN
        for (int64_t j = 0; j < KV; ++j) {
          std::optional<bool> keep =
              mods.maskMod ? mods.maskMod(b, h, i, j, error) : std::optional<bool>(true);
          if (!keep) {
            std::lock_guard<std::mutex> lock(errorMutex);
            if (firstError.empty())
              firstError = error;
            return;
          }
          if (!*keep) {
            scores[size_t(j)] = ninf;
            continue;
          }
          double dot = 0;
          const double *kj = &k[size_t(j * D)];
          for (int64_t d = 0; d < D; ++d)
            dot += q[size_t(d)] * kj[d];
          double s = variant.scale * dot;
          if (mods.scoreMod) {
            std::optional<double> m = mods.scoreMod(s, b, h, i, j, error);
            if (!m) {
              std::lock_guard<std::mutex> lock(errorMutex);
              if (firstError.empty())
                firstError = error;
              return;
            }
            s = *m;
          }
          scores[size_t(j)] = s;
          nanRow |= std::isnan(s) || s == -ninf;
          if (s > rowMax)
            rowMax = s;
        }
        std::fill(acc.begin(), acc.end(), 0.0);
        double sum = 0;
        if (rowMax != ninf && !std::isnan(rowMax)) {
          for (int64_t j = 0; j < KV; ++j) {
            if (scores[size_t(j)] == ninf)
              continue;
            double p = std::exp(scores[size_t(j)] - rowMax);
            sum += p;
            const double *vj = &v[size_t(j * DV)];
            for (int64_t d = 0; d < DV; ++d)
              acc[size_t(d)] += p * vj[d];
          }
        }
        bool empty = sum == 0;
        const double nan = std::numeric_limits<double>::quiet_NaN();
        for (int64_t d = 0; d < DV; ++d) {
          int64_t oi[4] = {b, h, i, d};
          call.out.set(oi, nanRow ? nan : empty ? 0.0 : acc[size_t(d)] / sum);
        }
        int64_t li[3] = {b, h, i};
        call.lse.set(li, nanRow ? nan : empty ? ninf : rowMax + std::log(sum));
      }
    }
  });
  if (!firstError.empty())
    return Status::error(firstError);
  return Status::ok();
}

Status eagerAttention(const AttentionCall &call) {
  if (call.q.shape.size() != 4 || call.k.shape.size() != 4 || call.v.shape.size() != 4)
    return Status::error("eager: q, k and v must have 4 dimensions");
  VariantDesc plain;
  plain.name = "eager";
  plain.headsQ = call.q.shape[1];
  plain.headsKV = call.k.shape[1];
  if (plain.headsKV < 1 || plain.headsQ % plain.headsKV != 0)
    return Status::error("eager: the head count of q (" +
                         std::to_string(plain.headsQ) +
                         ") must be a multiple of that of k (" +
                         std::to_string(plain.headsKV) + ")");
  plain.headDim = call.q.shape[3];
  plain.headDimV = call.v.shape[3];
  plain.dtype = call.q.dtype;
  plain.scale = 1.0 / std::sqrt(double(plain.headDim));
  return referenceAttention(plain, call, ModFunctions());
}

} // namespace attnc
