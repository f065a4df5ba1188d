//===- CpuKernel.cpp - launching a compiled CPU attention kernel -----------===//
#include "runtime/cpu/CpuKernel.h"
#include "runtime/cpu/PackedRows.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>

namespace attnc {
/// The packed inputs and outputs of one call; reused by later calls.
struct CpuKernel::Workspace {
  AlignedF32 qp, kp, vp, op, lp;
};

namespace {

/// A memref descriptor of any rank: {allocated, aligned, offset, sizes[], strides[]}.
struct Descriptor {
  std::vector<int64_t> words;
  void *ptr() { return words.data(); }
};

Descriptor flatDescriptor(void *data, int64_t size) {
  Descriptor d;
  int64_t p = int64_t(reinterpret_cast<intptr_t>(data));
  d.words = {p, p, 0, size, 1};
  return d;
}

Descriptor viewDescriptor(const TensorView &view) {
  Descriptor d;
  int64_t p = int64_t(reinterpret_cast<intptr_t>(view.data));
  d.words = {p, p, 0};
  for (int64_t s : view.shape)
    d.words.push_back(s);
  for (int64_t s : view.strides)
    d.words.push_back(s);
  return d;
}

/// The sizes of one call and of its packed panels: the call's lengths, the variant's
/// heads and head dims, the kernel's tiles, and the padded lengths the tiles give.
struct PackedShape {
  int64_t B, Q, KV, H, HKV, D, DV; ///< the call and the variant
  int64_t BQ, BK, DVp;             ///< the kernel's tiles, head_dim_v padded
  bool pairs;                      ///< bf16 panels of pairs for q, k, v
  int64_t Dq;                      ///< the head dim of the q and k panels
  int64_t numQTiles, qPad, numKVTiles, kvPad;

  static PackedShape of(const VariantDesc &variant, const CpuKernelLayout &layout,
                        const AttentionCall &call) {
    PackedShape s;
    s.B = call.batch();
    s.Q = call.qLen();
    s.KV = call.kvLen();
    s.H = variant.headsQ;
    s.HKV = variant.headsKV;
    s.D = variant.headDim;
    s.DV = variant.headDimV;
    s.BQ = layout.blockQ;
    s.BK = layout.blockKV;
    s.DVp = layout.headDimVPadded;
    s.pairs = layout.bf16Pairs;
    s.Dq = s.pairs ? (s.D + 1) / 2 * 2 : s.D;
    s.numQTiles = (s.Q + s.BQ - 1) / s.BQ;
    s.qPad = s.numQTiles * s.BQ;
    s.numKVTiles = (s.KV + s.BK - 1) / s.BK;
    s.kvPad = s.numKVTiles * s.BK;
    return s;
  }
};

/// ATTNC_PROFILE=1: prints the time since the previous phase on stderr.
class PhaseTimer {
public:
  void phase(const char *name) {
    static const bool enabled = std::getenv("ATTNC_PROFILE") != nullptr;
    if (!enabled)
      return;
    auto now = std::chrono::steady_clock::now();
    std::fprintf(stderr, "attnc: %-8s %9.3f ms\n", name,
                 std::chrono::duration<double, std::milli>(now - start_).count());
    start_ = now;
  }

private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

/// Writes the packed out ([B][H][Q_pad][DV_pad]) and lse ([B][H][Q_pad]) into the
/// caller's tensors, in their dtype and strides.
void unpack(const float *op, const float *lp, const PackedShape &s, const AttentionCall &call,
            ThreadPool &pool) {
  pool.parallelFor(s.B * s.H, [&](int64_t begin, int64_t end) {
    for (int64_t bh = begin; bh < end; ++bh) {
      int64_t b = bh / s.H, h = bh % s.H;
      for (int64_t i = 0; i < s.Q; ++i) {
        writeRow(call.out, rowOffset(call.out, b, h, i), call.out.strides[3], s.DV,
                 op + (bh * s.qPad + i) * s.DVp);
        float *lse = static_cast<float *>(call.lse.data);
        lse[rowOffset(call.lse, b, h, i)] = lp[bh * s.qPad + i];
      }
    }
  });
}

/// Sizes the workspace's panels for `s`; an error says how much could not be had.
Status reservePanels(AlignedF32 &qp, AlignedF32 &kp, AlignedF32 &vp, AlignedF32 &op,
                     AlignedF32 &lp, const PackedShape &s) {
  auto input = [&](AlignedF32 &panel, int64_t n) {
    return s.pairs ? panel.reserveHalves(size_t(n)) : panel.reserve(size_t(n));
  };
  bool allocated = input(qp, s.B * s.H * s.qPad * s.Dq) &&
                   input(kp, s.B * s.HKV * s.numKVTiles * s.Dq * s.BK) &&
                   input(vp, s.B * s.HKV * s.kvPad * s.DVp) &&
                   op.reserve(size_t(s.B * s.H * s.qPad * s.DVp)) &&
                   lp.reserve(size_t(s.B * s.H * s.qPad));
  if (allocated)
    return Status::ok();
  return Status::error("cannot allocate the kernel's packed inputs and outputs (" +
                       std::to_string((qp.size + kp.size + vp.size + op.size + lp.size) *
                                      sizeof(float)) +
                       " bytes)");
}

} // namespace


CpuKernel::CpuKernel(VariantDesc variant, CpuKernelLayout layout, CpuKernelEntry entry,
                     std::shared_ptr<const void> owner)
    : variant_(std::move(variant)), layout_(layout), entry_(entry),
      owner_(std::move(owner)) {}

CpuKernel::~CpuKernel() = default;

int64_t CpuKernel::callKernel(Workspace &ws, const AttentionCall &call, int64_t workItems,
                              ThreadPool &pool) const {
  // Arguments of the packed interface: pointers to each argument's storage; a
  // memref argument is passed as a pointer to its descriptor.
  int64_t statusWords[4] = {0, 0, 0, 0};
  std::vector<Descriptor> descriptors;
  // bf16 panels are passed with their size in bf16 elements.
  for (AlignedF32 *panel : {&ws.qp, &ws.kp, &ws.vp})
    descriptors.push_back(flatDescriptor(
        panel->data, int64_t(panel->size) * (layout_.bf16Pairs ? 2 : 1)));
  for (AlignedF32 *panel : {&ws.op, &ws.lp})
    descriptors.push_back(flatDescriptor(panel->data, int64_t(panel->size)));
  std::vector<ScalarValue> values = scalarValues(variant_, call);
  for (const BufferDecl &decl : variant_.buffers)
    descriptors.push_back(viewDescriptor(call.buffers.at(decl.name)));
  Descriptor statusDesc = flatDescriptor(nullptr, 4);
  int64_t statusAddress = int64_t(reinterpret_cast<intptr_t>(statusWords));
  statusDesc.words[0] = statusDesc.words[1] = statusAddress;
  int64_t qLen = call.qLen(), kvLen = call.kvLen();

  pool.parallelFor(workItems, [&](int64_t begin, int64_t end) {
    // Per-call copies: several threads run this at once.
    ScalarSlots scalars(values);
    std::vector<void *> descPtrs;
    for (Descriptor &d : descriptors)
      descPtrs.push_back(d.ptr());
    void *statusPtr = statusDesc.ptr();
    std::vector<void *> args;
    for (int i = 0; i < 5; ++i)
      args.push_back(&descPtrs[size_t(i)]);
    for (size_t i = 0; i < scalars.size(); ++i)
      args.push_back(scalars.at(i));
    for (size_t i = 5; i < descPtrs.size(); ++i)
      args.push_back(&descPtrs[i]);
    args.push_back(&statusPtr);
    args.push_back(&qLen);
    args.push_back(&kvLen);
    args.push_back(&begin);
    args.push_back(&end);
    entry_(args.data());
  });
  return statusWords[0];
}

Status CpuKernel::run(const AttentionCall &call, ThreadPool &pool) const {
  if (Status s = validateCall(variant_, call); !s)
    return s;
  PackedShape shape = PackedShape::of(variant_, layout_, call);
  auto lease = workspaces_.lease();
  Workspace &ws = *lease;
  if (Status s = reservePanels(ws.qp, ws.kp, ws.vp, ws.op, ws.lp, shape); !s)
    return s;
  PhaseTimer timer;
  // q as [B][H][Q_pad][D], k as transposed key tiles [B][H_KV][t][D][BK], v as
  // [B][H_KV][KV_pad][DV_pad]; zero beyond the tensors. Or, for bf16 pairs, q as
  // [B][H][Q_pad][D2], k as [B][H_KV][t][D2/2][BK][2], v as [B][H_KV][KV_pad/2][DV_pad][2].
  if (shape.pairs)
    runPackJobs(pool, int64_t(ws.qp.size + ws.kp.size + ws.vp.size),
                {[&] { packRowsBf16(call.q, shape.qPad, shape.Dq, ws.qp.halves(), pool); },
                 [&] { packPairTiles(call.k, shape.numKVTiles, shape.BK, ws.kp.halves(), pool); },
                 [&] { packPairRows(call.v, shape.kvPad, shape.DVp, ws.vp.halves(), pool); }});
  else
    runPackJobs(pool, int64_t(ws.qp.size + ws.kp.size + ws.vp.size),
                {[&] { packRows(call.q, shape.qPad, shape.D, ws.qp.data, pool); },
                 [&] { packTiles(call.k, shape.numKVTiles, shape.BK, ws.kp.data, pool); },
                 [&] { packRows(call.v, shape.kvPad, shape.DVp, ws.vp.data, pool); }});
  timer.phase("pack");
  int64_t status = callKernel(ws, call, shape.B * shape.H * shape.numQTiles, pool);
  timer.phase("kernel");
  if (Status s = kernelStatus(variant_, call, status); !s)
    return s;
  unpack(ws.op.data, ws.lp.data, shape, call, pool);
  timer.phase("unpack");
  return Status::ok();
}

} // namespace attnc
