//===- GpuLaunch.h - the host side of an attention kernel launch --*- C++ -*-===//
//
// attnc's GPU kernels are launched by this runtime code, not by generated host
// code: the compiler describes the launch (GpuLaunchDesc: the kernel's symbol, its
// block, the query rows per block, and what each kernel parameter is in terms of
// the call), and `launchAttentionKernel` turns a call into the grid and the
// expanded parameter list and launches it. The JIT path (CudaKernel) and kernel
// libraries share this one implementation, and it needs no LLVM.
//
// The grid is (ceil(Q / blockQ), H, B) (a backward kernel's: (splits, H_KV, B)).
// Each parameter group is an argument of the
// kernel's entry signature (q, k, v, out, lse, the scalars in declaration order, the
// buffers in declaration order, status) or one dimension of such a memref. A memref
// argument expands to its descriptor's fields, each its own 8-byte parameter
// (allocated and aligned pointer, offset, sizes, strides: MLIR's expansion of a
// memref into kernel parameters); a size to one 8-byte integer; a scalar to its C
// type (i32, i64 or f32).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_CUDA_GPULAUNCH_H
#define ATTNC_RUNTIME_CUDA_GPULAUNCH_H

#include "runtime/Status.h"
#include "runtime/Variant.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace attnc {

/// One group of a kernel's parameters.
struct GpuParam {
  enum class Kind : int32_t { Argument = 0, Size = 1 };
  Kind kind = Kind::Argument;
  int32_t argument = 0; ///< position in the entry signature (see the file comment)
  int32_t dim = 0;      ///< Size: the dimension of that memref argument
  bool operator==(const GpuParam &o) const {
    return kind == o.kind && argument == o.argument && dim == o.dim;
  }
};

/// What the host needs to launch one compiled kernel.
struct GpuLaunchDesc {
  std::string kernel;     ///< the kernel's symbol in its module
  int64_t blockQ = 0;     ///< query rows per block (grid.x = ceil(Q / blockQ))
  /// A backward kernel (`@X_backward_gpu`): grid (splits, H_KV, B), the splits being
  /// dim 0 of its dQ partials argument (blockQ is then its block-q).
  bool backward = false;
  int64_t threads = 0;    ///< threads per block
  int64_t dynamicSharedBytes = 0;
  std::vector<GpuParam> params;
};

/// The expanded parameters of one launch: `pointers()[i]` points at the value of
/// the kernel's i-th parameter.
class GpuKernelArgs {
public:
  /// Fails when a parameter names an argument or dimension the entry signature
  /// does not have (a description that does not match the variant).
  static Result<std::unique_ptr<GpuKernelArgs>> build(const GpuLaunchDesc &desc,
                                                      const VariantDesc &variant,
                                                      const AttentionCall &call,
                                                      const TensorView &status);
  /// A backward kernel's: its entry signature is q, k, v, out, dout, lse, the dQ
  /// partials, dk, dv, the scalars, the buffers, the requires_grad buffers'
  /// gradients, status.
  static Result<std::unique_ptr<GpuKernelArgs>> build(const GpuLaunchDesc &desc,
                                                      const VariantDesc &variant,
                                                      const BackwardCall &call,
                                                      const TensorView &dqPartials,
                                                      const TensorView &status);
  void **pointers() { return pointers_.data(); }
  size_t count() const { return pointers_.size(); }

private:
  struct EntryArgument;
  static Result<std::unique_ptr<GpuKernelArgs>>
  fromArguments(const GpuLaunchDesc &desc, const VariantDesc &variant,
                const std::vector<EntryArgument> &args);
  std::vector<uint64_t> values_; ///< one 8-byte slot per parameter
  std::vector<void *> pointers_;
};

/// A loaded GPU module (a cubin, or PTX the driver compiles) and one kernel in it.
class GpuModule {
public:
  /// Loads `image` ("cubin" or "ptx" `format`) and looks up `kernel`.
  static Result<std::shared_ptr<GpuModule>> load(std::string_view image,
                                                 const std::string &format,
                                                 const std::string &kernel);
  GpuModule(const GpuModule &) = delete;
  GpuModule &operator=(const GpuModule &) = delete;
  ~GpuModule();
  void *function() const { return function_; }

private:
  GpuModule() = default;
  void *module_ = nullptr;
  void *function_ = nullptr;
};

/// Launches `function` for `call` (every tensor in GPU memory) on `stream` (a
/// CUstream; null: the thread's own) and waits for it. `status` is the kernel's
/// status word (4 x i64 in GPU memory). Launches nothing for an empty grid.
Status launchAttentionKernel(void *function, const GpuLaunchDesc &desc,
                             const VariantDesc &variant, const AttentionCall &call,
                             const TensorView &status, void *stream);
/// Launches a backward kernel (`desc.backward`) for `call` (every tensor in GPU
/// memory) on grid (splits, H_KV, B), `splits` being dim 0 of `dqPartials`, and
/// waits for it.
Status launchBackwardKernel(void *function, const GpuLaunchDesc &desc,
                            const VariantDesc &variant, const BackwardCall &call,
                            const TensorView &dqPartials, const TensorView &status,
                            void *stream);

} // namespace attnc

#endif // ATTNC_RUNTIME_CUDA_GPULAUNCH_H
