//===- Variant.h - what the runtime knows about a compiled variant -*- C++ -*-===//
//
// The runtime's description of a variant (head layout, dims, dtype, declared
// scalars and buffers) and of one call (q, k, v, out, lse views plus scalar and
// buffer bindings). `validateCall` checks a call against its variant before any
// kernel runs: every tensor present with the right dtype and shape, every scalar and
// buffer bound, nothing extra. Its messages name the tensor, expected and actual.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_VARIANT_H
#define ATTNC_RUNTIME_VARIANT_H

#include "runtime/Status.h"
#include "runtime/Tensor.h"

#include <map>
#include <string>
#include <vector>

namespace attnc {

/// Symbolic buffer dimensions (same codes as attn::SymbolicDim).
enum class SymDim : int64_t { B = -1, H = -2, H_KV = -3, Q_LEN = -4, KV_LEN = -5 };

struct ScalarDecl {
  std::string name;
  DType type; ///< I32, I64 or F32
};

struct BufferDecl {
  std::string name;
  DType dtype;                ///< F32, I32 or I64
  std::vector<int64_t> shape; ///< positive sizes or SymDim codes
  bool requiresGrad = false;  ///< f32 only: the backward pass computes its gradient
};

struct VariantDesc {
  std::string name;
  int64_t headsQ = 1, headsKV = 1, headDim = 1, headDimV = 1;
  DType dtype = DType::F32;
  double scale = 1;
  std::vector<ScalarDecl> scalars; ///< sorted by name (the kernel's argument order)
  std::vector<BufferDecl> buffers; ///< sorted by name
};

struct ScalarValue {
  DType type = DType::I64;
  int64_t i = 0;
  double f = 0;
  double asDouble() const { return type == DType::F32 ? f : double(i); }
};

/// One attention call: q [B,H,Q,D], k [B,HKV,KV,D], v [B,HKV,KV,DV], out [B,H,Q,DV],
/// lse [B,H,Q] (f32), plus run-time scalars and buffers by name.
struct AttentionCall {
  TensorView q, k, v, out, lse;
  std::map<std::string, ScalarValue> scalars;
  std::map<std::string, TensorView> buffers;
  /// GPU kernels with tensors in GPU memory: the CUDA stream (a CUstream) to run
  /// on, after the work already queued on it; null: the calling thread's own
  /// stream. Calls return when the kernel is done either way.
  void *stream = nullptr;

  int64_t batch() const { return q.shape.size() == 4 ? q.shape[0] : 0; }
  int64_t qLen() const { return q.shape.size() == 4 ? q.shape[2] : 0; }
  int64_t kvLen() const { return k.shape.size() == 4 ? k.shape[2] : 0; }
};

/// A backward call: the forward's call (q, k, v, scalars, buffers, and the out and
/// lse the forward wrote, which kernels read; the float64 reference does not), the
/// gradient of the loss with respect to out, and the gradients to write.
struct BackwardCall {
  AttentionCall forward;
  TensorView dout;                            ///< [B, H, Q_LEN, DV]
  TensorView dq, dk, dv;                      ///< shaped as q, k, v
  std::map<std::string, TensorView> dbuffers; ///< f32, shaped as each requires_grad buffer
};

/// Writes into `dq` (a host view, any dtype and strides) the sum of `splits` f32
/// partials, contiguous [splits][dq's shape], added in split order: how the GPU
/// backward kernels' dQ partials become dq (deterministic for a number of splits).
void writeSummedPartials(const float *partials, int64_t splits, const TensorView &dq);

/// Checks a backward call: its forward call as validateCall does, dout shaped as
/// out, dq/dk/dv shaped as q/k/v (the variant's dtype), and one f32 gradient shaped
/// as each requires_grad buffer (and no other).
Status validateBackwardCall(const VariantDesc &variant, const BackwardCall &call,
                            Device device = Device::Cpu);

/// The concrete size of a buffer dimension for this call.
int64_t resolveDim(int64_t dim, const VariantDesc &variant, const AttentionCall &call);

/// Checks shapes, dtypes, scalars and buffers, and that every tensor is in `device`'s
/// memory (the kernel's; `eager` and CPU kernels read host memory).
Status validateCall(const VariantDesc &variant, const AttentionCall &call,
                    Device device = Device::Cpu);

/// A scalar argument as kernels take it: its value in its C type (i32, i64 or f32)
/// at the start of an 8-byte slot.
uint64_t scalarSlot(const ScalarValue &value);

/// A view as a memref descriptor: {allocated, aligned, offset, sizes..., strides...}
/// over its data pointer (a host or device address; never dereferenced here).
std::vector<int64_t> memrefDescriptor(const TensorView &view);

/// The packed-interface slots of a kernel's scalar arguments, in declaration
/// order: each holds the value in its C type (i32, i64 or f32) at the slot's start.
class ScalarSlots {
public:
  explicit ScalarSlots(const std::vector<ScalarValue> &values);
  void *at(size_t i) { return &slots_[i]; }
  size_t size() const { return slots_.size(); }

private:
  std::vector<uint64_t> slots_;
};

/// The call's scalar values in the variant's (declaration) order.
std::vector<ScalarValue> scalarValues(const VariantDesc &variant, const AttentionCall &call);

/// The packed-interface arguments of a generated `@X_gpu` entry (and of the emulated
/// one): q, k, v, out, lse as memref descriptors, the scalars, the buffers'
/// descriptors in declaration order, then `status`'s. Each descriptor is the C
/// interface's {allocated, aligned, offset, sizes..., strides...} over the view's data
/// pointer (a host or device address; it is never dereferenced here).
class PackedMemrefCall {
public:
  PackedMemrefCall(const VariantDesc &variant, const AttentionCall &call,
                   const TensorView &status);
  /// The arguments of a generated `@X_backward_gpu` entry: q, k, v, out, dout, lse,
  /// `dqPartials` (f32 [splits, B, H, Q_LEN, D]), dk, dv, the scalars, the buffers,
  /// the requires_grad buffers' gradients (declaration order), `status`.
  PackedMemrefCall(const VariantDesc &variant, const BackwardCall &call,
                   const TensorView &dqPartials, const TensorView &status);
  PackedMemrefCall(const PackedMemrefCall &) = delete;
  PackedMemrefCall &operator=(const PackedMemrefCall &) = delete;
  void **args() { return args_.data(); }

private:
  /// Lays out `leading` descriptors, the scalars, then `trailing` descriptors.
  void pack(const std::vector<const TensorView *> &leading,
            const std::vector<const TensorView *> &trailing);
  std::vector<std::vector<int64_t>> descriptors_;
  std::vector<void *> descriptorPointers_;
  ScalarSlots scalars_;
  std::vector<void *> args_;
};

/// Status codes that generated kernels write to status[0].
constexpr int64_t kKernelStatusDivisionByZero = -1;
constexpr int64_t kKernelStatusBufferBase = 1; ///< + the buffer's position

/// The error a kernel's status word stands for (ok for 0).
Status kernelStatus(const VariantDesc &variant, const AttentionCall &call, int64_t code);

} // namespace attnc

#endif // ATTNC_RUNTIME_VARIANT_H
