/*===- capi_test.c - the C API from C ---------------------------------------===//
 *
 * capi_test LIB.so VARIANT: loads a kernel library, lists it, calls VARIANT (an
 * 8-head f32 head_dim 64 variant) on host tensors, and checks the API's errors:
 * a missing library, an unknown name, a wrong shape. Prints what it does; exits 0
 * when every step behaved as documented (kernel-library.test runs it through the
 * stand-in CUDA driver).
 *
 *===----------------------------------------------------------------------===*/
#include "attnc/attnc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

static void expect(int ok, const char *what) {
  printf("%s: %s\n", ok ? "ok" : "FAILED", what);
  failures += !ok;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: capi_test LIB.so VARIANT\n");
    return 2;
  }
  printf("attnc %s\n", attnc_version());
  expect(attnc_library_open("/nonexistent/lib.so") == NULL &&
             strstr(attnc_last_error(), "cannot load kernel library") != NULL,
         "a missing library is an error with a message");
  printf("  %s\n", attnc_last_error());

  attnc_library *lib = attnc_library_open(argv[1]);
  expect(lib != NULL, "the library loads");
  if (!lib) {
    printf("  %s\n", attnc_last_error());
    return 1;
  }
  for (int32_t i = 0; i < attnc_library_num_variants(lib); ++i)
    printf("  variant %s\n", attnc_library_variant_name(lib, i));
  expect(attnc_library_variant_name(lib, 99) == NULL, "out-of-range variant index");

  enum { B = 1, H = 8, Q = 5, KV = 7, D = 64 };
  static float q[B * H * Q * D], k[B * H * KV * D], v[B * H * KV * D], out[B * H * Q * D],
      lse[B * H * Q];
  int64_t qShape[4] = {B, H, Q, D}, qStrides[4] = {H * Q * D, Q * D, D, 1};
  int64_t kShape[4] = {B, H, KV, D}, kStrides[4] = {H * KV * D, KV * D, D, 1};
  int64_t lseShape[3] = {B, H, Q}, lseStrides[3] = {H * Q, Q, 1};
  attnc_call_args args;
  memset(&args, 0, sizeof args);
  args.q = (attnc_tensor){q, ATTNC_DTYPE_F32, ATTNC_DEVICE_CPU, 4, qShape, qStrides};
  args.k = (attnc_tensor){k, ATTNC_DTYPE_F32, ATTNC_DEVICE_CPU, 4, kShape, kStrides};
  args.v = (attnc_tensor){v, ATTNC_DTYPE_F32, ATTNC_DEVICE_CPU, 4, kShape, kStrides};
  args.out = (attnc_tensor){out, ATTNC_DTYPE_F32, ATTNC_DEVICE_CPU, 4, qShape, qStrides};
  args.lse = (attnc_tensor){lse, ATTNC_DTYPE_F32, ATTNC_DEVICE_CPU, 3, lseShape, lseStrides};

  int rc = attnc_call(argv[2], &args);
  expect(rc == 0, "the variant runs");
  if (rc)
    printf("  %s\n", attnc_last_error());

  expect(attnc_call("no_such_variant", &args) == -1 &&
             strstr(attnc_last_error(), "no attention function registered as") != NULL,
         "an unknown name is an error");
  printf("  %s\n", attnc_last_error());

  args.out.shape = kShape; /* [1, 8, 7, 64] instead of [1, 8, 5, 64] */
  expect(attnc_call(argv[2], &args) == -1 && strstr(attnc_last_error(), "out") != NULL,
         "a wrong shape is an error naming the tensor");
  printf("  %s\n", attnc_last_error());

  attnc_library_close(lib);
  return failures ? 1 : 0;
}
