//===- ReferenceBackward.cpp - the float64 reference backward -------------===//
//
// For each (batch, query head, query row): recompute the row's modified scores
// s'_j (with d s'_j / d s_j and the buffer derivatives), its probabilities P_j and
// output o, then with delta = dout · o:
//   dV_j += P_j dout            dP_j = dout · v_j        dS'_j = P_j (dP_j - delta)
//   dS_j  = dS'_j · ds'_j/ds_j  dQ  += scale dS_j k_j    dK_j += scale dS_j q
//   dX    += dS'_j · ds'_j/dX   for each requires_grad buffer element X read.
// Sequential and in a fixed order, so it is deterministic; meant for checking.
//
//===----------------------------------------------------------------------===//
#include "runtime/ReferenceBackward.h"

#include <cmath>
#include <limits>

namespace attnc {
namespace {

/// Row `row` of a [B, H, L, D] view as doubles.
std::vector<double> row(const TensorView &t, int64_t b, int64_t h, int64_t r, int64_t n) {
  std::vector<double> out(static_cast<size_t>(n));
  int64_t index[4] = {b, h, r, 0};
  for (int64_t d = 0; d < n; ++d) {
    index[3] = d;
    out[size_t(d)] = t.get(index);
  }
  return out;
}

double dot(const std::vector<double> &x, const std::vector<double> &y) {
  double s = 0;
  for (size_t d = 0; d < x.size(); ++d)
    s += x[d] * y[d];
  return s;
}

/// A float64 accumulator shaped like a view, written out at the end.
struct Accumulator {
  explicit Accumulator(const TensorView &t) : view(t), data(size_t(t.numel()), 0.0) {}
  double &at(const std::vector<int64_t> &index) {
    int64_t flat = 0;
    for (size_t d = 0; d < index.size(); ++d)
      flat = flat * view.shape[d] + index[d];
    return data[size_t(flat)];
  }
  void store() const {
    std::vector<int64_t> index(view.shape.size(), 0);
    size_t flat = 0;
    if (view.numel() > 0)
      do
        view.set(index.data(), data[flat++]);
      while (nextIndex(index, view.shape));
  }
  const TensorView &view;
  std::vector<double> data;
};

} // namespace

Status referenceBackward(const VariantDesc &variant, const BackwardCall &call,
                         const BackwardModFunctions &mods) {
  const AttentionCall &fwd = call.forward;
  const int64_t B = fwd.batch(), H = variant.headsQ, Q = fwd.qLen(), KV = fwd.kvLen(),
                D = variant.headDim, DV = variant.headDimV;
  const int64_t group = variant.headsQ / variant.headsKV;
  for (auto [name, t, want] :
       {std::tuple{"dout", &call.dout, std::vector<int64_t>{B, H, Q, DV}},
        std::tuple{"dq", &call.dq, fwd.q.shape}, std::tuple{"dk", &call.dk, fwd.k.shape},
        std::tuple{"dv", &call.dv, fwd.v.shape}})
    if (t->shape != want)
      return Status::error(std::string("tensor '") + name + "' has shape " +
                           t->shapeString() + ", expected that of " +
                           (std::string(name) == "dout" ? "out" : std::string(name).substr(1)));
  Accumulator dq(call.dq), dk(call.dk), dv(call.dv);
  std::map<std::string, Accumulator> dbuf;
  for (const auto &[name, view] : call.dbuffers)
    dbuf.emplace(name, Accumulator(view));
  const double ninf = -std::numeric_limits<double>::infinity();
  std::string error;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      int64_t g = h / group;
      for (int64_t i = 0; i < Q; ++i) {
        std::vector<double> q = row(fwd.q, b, h, i, D), dout = row(call.dout, b, h, i, DV);
        std::vector<ScoreModGradient> rowMods(static_cast<size_t>(KV));
        std::vector<bool> kept(size_t(KV), false);
        double rowMax = ninf;
        for (int64_t j = 0; j < KV; ++j) {
          std::optional<bool> keep =
              mods.maskMod ? mods.maskMod(b, h, i, j, error) : std::optional<bool>(true);
          if (!keep)
            return Status::error(error);
          if (!*keep)
            continue;
          double s = variant.scale * dot(q, row(fwd.k, b, g, j, D));
          ScoreModGradient m;
          m.value = s;
          if (mods.scoreMod) {
            std::optional<ScoreModGradient> got = mods.scoreMod(s, b, h, i, j, error);
            if (!got)
              return Status::error(error);
            m = std::move(*got);
          }
          kept[size_t(j)] = true;
          rowMax = std::isnan(m.value) || std::isnan(rowMax) ? NAN : std::max(rowMax, m.value);
          rowMods[size_t(j)] = std::move(m);
        }
        if (rowMax == ninf)
          continue; // nothing kept (or every kept score -inf): no gradient
        double sum = 0;
        std::vector<double> p(size_t(KV), 0.0), out(size_t(DV), 0.0);
        for (int64_t j = 0; j < KV; ++j)
          if (kept[size_t(j)])
            sum += p[size_t(j)] = std::exp(rowMods[size_t(j)].value - rowMax);
        for (int64_t j = 0; j < KV; ++j) {
          if (!kept[size_t(j)])
            continue;
          p[size_t(j)] /= sum;
          std::vector<double> v = row(fwd.v, b, g, j, DV);
          for (int64_t d = 0; d < DV; ++d)
            out[size_t(d)] += p[size_t(j)] * v[size_t(d)];
        }
        double delta = dot(dout, out);
        for (int64_t j = 0; j < KV; ++j) {
          double pj = p[size_t(j)];
          if (!kept[size_t(j)] || pj == 0)
            continue;
          std::vector<double> k = row(fwd.k, b, g, j, D), v = row(fwd.v, b, g, j, DV);
          double dsMod = pj * (dot(dout, v) - delta);
          double ds = dsMod * rowMods[size_t(j)].dScore;
          for (int64_t d = 0; d < DV; ++d)
            dv.at({b, g, j, d}) += pj * dout[size_t(d)];
          for (int64_t d = 0; d < D; ++d) {
            dq.at({b, h, i, d}) += variant.scale * ds * k[size_t(d)];
            dk.at({b, g, j, d}) += variant.scale * ds * q[size_t(d)];
          }
          for (const auto &[element, derivative] : rowMods[size_t(j)].dBuffers) {
            auto it = dbuf.find(element.first);
            if (it == dbuf.end())
              return Status::error("no gradient tensor for buffer '" + element.first + "'");
            it->second.at(element.second) += dsMod * derivative;
          }
        }
      }
    }
  dq.store();
  dk.store();
  dv.store();
  for (const auto &[name, acc] : dbuf)
    acc.store();
  return Status::ok();
}

} // namespace attnc
