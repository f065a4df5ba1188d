//===- CpuBackwardKernel.cpp - launching a compiled CPU backward kernel -----===//
#include "runtime/cpu/CpuBackwardKernel.h"
#include "runtime/cpu/PackedRows.h"

#include <algorithm>
#include <cstring>

namespace attnc {
namespace {

constexpr int64_t kVectorWidth = 16; ///< the kernels' vector width (f32 lanes)
/// The most memory the buffer gradients' partials may take (bytes).
constexpr int64_t kGradPartialBudget = int64_t(256) << 20;

int64_t roundUp(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

/// The sizes of one backward call and of its packed panels.
struct BackwardShape {
  int64_t B, Q, KV, H, HKV, D, DV, BQ, BK, Dp, DVp;
  int64_t qPad, numKVTiles, kvPad, splits;

  BackwardShape(const VariantDesc &variant, const CpuKernelLayout &layout,
                const AttentionCall &call, unsigned threads) {
    B = call.batch(), Q = call.qLen(), KV = call.kvLen();
    H = variant.headsQ, HKV = variant.headsKV, D = variant.headDim, DV = variant.headDimV;
    BQ = layout.blockQ, BK = layout.blockKV;
    Dp = roundUp(D, kVectorWidth), DVp = layout.headDimVPadded;
    qPad = roundUp(Q, BQ);
    numKVTiles = (KV + BK - 1) / BK;
    kvPad = numKVTiles * BK;
    // Enough work items for every thread twice over; each split adds a partial dQ.
    int64_t wanted = (2 * int64_t(threads) + B * HKV - 1) / (B * HKV);
    splits = std::clamp<int64_t>(wanted, 1, numKVTiles);
  }
  int64_t workItems() const { return B * HKV * splits; }
};

/// A memref descriptor {allocated, aligned, offset, sizes..., strides...}.
std::vector<int64_t> flatDescriptor(const float *data, int64_t size) {
  int64_t p = int64_t(reinterpret_cast<intptr_t>(data));
  return {p, p, 0, size, 1};
}

/// dq = the sum of the splits' partials ([B][H][splits][Q_pad][D_pad]), in split
/// order.
void reduceQueryGrad(const float *partials, const BackwardShape &s, const TensorView &dq,
                     ThreadPool &pool) {
  pool.parallelFor(s.B * s.H, [&](int64_t begin, int64_t end) {
    std::vector<float> row(static_cast<size_t>(s.Dp));
    for (int64_t bh = begin; bh < end; ++bh) {
      int64_t b = bh / s.H, h = bh % s.H;
      for (int64_t i = 0; i < s.Q; ++i) {
        std::fill(row.begin(), row.end(), 0.0f);
        for (int64_t c = 0; c < s.splits; ++c) {
          const float *p = partials + ((bh * s.splits + c) * s.qPad + i) * s.Dp;
          for (int64_t d = 0; d < s.D; ++d)
            row[size_t(d)] += p[d];
        }
        writeRow(dq, rowOffset(dq, b, h, i), dq.strides[3], s.D, row.data());
      }
    }
  });
}

/// The lse of the forward, [B][H][Q_pad] (0 beyond Q_LEN: those rows count nowhere).
void packLse(const TensorView &lse, const BackwardShape &s, float *dst) {
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t h = 0; h < s.H; ++h)
      for (int64_t i = 0; i < s.qPad; ++i)
        dst[(b * s.H + h) * s.qPad + i] =
            i < s.Q ? static_cast<const float *>(lse.data)[rowOffset(lse, b, h, i)] : 0.0f;
}

/// delta = rowsum(dout ∘ out) of each query row, [B][H][Q_pad] (0 beyond Q_LEN), in
/// float64 and rounded once: FlashAttention-2's preprocessing step. Done here, once
/// a call, rather than in the kernel for every pair of tiles, which streamed the
/// whole out panel again for each key tile.
void packDelta(const TensorView &dout, const TensorView &out, const BackwardShape &s,
               float *dst, ThreadPool &pool) {
  pool.parallelFor(s.B * s.H, [&](int64_t begin, int64_t end) {
    std::vector<float> dRow(static_cast<size_t>(s.DV)), oRow(static_cast<size_t>(s.DV));
    for (int64_t bh = begin; bh < end; ++bh) {
      int64_t b = bh / s.H, h = bh % s.H;
      float *row = dst + bh * s.qPad;
      for (int64_t i = 0; i < s.Q; ++i) {
        readRow(dout, rowOffset(dout, b, h, i), dout.strides[3], s.DV, dRow.data());
        readRow(out, rowOffset(out, b, h, i), out.strides[3], s.DV, oRow.data());
        double sum = 0;
        for (int64_t d = 0; d < s.DV; ++d)
          sum += double(dRow[size_t(d)]) * double(oRow[size_t(d)]);
        row[i] = float(sum);
      }
      std::fill(row + s.Q, row + s.qPad, 0.0f);
    }
  });
}

/// The gradient partials of the requires_grad buffers: `slots` copies of each,
/// contiguous and zeroed.
struct GradPartials {
  std::vector<const BufferDecl *> decls;
  std::vector<std::vector<int64_t>> shapes;
  std::vector<int64_t> sizes;
  std::vector<AlignedF32> storage;
  int64_t slots = 1;

  /// One slot per work item, fewer when their copies would exceed the budget.
  Status prepare(const VariantDesc &variant, const AttentionCall &fwd, int64_t items) {
    int64_t floats = 0;
    for (const BufferDecl &decl : variant.buffers)
      if (decl.requiresGrad) {
        const TensorView &buf = fwd.buffers.at(decl.name);
        decls.push_back(&decl);
        shapes.push_back(buf.shape);
        sizes.push_back(buf.numel());
        floats += buf.numel();
      }
    slots = decls.empty() ? items
                          : std::clamp<int64_t>(
                                kGradPartialBudget / (4 * std::max<int64_t>(1, floats)), 1, items);
    storage = std::vector<AlignedF32>(decls.size());
    for (size_t i = 0; i < decls.size(); ++i) {
      if (!storage[i].reserve(size_t(slots * sizes[i])))
        return Status::error("cannot allocate the partial gradients of buffer '" +
                             decls[i]->name + "'");
      std::memset(storage[i].data, 0, storage[i].size * sizeof(float));
    }
    return Status::ok();
  }

  /// Descriptors of slot `slot`'s partials (compact row-major views).
  std::vector<std::vector<int64_t>> descriptors(int64_t slot) const {
    std::vector<std::vector<int64_t>> out;
    for (size_t i = 0; i < decls.size(); ++i) {
      TensorView view;
      view.data = storage[i].data + slot * sizes[i];
      view.dtype = DType::F32;
      view.shape = shapes[i];
      view.strides = contiguousStrides(view.shape);
      out.push_back(memrefDescriptor(view));
    }
    return out;
  }

  /// Each gradient = the sum of its slots' partials (in float64, in slot order).
  void writeBack(const BackwardCall &call) const {
    for (size_t i = 0; i < decls.size(); ++i) {
      const TensorView &out = call.dbuffers.at(decls[i]->name);
      std::vector<int64_t> index(out.shape.size(), 0);
      for (int64_t e = 0; e < sizes[i]; ++e) {
        double sum = 0;
        for (int64_t slot = 0; slot < slots; ++slot)
          sum += storage[i].data[slot * sizes[i] + e];
        int64_t offset = 0;
        for (size_t d = 0; d < index.size(); ++d)
          offset += index[d] * out.strides[d];
        static_cast<float *>(out.data)[offset] = float(sum);
        nextIndex(index, out.shape);
      }
    }
  }
};

} // namespace

/// The packed panels of one backward call (docs/cpu-target.md, "The backward kernel").
struct CpuBackwardKernel::Panels {
  AlignedF32 q, kTiles, kRows, vTiles, dout, delta, lse, dq, dk, dv;

  Status reserve(const BackwardShape &s) {
    bool ok = q.reserve(size_t(s.B * s.H * s.qPad * s.Dp)) &&
              kTiles.reserve(size_t(s.B * s.HKV * s.numKVTiles * s.D * s.BK)) &&
              kRows.reserve(size_t(s.B * s.HKV * s.kvPad * s.Dp)) &&
              vTiles.reserve(size_t(s.B * s.HKV * s.numKVTiles * s.DV * s.BK)) &&
              dout.reserve(size_t(s.B * s.H * s.qPad * s.DVp)) &&
              delta.reserve(size_t(s.B * s.H * s.qPad)) &&
              lse.reserve(size_t(s.B * s.H * s.qPad)) &&
              dq.reserve(size_t(s.B * s.H * s.splits * s.qPad * s.Dp)) &&
              dk.reserve(size_t(s.B * s.HKV * s.kvPad * s.Dp)) &&
              dv.reserve(size_t(s.B * s.HKV * s.kvPad * s.DVp));
    return ok ? Status::ok()
              : Status::error("cannot allocate the backward kernel's packed tensors");
  }

  void pack(const BackwardCall &call, const BackwardShape &s, ThreadPool &pool) {
    const AttentionCall &fwd = call.forward;
    runPackJobs(pool, int64_t(q.size + kTiles.size + kRows.size + vTiles.size + dout.size +
                              s.B * s.H * s.Q * s.DV + dq.size),
                {[&] { packRows(fwd.q, s.qPad, s.Dp, q.data, pool); },
                 [&] { packTiles(fwd.k, s.numKVTiles, s.BK, kTiles.data, pool); },
                 [&] { packRows(fwd.k, s.kvPad, s.Dp, kRows.data, pool); },
                 [&] { packTiles(fwd.v, s.numKVTiles, s.BK, vTiles.data, pool); },
                 [&] { packRows(call.dout, s.qPad, s.DVp, dout.data, pool); },
                 [&] { packDelta(call.dout, fwd.out, s, delta.data, pool); },
                 [&] { packLse(fwd.lse, s, lse.data); },
                 [&] { std::memset(dq.data, 0, dq.size * sizeof(float)); }});
  }

  /// The ten panel arguments, in the kernel's order.
  std::vector<std::vector<int64_t>> descriptors() const {
    std::vector<std::vector<int64_t>> out;
    for (const AlignedF32 *p :
         {&q, &kTiles, &kRows, &vTiles, &dout, &delta, &lse, &dq, &dk, &dv})
      out.push_back(flatDescriptor(p->data, int64_t(p->size)));
    return out;
  }

  void unpack(const BackwardCall &call, const BackwardShape &s, ThreadPool &pool) const {
    runPackJobs(pool, int64_t(dq.size + dk.size + dv.size),
                {[&] { reduceQueryGrad(dq.data, s, call.dq, pool); },
                 [&] { unpackRows(dk.data, s.kvPad, s.Dp, call.dk, pool); },
                 [&] { unpackRows(dv.data, s.kvPad, s.DVp, call.dv, pool); }});
  }
};

CpuBackwardKernel::CpuBackwardKernel(VariantDesc variant, CpuKernelLayout layout,
                                     CpuKernelEntry entry, std::shared_ptr<const void> owner)
    : variant_(std::move(variant)), layout_(layout), entry_(entry), owner_(std::move(owner)) {}

CpuBackwardKernel::~CpuBackwardKernel() = default;

int64_t CpuBackwardKernel::runWorkItems(const BackwardCall &call, int64_t qLen, int64_t kvLen,
                                        int64_t splits, int64_t items,
                                        std::vector<std::vector<int64_t>> descs,
                                        const void *gradPartials, ThreadPool &pool) const {
  const GradPartials &grads = *static_cast<const GradPartials *>(gradPartials);
  const AttentionCall &fwd = call.forward;
  for (const BufferDecl &decl : variant_.buffers)
    descs.push_back(memrefDescriptor(fwd.buffers.at(decl.name)));
  std::vector<ScalarValue> values = scalarValues(variant_, fwd);
  int64_t statusWords[4] = {0, 0, 0, 0};
  std::vector<int64_t> statusDesc = flatDescriptor(nullptr, 4);
  statusDesc[0] = statusDesc[1] = int64_t(reinterpret_cast<intptr_t>(statusWords));
  // Each slot is a fixed range of work items with its own buffer-gradient partials.
  pool.parallelFor(grads.slots, [&](int64_t firstSlot, int64_t lastSlot) {
    ScalarSlots scalars(values);
    for (int64_t slot = firstSlot; slot < lastSlot; ++slot) {
      std::vector<std::vector<int64_t>> gradDescs = grads.descriptors(slot);
      std::vector<void *> descPtrs;
      for (auto *list : {&descs, &gradDescs})
        for (auto &d : *list)
          descPtrs.push_back(const_cast<int64_t *>(d.data()));
      void *statusPtr = statusDesc.data();
      int64_t begin = slot * items / grads.slots, end = (slot + 1) * items / grads.slots;
      std::vector<void *> args;
      for (size_t i = 0; i < 10; ++i)
        args.push_back(&descPtrs[i]);
      for (size_t i = 0; i < scalars.size(); ++i)
        args.push_back(scalars.at(i));
      for (size_t i = 10; i < descPtrs.size(); ++i)
        args.push_back(&descPtrs[i]);
      args.push_back(&statusPtr);
      for (int64_t *v : {&qLen, &kvLen, &splits, &begin, &end})
        args.push_back(v);
      entry_(args.data());
    }
  });
  return statusWords[0];
}

Status CpuBackwardKernel::run(const BackwardCall &call, ThreadPool &pool) const {
  if (Status s = validateBackwardCall(variant_, call); !s)
    return s;
  BackwardShape s(variant_, layout_, call.forward, pool.size());
  auto lease = workspaces_.lease();
  Panels &panels = *lease;
  if (Status st = panels.reserve(s); !st)
    return st;
  panels.pack(call, s, pool);
  GradPartials grads;
  if (Status st = grads.prepare(variant_, call.forward, s.workItems()); !st)
    return st;
  int64_t status = runWorkItems(call, s.Q, s.KV, s.splits, s.workItems(),
                                panels.descriptors(), &grads, pool);
  if (Status st = kernelStatus(variant_, call.forward, status); !st)
    return st;
  panels.unpack(call, s, pool);
  grads.writeBack(call);
  return Status::ok();
}

} // namespace attnc
