/*===- capi_backward_test.c - the C API's backward call from C ---------------===//
 *
 * capi_backward_test LIB.so VARIANT: loads a kernel library written with
 * --backward, runs VARIANT (plain softmax attention: 8 heads, f32, head_dim 64, no
 * mask, no score_mod) forward and backward through attnc_call/attnc_call_backward
 * on random host tensors with NaN-poisoned gradients, and compares dq, dk and dv
 * with the gradients of softmax attention computed here in double precision. Then
 * checks the backward call's errors: a name without a backward pass, a gradient of
 * the wrong shape, a gradient the variant does not have, a count without an array.
 * Prints what it does; exits 0 when every step behaved as documented
 * (kernel-library-backward.test).
 *
 *===----------------------------------------------------------------------===*/
#include "attnc/attnc.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { B = 1, H = 8, Q = 5, KV = 7, D = 64 };

static int failures = 0;

static void expect(int ok, const char *what) {
  printf("%s: %s\n", ok ? "ok" : "FAILED", what);
  failures += !ok;
}

static float q[H * Q * D], k[H * KV * D], v[H * KV * D], out[H * Q * D], lse[H * Q],
    dout[H * Q * D], dq[H * Q * D], dk[H * KV * D], dv[H * KV * D];
static double wantDq[H * Q * D], wantDk[H * KV * D], wantDv[H * KV * D];

/* Uniform in [-1, 1) from a fixed linear congruential sequence. */
static float uniform(void) {
  static unsigned long long state = 12345;
  state = state * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((double)(state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* The gradients of out = softmax(scale q kᵀ) v for one head, row by row:
 * dv += pᵀ dout, ds = p (dout vᵀ - rowsum(dout o)), dq = scale ds k, dk += scale dsᵀ q. */
static void referenceHead(int h) {
  const double scale = 1.0 / sqrt((double)D);
  for (int i = 0; i < Q; ++i) {
    const float *qi = q + (h * Q + i) * D, *gi = dout + (h * Q + i) * D;
    double s[KV], p[KV], o[D], m = -INFINITY, total = 0, delta = 0;
    for (int j = 0; j < KV; ++j) {
      s[j] = 0;
      for (int c = 0; c < D; ++c)
        s[j] += (double)qi[c] * k[(h * KV + j) * D + c];
      s[j] *= scale;
      m = s[j] > m ? s[j] : m;
    }
    for (int j = 0; j < KV; ++j)
      total += p[j] = exp(s[j] - m);
    for (int c = 0; c < D; ++c) {
      o[c] = 0;
      for (int j = 0; j < KV; ++j)
        o[c] += p[j] / total * v[(h * KV + j) * D + c];
      delta += gi[c] * o[c];
    }
    for (int j = 0; j < KV; ++j) {
      double pj = p[j] / total, dp = 0;
      for (int c = 0; c < D; ++c) {
        dp += (double)gi[c] * v[(h * KV + j) * D + c];
        wantDv[(h * KV + j) * D + c] += pj * gi[c];
      }
      double ds = pj * (dp - delta);
      for (int c = 0; c < D; ++c) {
        wantDq[(h * Q + i) * D + c] += scale * ds * k[(h * KV + j) * D + c];
        wantDk[(h * KV + j) * D + c] += scale * ds * qi[c];
      }
    }
  }
}

/* max |got - want| / max |want|. */
static double relError(const float *got, const double *want, int n) {
  double err = 0, norm = 0;
  for (int i = 0; i < n; ++i) {
    double e = fabs(got[i] - want[i]);
    err = e > err || e != e ? e : err;
    norm = fabs(want[i]) > norm ? fabs(want[i]) : norm;
  }
  return err / norm;
}

static attnc_tensor tensor4(float *data, int64_t *shape, int64_t *strides, int64_t n) {
  shape[0] = B, shape[1] = H, shape[2] = n, shape[3] = D;
  strides[3] = 1, strides[2] = D, strides[1] = n * D, strides[0] = H * n * D;
  return (attnc_tensor){data, ATTNC_DTYPE_F32, ATTNC_DEVICE_CPU, 4, shape, strides};
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: capi_backward_test LIB.so VARIANT\n");
    return 2;
  }
  attnc_library *lib = attnc_library_open(argv[1]);
  expect(lib != NULL, "the library loads");
  if (!lib) {
    printf("  %s\n", attnc_last_error());
    return 1;
  }
  for (int i = 0; i < H * Q * D; ++i)
    q[i] = uniform(), dout[i] = uniform(), out[i] = dq[i] = NAN;
  for (int i = 0; i < H * KV * D; ++i)
    k[i] = uniform(), v[i] = uniform(), dk[i] = dv[i] = NAN;
  int64_t qShape[4], qStrides[4], kShape[4], kStrides[4];
  int64_t lseShape[3] = {B, H, Q}, lseStrides[3] = {H * Q, Q, 1};
  attnc_backward_args args;
  memset(&args, 0, sizeof args);
  args.forward.q = tensor4(q, qShape, qStrides, Q);
  args.forward.k = tensor4(k, kShape, kStrides, KV);
  args.forward.v = tensor4(v, kShape, kStrides, KV);
  args.forward.out = tensor4(out, qShape, qStrides, Q);
  args.forward.lse = (attnc_tensor){lse, ATTNC_DTYPE_F32, ATTNC_DEVICE_CPU, 3, lseShape, lseStrides};
  args.dout = tensor4(dout, qShape, qStrides, Q);
  args.dq = tensor4(dq, qShape, qStrides, Q);
  args.dk = tensor4(dk, kShape, kStrides, KV);
  args.dv = tensor4(dv, kShape, kStrides, KV);

  expect(attnc_call(argv[2], &args.forward) == 0, "the forward runs");
  int rc = attnc_call_backward(argv[2], &args);
  expect(rc == 0, "the backward runs");
  if (rc)
    printf("  %s\n", attnc_last_error());
  for (int h = 0; h < H; ++h)
    referenceHead(h);
  double eq = relError(dq, wantDq, H * Q * D), ek = relError(dk, wantDk, H * KV * D),
         ev = relError(dv, wantDv, H * KV * D);
  expect(eq < 1e-4 && ek < 1e-4 && ev < 1e-4,
         "dq, dk and dv match the double-precision gradients (relative error < 1e-4)");
  printf("  dq %.1e  dk %.1e  dv %.1e\n", eq, ek, ev);

  expect(attnc_call_backward("eager", &args) != 0 &&
             strstr(attnc_last_error(), "no backward pass") != NULL,
         "a name without a backward pass is an error");
  printf("  %s\n", attnc_last_error());
  int64_t wrong[4] = {B, H, Q + 1, D};
  attnc_backward_args bad = args;
  bad.dq.shape = wrong;
  expect(attnc_call_backward(argv[2], &bad) != 0 && strstr(attnc_last_error(), "dq") != NULL,
         "a gradient of the wrong shape is an error naming it");
  printf("  %s\n", attnc_last_error());
  attnc_buffer extra = {"bias", args.dq};
  bad = args;
  bad.grads = &extra;
  bad.num_grads = 1;
  expect(attnc_call_backward(argv[2], &bad) != 0 && strstr(attnc_last_error(), "bias") != NULL,
         "a gradient the variant does not have is an error naming it");
  printf("  %s\n", attnc_last_error());
  bad.grads = NULL;
  expect(attnc_call_backward(argv[2], &bad) != 0, "num_grads without gradients is an error");
  printf("  %s\n", attnc_last_error());
  attnc_library_close(lib);
  return failures ? 1 : 0;
}
