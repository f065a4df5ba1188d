//===- Variant.cpp - validating a call against its variant -----------------===//
#include "runtime/Variant.h"

#include <cstring>

namespace attnc {

int64_t resolveDim(int64_t dim, const VariantDesc &variant,
                   const AttentionCall &call) {
  switch (SymDim(dim)) {
  case SymDim::B: return call.batch();
  case SymDim::H: return variant.headsQ;
  case SymDim::H_KV: return variant.headsKV;
  case SymDim::Q_LEN: return call.qLen();
  case SymDim::KV_LEN: return call.kvLen();
  }
  return dim;
}

static std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

static Status checkTensor(const std::string &name, const TensorView &view,
                          DType dtype, const std::vector<int64_t> &shape) {
  if (!view.data && !shape.empty() && view.shape.empty())
    return Status::error("missing tensor '" + name + "'");
  if (view.dtype != dtype)
    return Status::error("tensor '" + name + "' must have dtype " +
                         dtypeName(dtype) + ", got " + dtypeName(view.dtype));
  if (view.shape != shape)
    return Status::error("tensor '" + name + "' must have shape " +
                         shapeString(shape) + ", got " + view.shapeString());
  if (view.strides.size() != view.shape.size())
    return Status::error("tensor '" + name + "' has " +
                         std::to_string(view.strides.size()) + " strides for " +
                         std::to_string(view.shape.size()) + " dimensions");
  for (int64_t s : view.strides)
    if (s < 0)
      return Status::error("tensor '" + name + "' has a negative stride");
  if (view.numel() > 0 && !view.data)
    return Status::error("tensor '" + name + "' has no data");
  return Status::ok();
}

Status validateCall(const VariantDesc &variant, const AttentionCall &call, Device device) {
  auto onDevice = [&](const char *name, const TensorView &t) -> Status {
    if (t.device == device)
      return Status::ok();
    return Status::error(std::string("tensor '") + name + "' is in " + deviceName(t.device) +
                         " memory, but '" + variant.name + "' runs on the " +
                         (device == Device::Cpu ? "CPU" : "GPU") + " (move the tensors to " +
                         deviceName(device) + " memory)");
  };
  for (auto [name, t] : {std::pair<const char *, const TensorView *>{"q", &call.q},
                         {"k", &call.k}, {"v", &call.v}, {"out", &call.out},
                         {"lse", &call.lse}})
    if (Status s = onDevice(name, *t); !s)
      return s;
  for (const auto &[name, view] : call.buffers)
    if (Status s = onDevice(name.c_str(), view); !s)
      return s;
  if (call.q.shape.size() != 4)
    return Status::error("tensor 'q' must have 4 dimensions [B, H, Q_LEN, head_dim], got " +
                         call.q.shapeString());
  if (call.k.shape.size() != 4)
    return Status::error("tensor 'k' must have 4 dimensions [B, H_KV, KV_LEN, head_dim], got " +
                         call.k.shapeString());
  int64_t B = call.batch(), Q = call.qLen(), KV = call.kvLen();
  if (B < 1 || Q < 1 || KV < 1)
    return Status::error("B, Q_LEN and KV_LEN must be at least 1, got " +
                         std::to_string(B) + ", " + std::to_string(Q) + ", " +
                         std::to_string(KV));
  DType dt = variant.dtype;
  int64_t H = variant.headsQ, HKV = variant.headsKV;
  if (Status s = checkTensor("q", call.q, dt, {B, H, Q, variant.headDim}); !s)
    return s;
  if (Status s = checkTensor("k", call.k, dt, {B, HKV, KV, variant.headDim}); !s)
    return s;
  if (Status s = checkTensor("v", call.v, dt, {B, HKV, KV, variant.headDimV}); !s)
    return s;
  if (Status s = checkTensor("out", call.out, dt, {B, H, Q, variant.headDimV}); !s)
    return s;
  if (Status s = checkTensor("lse", call.lse, DType::F32, {B, H, Q}); !s)
    return s;

  for (const ScalarDecl &decl : variant.scalars) {
    auto it = call.scalars.find(decl.name);
    if (it == call.scalars.end())
      return Status::error("missing scalar '" + decl.name + "' (" +
                           dtypeName(decl.type) + ")");
    if (it->second.type != decl.type)
      return Status::error("scalar '" + decl.name + "' must be " +
                           dtypeName(decl.type) + ", got " +
                           dtypeName(it->second.type));
  }
  for (const auto &[name, value] : call.scalars) {
    bool declared = false;
    for (const ScalarDecl &decl : variant.scalars)
      declared |= decl.name == name;
    if (!declared)
      return Status::error("unexpected scalar '" + name + "': variant '" +
                           variant.name + "' does not declare it");
  }
  for (const BufferDecl &decl : variant.buffers) {
    auto it = call.buffers.find(decl.name);
    if (it == call.buffers.end())
      return Status::error("missing buffer '" + decl.name + "'");
    std::vector<int64_t> shape;
    for (int64_t d : decl.shape)
      shape.push_back(resolveDim(d, variant, call));
    if (Status s = checkTensor(decl.name, it->second, decl.dtype, shape); !s)
      return s;
  }
  for (const auto &[name, view] : call.buffers) {
    bool declared = false;
    for (const BufferDecl &decl : variant.buffers)
      declared |= decl.name == name;
    if (!declared)
      return Status::error("unexpected buffer '" + name + "': variant '" +
                           variant.name + "' does not declare it");
  }
  return Status::ok();
}

uint64_t scalarSlot(const ScalarValue &v) {
  uint64_t slot = 0;
  if (v.type == DType::I32) {
    int32_t x = int32_t(v.i);
    std::memcpy(&slot, &x, sizeof(x));
  } else if (v.type == DType::I64) {
    std::memcpy(&slot, &v.i, sizeof(v.i));
  } else {
    float x = float(v.f);
    std::memcpy(&slot, &x, sizeof(x));
  }
  return slot;
}

ScalarSlots::ScalarSlots(const std::vector<ScalarValue> &values) {
  for (const ScalarValue &v : values)
    slots_.push_back(scalarSlot(v));
}

std::vector<ScalarValue> scalarValues(const VariantDesc &variant, const AttentionCall &call) {
  std::vector<ScalarValue> values;
  for (const ScalarDecl &d : variant.scalars)
    values.push_back(call.scalars.at(d.name));
  return values;
}

Status kernelStatus(const VariantDesc &variant, const AttentionCall &call, int64_t code) {
  if (code >= kKernelStatusBufferBase &&
      code < kKernelStatusBufferBase + int64_t(variant.buffers.size())) {
    const BufferDecl &decl = variant.buffers[size_t(code - kKernelStatusBufferBase)];
    return Status::error("index out of range reading buffer '" + decl.name + "' (shape " +
                         call.buffers.at(decl.name).shapeString() + ")");
  }
  if (code == kKernelStatusDivisionByZero)
    return Status::error("integer division or modulo by zero in score_mod or mask_mod");
  if (code != 0)
    return Status::error("kernel reported unknown status " + std::to_string(code));
  return Status::ok();
}

} // namespace attnc

namespace attnc {

std::vector<int64_t> memrefDescriptor(const TensorView &t) {
  auto ptr = int64_t(reinterpret_cast<intptr_t>(t.data));
  std::vector<int64_t> d{ptr, ptr, 0};
  d.insert(d.end(), t.shape.begin(), t.shape.end());
  d.insert(d.end(), t.strides.begin(), t.strides.end());
  return d;
}

PackedMemrefCall::PackedMemrefCall(const VariantDesc &variant, const AttentionCall &call,
                                   const TensorView &status)
    : scalars_(scalarValues(variant, call)) {
  std::vector<const TensorView *> trailing;
  for (const BufferDecl &b : variant.buffers)
    trailing.push_back(&call.buffers.at(b.name));
  trailing.push_back(&status);
  pack({&call.q, &call.k, &call.v, &call.out, &call.lse}, trailing);
}

PackedMemrefCall::PackedMemrefCall(const VariantDesc &variant, const BackwardCall &call,
                                   const TensorView &dqPartials, const TensorView &status)
    : scalars_(scalarValues(variant, call.forward)) {
  const AttentionCall &fwd = call.forward;
  std::vector<const TensorView *> trailing;
  for (const BufferDecl &b : variant.buffers)
    trailing.push_back(&fwd.buffers.at(b.name));
  for (const BufferDecl &b : variant.buffers)
    if (b.requiresGrad)
      trailing.push_back(&call.dbuffers.at(b.name));
  trailing.push_back(&status);
  pack({&fwd.q, &fwd.k, &fwd.v, &fwd.out, &call.dout, &fwd.lse, &dqPartials, &call.dk, &call.dv},
       trailing);
}

void PackedMemrefCall::pack(const std::vector<const TensorView *> &leading,
                            const std::vector<const TensorView *> &trailing) {
  for (const TensorView *t : leading)
    descriptors_.push_back(memrefDescriptor(*t));
  for (const TensorView *t : trailing)
    descriptors_.push_back(memrefDescriptor(*t));
  for (std::vector<int64_t> &d : descriptors_)
    descriptorPointers_.push_back(d.data());
  // A pointer to each memref's descriptor pointer, to each scalar.
  for (size_t i = 0; i < leading.size(); ++i)
    args_.push_back(&descriptorPointers_[i]);
  for (size_t i = 0; i < scalars_.size(); ++i)
    args_.push_back(scalars_.at(i));
  for (size_t i = leading.size(); i < descriptorPointers_.size(); ++i)
    args_.push_back(&descriptorPointers_[i]);
}

} // namespace attnc

namespace attnc {

void writeSummedPartials(const float *partials, int64_t splits, const TensorView &dq) {
  int64_t per = dq.numel();
  std::vector<int64_t> index(dq.shape.size(), 0);
  for (int64_t flat = 0; flat < per; ++flat, nextIndex(index, dq.shape)) {
    float sum = 0;
    for (int64_t s = 0; s < splits; ++s)
      sum += partials[size_t(s * per + flat)];
    dq.set(index.data(), sum);
  }
}

Status validateBackwardCall(const VariantDesc &variant, const BackwardCall &call,
                            Device device) {
  const AttentionCall &fwd = call.forward;
  if (Status s = validateCall(variant, fwd, device); !s)
    return s;
  for (auto [name, t] : {std::pair<const char *, const TensorView *>{"dout", &call.dout},
                         {"dq", &call.dq}, {"dk", &call.dk}, {"dv", &call.dv}})
    if (t->device != device)
      return Status::error(std::string("tensor '") + name + "' is in " +
                           deviceName(t->device) + " memory, but '" + variant.name +
                           "' runs on the " + (device == Device::Cpu ? "CPU" : "GPU"));
  DType dt = variant.dtype;
  if (Status s = checkTensor("dout", call.dout, dt, fwd.out.shape); !s)
    return s;
  if (Status s = checkTensor("dq", call.dq, dt, fwd.q.shape); !s)
    return s;
  if (Status s = checkTensor("dk", call.dk, dt, fwd.k.shape); !s)
    return s;
  if (Status s = checkTensor("dv", call.dv, dt, fwd.v.shape); !s)
    return s;
  for (const BufferDecl &decl : variant.buffers) {
    auto it = call.dbuffers.find(decl.name);
    if (!decl.requiresGrad) {
      if (it != call.dbuffers.end())
        return Status::error("unexpected gradient for buffer '" + decl.name +
                             "': it is not declared requires_grad");
      continue;
    }
    if (it == call.dbuffers.end())
      return Status::error("missing the gradient of buffer '" + decl.name +
                           "' (f32, shaped as the buffer)");
    if (it->second.device != device)
      return Status::error("the gradient of buffer '" + decl.name + "' is in " +
                           deviceName(it->second.device) + " memory");
    if (Status s = checkTensor("d" + decl.name, it->second, DType::F32,
                               fwd.buffers.at(decl.name).shape);
        !s)
      return s;
  }
  for (const auto &[name, view] : call.dbuffers) {
    bool declared = false;
    for (const BufferDecl &decl : variant.buffers)
      declared |= decl.name == name;
    if (!declared)
      return Status::error("unexpected gradient '" + name + "': variant '" + variant.name +
                           "' declares no such buffer");
  }
  return Status::ok();
}

} // namespace attnc
