/*===- LibraryAbi.h - the layout of a compiled kernel library -----*- C -*-===//
 *
 * A kernel library (`attnc compile --emit library`) is an ordinary shared object
 * with one C entry point, `attnc_library_v1`, returning a table of variants: each
 * with its description (head layout, dtype, scale, scalars, buffers, constants and
 * the source of its score_mod/mask_mod, so a loader can check results against the
 * float64 reference), its CPU kernel compiled for x86-64 with AVX-512 and with
 * AVX2 (and for a bf16 variant with AVX512-BF16, runtime/cpu/CpuIsa.h) with the tiles it was generated for, the launch
 * of its GPU kernel (runtime/cuda/GpuLaunch.h) and the kernel's images (a cubin per
 * chip, PTX for newer GPUs); with --backward, each backward kernel likewise. The
 * generated C
 * source includes this header; the runtime reads the table through it. Plain C,
 * so that the table needs nothing beyond a C compiler to build and dlopen to read.
 *
 *===----------------------------------------------------------------------===*/
#ifndef ATTNC_RUNTIME_LIBRARY_LIBRARYABI_H
#define ATTNC_RUNTIME_LIBRARY_LIBRARYABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped with any change to the structs below or to the arguments of the kernels
 * they point to (format 5: the CPU backward kernel takes delta, not out). */
#define ATTNC_LIBRARY_ABI_VERSION 5u

/* Element types: the runtime's DType codes. */
enum { ATTNC_F32 = 0, ATTNC_F16 = 1, ATTNC_BF16 = 2, ATTNC_I32 = 3, ATTNC_I64 = 4 };

typedef struct {
  const char *name;
  int32_t type; /* ATTNC_I32, ATTNC_I64 or ATTNC_F32 */
} attnc_lib_scalar;

typedef struct {
  const char *name;
  int32_t dtype; /* ATTNC_F32, ATTNC_I32 or ATTNC_I64 */
  int32_t rank;
  const int64_t *shape; /* sizes, or symbolic: -1 B, -2 H, -3 H_KV, -4 Q_LEN, -5 KV_LEN */
  int32_t requires_grad; /* 1: the backward pass computes its gradient (f32 only) */
} attnc_lib_buffer;

typedef struct {
  const char *name;
  int32_t is_int;
  int64_t int_value;
  double float_value;
} attnc_lib_constant;

typedef struct {
  int32_t kind; /* 0: an argument of the entry signature, 1: one of its sizes */
  int32_t argument;
  int32_t dim;
} attnc_lib_param;

typedef struct {
  const char *chip;   /* "sm_80", "sm_90a" */
  const char *format; /* "cubin" or "ptx" */
  const unsigned char *data;
  uint64_t size;
} attnc_lib_image;

typedef struct {
  const char *name;
  int64_t heads_q, heads_kv, head_dim, head_dim_v;
  int32_t dtype;
  double scale;
  uint32_t num_scalars;
  const attnc_lib_scalar *scalars; /* sorted by name */
  uint32_t num_buffers;
  const attnc_lib_buffer *buffers; /* sorted by name */
  uint32_t num_constants;
  const attnc_lib_constant *constants;
  const char *score_mod; /* the expression's source, or NULL */
  const char *mask_mod;
  /* The CPU kernel (both NULL when the library has none for this variant): the
   * packed entry runtime/cpu/CpuKernel.h calls, for each x86-64 level. */
  void (*cpu_avx512)(void **);
  void (*cpu_avx2)(void **);
  int64_t cpu_block_q, cpu_block_kv, cpu_head_dim_v_padded;
  /* The CPU backward kernel (runtime/cpu/CpuBackwardKernel.h) for each level, on the
   * forward's tiles; both NULL when the library was written without --backward. */
  void (*cpu_backward_avx512)(void **);
  void (*cpu_backward_avx2)(void **);
  /* A bf16 variant's forward kernel on bf16 pairs for x86-64-v4 with AVX512-BF16
   * (vdpbf16ps; q, k, v packed as pairs, docs/cpu-target.md); NULL otherwise. */
  void (*cpu_avx512_bf16)(void **);
  /* The GPU kernel (kernel NULL when the library has none for this variant). */
  const char *kernel;
  int64_t block_q, threads, dynamic_shared_bytes;
  uint32_t num_params;
  const attnc_lib_param *params;
  uint32_t num_images;
  const attnc_lib_image *images;
  /* The GPU backward kernel (backward_kernel NULL when the library has none for
   * this variant: written without --backward, or without the GPU): launched on
   * (splits, H_KV, B), its parameters over the backward entry signature. */
  const char *backward_kernel;
  int64_t backward_threads, backward_dynamic_shared_bytes;
  uint32_t num_backward_params;
  const attnc_lib_param *backward_params;
  uint32_t num_backward_images;
  const attnc_lib_image *backward_images;
} attnc_lib_variant;

typedef struct {
  uint32_t abi_version; /* ATTNC_LIBRARY_ABI_VERSION */
  const char *attnc_version;
  uint32_t num_variants;
  const attnc_lib_variant *variants;
} attnc_lib;

/* The entry point every kernel library defines. */
const attnc_lib *attnc_library_v1(void);

#ifdef __cplusplus
}
#endif

#endif /* ATTNC_RUNTIME_LIBRARY_LIBRARYABI_H */
