/*===- attnc/attnc.h - the attnc runtime's C API --------------------------===//
 *
 * For programs in C and for other languages through their FFI (Python's ctypes,
 * Rust, Go): load a kernel library (`attnc compile ... --emit library`), look up a
 * variant, call it (or its backward pass) on tensors described by data pointer,
 * dtype, device, shape and strides, and read the error of the last failing call. Registered kernels (the C++
 * registry ALL_ATTENTION_FUNCTIONS, which loading a library fills) are called by
 * name the same way. Every function reports failure by its return value; the
 * message is then attnc_last_error() (per thread). Link with -lattnc_runtime.
 *
 *===----------------------------------------------------------------------===*/
#ifndef ATTNC_ATTNC_H
#define ATTNC_ATTNC_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Element types and devices (the runtime's codes). */
typedef enum { ATTNC_DTYPE_F32 = 0, ATTNC_DTYPE_F16 = 1, ATTNC_DTYPE_BF16 = 2,
               ATTNC_DTYPE_I32 = 3, ATTNC_DTYPE_I64 = 4 } attnc_dtype;
typedef enum { ATTNC_DEVICE_CPU = 0, ATTNC_DEVICE_CUDA = 1 } attnc_device;

/* A tensor: `rank` sizes and strides (in elements) over `data` (a host pointer, or
 * a device address for ATTNC_DEVICE_CUDA). */
typedef struct {
  void *data;
  attnc_dtype dtype;
  attnc_device device;
  int32_t rank;
  const int64_t *shape;
  const int64_t *strides;
} attnc_tensor;

/* A named run-time scalar (`type` ATTNC_DTYPE_I32, I64 or F32) or buffer. */
typedef struct {
  const char *name;
  attnc_dtype type;
  int64_t int_value;
  double float_value;
} attnc_scalar;
typedef struct {
  const char *name;
  attnc_tensor tensor;
} attnc_buffer;

/* One call: q [B,H,Q,D], k and v [B,H_KV,KV,D(V)], out [B,H,Q,DV], lse [B,H,Q] (f32);
 * `stream`: a CUstream for GPU tensors (NULL: attnc's own); the call returns when the
 * kernel is done. */
typedef struct {
  attnc_tensor q, k, v, out, lse;
  const attnc_scalar *scalars;
  int32_t num_scalars;
  const attnc_buffer *buffers;
  int32_t num_buffers;
  void *stream;
} attnc_call_args;

/* One backward call: `forward` as the forward call was made (its out and lse hold
 * what the forward wrote; the backward kernel reads them), dout [B,H,Q,DV] the
 * gradient of the loss with respect to out, and the gradients it writes (overwritten):
 * dq, dk, dv shaped as q, k, v (their dtype), and an f32 gradient shaped as each buffer
 * declared with "requires_grad" (named as the buffer), in `grads`. */
typedef struct {
  attnc_call_args forward;
  attnc_tensor dout, dq, dk, dv;
  const attnc_buffer *grads;
  int32_t num_grads;
} attnc_backward_args;

typedef struct attnc_library attnc_library;

/* The version of this runtime ("0.1.0"). */
const char *attnc_version(void);

/* The message of this thread's last failure ("" if none). */
const char *attnc_last_error(void);

/* Loads a kernel library and registers its variants under their names (each GPU
 * kernel is loaded on the GPU at its first call); NULL on failure (a missing,
 * truncated or foreign file, another format version). */
attnc_library *attnc_library_open(const char *path);
void attnc_library_close(attnc_library *library);
/* The number of variants, and the name of the i-th (NULL out of range). */
int32_t attnc_library_num_variants(const attnc_library *library);
const char *attnc_library_variant_name(const attnc_library *library, int32_t i);

/* Calls the kernel registered as `name` for the tensors' device: 0 on success, -1 on
 * failure (an unknown name, wrong shapes or dtypes, a run-time error in the
 * variant's expressions, a CUDA error). */
int attnc_call(const char *name, const attnc_call_args *args);

/* Runs the backward pass of the kernel registered as `name` (a library written with
 * `--backward`; CPU tensors): 0 on success, -1 on failure (no backward pass for the
 * name or the tensors' device, wrong shapes or dtypes, a missing or extra gradient). */
int attnc_call_backward(const char *name, const attnc_backward_args *args);

#ifdef __cplusplus
}
#endif

#endif /* ATTNC_ATTNC_H */
