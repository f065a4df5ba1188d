//===- CpuKernel.cpp - launching a compiled CPU attention kernel -----------===//
#include "runtime/cpu/CpuKernel.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>

namespace attnc {
namespace {

} // namespace

/// 64-byte aligned f32 storage that grows on demand and is kept between calls.
/// Contents are not cleared: the packer writes every element the kernel reads,
/// padding included.
struct AlignedF32 {
  float *data = nullptr;
  size_t size = 0, capacity = 0;
  bool reserve(size_t n) {
    size = n;
    if (n <= capacity && data)
      return true;
    std::free(data);
    size_t bytes = ((n ? n : 1) * sizeof(float) + 63) / 64 * 64;
    data = static_cast<float *>(std::aligned_alloc(64, bytes));
    capacity = data ? n : 0;
    return data != nullptr;
  }
  ~AlignedF32() { std::free(data); }
};

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

Descriptor flatDescriptor(float *data, int64_t size) {
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

/// Reads n elements of a row (element stride `stride`) as f32.
void readRow(const TensorView &view, int64_t offset, int64_t stride, int64_t n,
             float *dst) {
  switch (view.dtype) {
  case DType::F32: {
    const float *src = static_cast<const float *>(view.data) + offset;
    if (stride == 1)
      std::memcpy(dst, src, size_t(n) * sizeof(float));
    else
      for (int64_t i = 0; i < n; ++i)
        dst[i] = src[i * stride];
    return;
  }
  case DType::F16: {
    const uint16_t *src = static_cast<const uint16_t *>(view.data) + offset;
    for (int64_t i = 0; i < n; ++i)
      dst[i] = halfToFloat(src[i * stride]);
    return;
  }
  case DType::BF16: {
    const uint16_t *src = static_cast<const uint16_t *>(view.data) + offset;
    for (int64_t i = 0; i < n; ++i)
      dst[i] = bf16ToFloat(src[i * stride]);
    return;
  }
  default:
    return;
  }
}

void writeRow(const TensorView &view, int64_t offset, int64_t stride, int64_t n,
              const float *src) {
  switch (view.dtype) {
  case DType::F32: {
    float *dst = static_cast<float *>(view.data) + offset;
    for (int64_t i = 0; i < n; ++i)
      dst[i * stride] = src[i];
    return;
  }
  case DType::F16: {
    uint16_t *dst = static_cast<uint16_t *>(view.data) + offset;
    for (int64_t i = 0; i < n; ++i)
      dst[i * stride] = floatToHalf(src[i]);
    return;
  }
  case DType::BF16: {
    uint16_t *dst = static_cast<uint16_t *>(view.data) + offset;
    for (int64_t i = 0; i < n; ++i)
      dst[i * stride] = floatToBf16(src[i]);
    return;
  }
  default:
    return;
  }
}

} // namespace

CpuKernel::CpuKernel(VariantDesc variant, CpuKernelLayout layout, CpuKernelEntry entry,
                     std::shared_ptr<const void> owner)
    : variant_(std::move(variant)), layout_(layout), entry_(entry),
      owner_(std::move(owner)) {}

CpuKernel::~CpuKernel() = default;

Status CpuKernel::run(const AttentionCall &call, ThreadPool &pool) const {
  if (Status s = validateCall(variant_, call); !s)
    return s;
  const int64_t B = call.batch(), Q = call.qLen(), KV = call.kvLen();
  const int64_t H = variant_.headsQ, HKV = variant_.headsKV;
  const int64_t D = variant_.headDim, DV = variant_.headDimV;
  const int64_t BQ = layout_.blockQ, BK = layout_.blockKV, DVp = layout_.headDimVPadded;
  const int64_t numQTiles = (Q + BQ - 1) / BQ, qPad = numQTiles * BQ;
  const int64_t numKVTiles = (KV + BK - 1) / BK, kvPad = numKVTiles * BK;

  // Take a workspace (concurrent calls each get their own) and give it back after.
  std::unique_ptr<Workspace> ws;
  {
    std::lock_guard<std::mutex> lock(workspaceMutex_);
    if (!workspaces_.empty()) {
      ws = std::move(workspaces_.back());
      workspaces_.pop_back();
    }
  }
  if (!ws)
    ws = std::make_unique<Workspace>();
  struct GiveBack {
    const CpuKernel &kernel;
    std::unique_ptr<Workspace> &ws;
    ~GiveBack() {
      std::lock_guard<std::mutex> lock(kernel.workspaceMutex_);
      kernel.workspaces_.push_back(std::move(ws));
    }
  } giveBack{*this, ws};
  AlignedF32 &qp = ws->qp, &kp = ws->kp, &vp = ws->vp, &op = ws->op, &lp = ws->lp;
  bool allocated = qp.reserve(size_t(B * H * qPad * D)) &&
                   kp.reserve(size_t(B * HKV * numKVTiles * D * BK)) &&
                   vp.reserve(size_t(B * HKV * kvPad * DVp)) &&
                   op.reserve(size_t(B * H * qPad * DVp)) && lp.reserve(size_t(B * H * qPad));
  if (!allocated)
    return Status::error("cannot allocate the kernel's packed inputs and outputs (" +
                         std::to_string((qp.size + kp.size + vp.size + op.size + lp.size) *
                                        sizeof(float)) +
                         " bytes)");

  // ATTNC_PROFILE=1 prints the time of each phase to stderr.
  static const bool profile = std::getenv("ATTNC_PROFILE") != nullptr;
  auto phaseStart = std::chrono::steady_clock::now();
  auto phase = [&](const char *name) {
    if (!profile)
      return;
    auto now = std::chrono::steady_clock::now();
    std::fprintf(stderr, "attnc: %-8s %9.3f ms\n", name,
                 std::chrono::duration<double, std::milli>(now - phaseStart).count());
    phaseStart = now;
  };

  // Pack q as [B][H][Q_pad][D], k as transposed key tiles [B][H_KV][t][D][BK] and v
  // as [B][H_KV][KV_pad][DV_pad]; padding stays zero.
  pool.parallelFor(B * H, [&](int64_t begin, int64_t end) {
    for (int64_t bh = begin; bh < end; ++bh) {
      int64_t b = bh / H, h = bh % H;
      for (int64_t i = 0; i < Q; ++i) {
        int64_t off = b * call.q.strides[0] + h * call.q.strides[1] + i * call.q.strides[2];
        readRow(call.q, off, call.q.strides[3], D, qp.data + ((bh * qPad) + i) * D);
      }
      std::memset(qp.data + (bh * qPad + Q) * D, 0, size_t((qPad - Q) * D) * sizeof(float));
    }
  });
  pool.parallelFor(B * HKV, [&](int64_t begin, int64_t end) {
    std::vector<float> row(size_t(std::max(D, DV)));
    for (int64_t bg = begin; bg < end; ++bg) {
      int64_t b = bg / HKV, g = bg % HKV;
      // Padding: the last key tile's missing columns and v's missing rows are zero.
      std::memset(kp.data + ((bg * numKVTiles) + numKVTiles - 1) * D * BK, 0,
                  size_t(D * BK) * sizeof(float));
      std::memset(vp.data + (bg * kvPad + KV) * DVp, 0,
                  size_t((kvPad - KV) * DVp) * sizeof(float));
      for (int64_t j = 0; j < KV; ++j) {
        int64_t off = b * call.k.strides[0] + g * call.k.strides[1] + j * call.k.strides[2];
        readRow(call.k, off, call.k.strides[3], D, row.data());
        float *tile = kp.data + ((bg * numKVTiles) + j / BK) * D * BK + j % BK;
        for (int64_t d = 0; d < D; ++d)
          tile[d * BK] = row[size_t(d)];
        off = b * call.v.strides[0] + g * call.v.strides[1] + j * call.v.strides[2];
        float *vRow = vp.data + ((bg * kvPad) + j) * DVp;
        readRow(call.v, off, call.v.strides[3], DV, vRow);
        std::fill(vRow + DV, vRow + DVp, 0.0f);
      }
    }
  });

  phase("pack");

  // Arguments of the packed interface: pointers to each argument's storage; a
  // memref argument is passed as a pointer to its descriptor.
  int64_t statusWords[4] = {0, 0, 0, 0};
  std::vector<Descriptor> descriptors;
  descriptors.push_back(flatDescriptor(qp.data, int64_t(qp.size)));
  descriptors.push_back(flatDescriptor(kp.data, int64_t(kp.size)));
  descriptors.push_back(flatDescriptor(vp.data, int64_t(vp.size)));
  descriptors.push_back(flatDescriptor(op.data, int64_t(op.size)));
  descriptors.push_back(flatDescriptor(lp.data, int64_t(lp.size)));
  std::vector<ScalarValue> values = scalarValues(variant_, call);
  for (const BufferDecl &decl : variant_.buffers)
    descriptors.push_back(viewDescriptor(call.buffers.at(decl.name)));
  Descriptor statusDesc;
  {
    int64_t p = int64_t(reinterpret_cast<intptr_t>(statusWords));
    statusDesc.words = {p, p, 0, 4, 1};
  }
  int64_t qLen = Q, kvLen = KV;

  auto callRange = [&](int64_t begin, int64_t end) {
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
  };
  pool.parallelFor(B * H * numQTiles, callRange);
  phase("kernel");

  if (Status s = kernelStatus(variant_, call, statusWords[0]); !s)
    return s;

  // Unpack out and lse into the caller's tensors.
  pool.parallelFor(B * H, [&](int64_t begin, int64_t end) {
    for (int64_t bh = begin; bh < end; ++bh) {
      int64_t b = bh / H, h = bh % H;
      for (int64_t i = 0; i < Q; ++i) {
        int64_t off =
            b * call.out.strides[0] + h * call.out.strides[1] + i * call.out.strides[2];
        writeRow(call.out, off, call.out.strides[3], DV, op.data + (bh * qPad + i) * DVp);
        float *lse = static_cast<float *>(call.lse.data);
        lse[b * call.lse.strides[0] + h * call.lse.strides[1] + i * call.lse.strides[2]] =
            lp.data[bh * qPad + i];
      }
    }
  });
  phase("unpack");
  return Status::ok();
}

} // namespace attnc
