//===- Reference.cpp - the float64 reference implementation ----------------===//
#include "runtime/Reference.h"

#include <cmath>
#include <limits>
#include <vector>

namespace attnc {

Status referenceAttention(const VariantDesc &variant, const AttentionCall &call,
                          const ModFunctions &mods) {
  if (Status s = validateCall(variant, call); !s)
    return s;
  const int64_t B = call.batch(), H = variant.headsQ, Q = call.qLen(),
                KV = call.kvLen(), D = variant.headDim, DV = variant.headDimV;
  const int64_t group = variant.headsQ / variant.headsKV;
  const double ninf = -std::numeric_limits<double>::infinity();
  std::vector<double> scores(size_t(KV), 0.0), acc(size_t(DV), 0.0);
  std::string error;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      int64_t g = h / group;
      for (int64_t i = 0; i < Q; ++i) {
        double rowMax = ninf;
        for (int64_t j = 0; j < KV; ++j) {
          std::optional<bool> keep =
              mods.maskMod ? mods.maskMod(b, h, i, j, error) : std::optional<bool>(true);
          if (!keep)
            return Status::error(error);
          if (!*keep) {
            scores[size_t(j)] = ninf;
            continue;
          }
          double dot = 0;
          for (int64_t d = 0; d < D; ++d) {
            int64_t qi[4] = {b, h, i, d}, ki[4] = {b, g, j, d};
            dot += call.q.get(qi) * call.k.get(ki);
          }
          double s = variant.scale * dot;
          if (mods.scoreMod) {
            std::optional<double> m = mods.scoreMod(s, b, h, i, j, error);
            if (!m)
              return Status::error(error);
            s = *m;
          }
          scores[size_t(j)] = s;
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
            for (int64_t d = 0; d < DV; ++d) {
              int64_t vi[4] = {b, g, j, d};
              acc[size_t(d)] += p * call.v.get(vi);
            }
          }
        }
        bool empty = sum == 0;
        for (int64_t d = 0; d < DV; ++d) {
          int64_t oi[4] = {b, h, i, d};
          call.out.set(oi, empty ? 0.0 : acc[size_t(d)] / sum);
        }
        int64_t li[3] = {b, h, i};
        call.lse.set(li, empty ? ninf : rowMax + std::log(sum));
      }
    }
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
