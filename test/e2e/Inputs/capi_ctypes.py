#!/usr/bin/env python3
"""capi_ctypes.py LIBATTNC_RUNTIME LIB.so: the C API through Python's ctypes (capi.test):
opens a kernel library, lists it, calls the CPU kernel of 'causal' on small NumPy-free
host buffers (outputs poisoned with NaN first) and compares out and lse with a float64
reference computed here, then calls it for the CUDA device."""
import ctypes
import math
import random
import sys

rt = ctypes.CDLL(sys.argv[1])
rt.attnc_library_open.restype = ctypes.c_void_p
rt.attnc_library_open.argtypes = [ctypes.c_char_p]
rt.attnc_library_num_variants.argtypes = [ctypes.c_void_p]
rt.attnc_library_variant_name.restype = ctypes.c_char_p
rt.attnc_library_variant_name.argtypes = [ctypes.c_void_p, ctypes.c_int32]
rt.attnc_last_error.restype = ctypes.c_char_p


class Tensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("dtype", ctypes.c_int), ("device", ctypes.c_int),
                ("rank", ctypes.c_int32), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64))]


class Args(ctypes.Structure):
    _fields_ = [("q", Tensor), ("k", Tensor), ("v", Tensor), ("out", Tensor), ("lse", Tensor),
                ("scalars", ctypes.c_void_p), ("num_scalars", ctypes.c_int32),
                ("buffers", ctypes.c_void_p), ("num_buffers", ctypes.c_int32),
                ("stream", ctypes.c_void_p)]


def tensor(shape, device=0, fill=None):
    n = 1
    for d in shape:
        n *= d
    strides, s = [], 1
    for d in reversed(shape):
        strides.insert(0, s)
        s *= d
    data = (ctypes.c_float * n)(*[fill() for _ in range(n)])
    keep.append(data)
    shp, st = (ctypes.c_int64 * len(shape))(*shape), (ctypes.c_int64 * len(shape))(*strides)
    keep.extend([shp, st])
    return Tensor(ctypes.cast(data, ctypes.c_void_p), 0, device, len(shape), shp, st)


def values(t, n):
    return ctypes.cast(t.data, ctypes.POINTER(ctypes.c_float))[:n]


def causal_reference(q, k, v, heads, q_len, kv_len, d):
    """out and lse of causal attention (scale 1/sqrt(d)) in float64."""
    out, lse = [], []
    for h in range(heads):
        for i in range(q_len):
            row = [sum(q[(h * q_len + i) * d + c] * k[(h * kv_len + j) * d + c]
                       for c in range(d)) / math.sqrt(d) for j in range(i + 1)]
            m = max(row)
            w = [math.exp(x - m) for x in row]
            total = sum(w)
            lse.append(m + math.log(total))
            out.extend(sum(w[j] * v[(h * kv_len + j) * d + c] for j in range(i + 1)) / total
                       for c in range(d))
    return out, lse


keep = []
lib = rt.attnc_library_open(sys.argv[2].encode())
print("opened:", bool(lib))
names = [rt.attnc_library_variant_name(lib, i).decode()
         for i in range(rt.attnc_library_num_variants(lib))]
print("variants:", " ".join(names))
rng = random.Random(7)
uniform = lambda: rng.uniform(-1, 1)  # noqa: E731
nan = lambda: float("nan")  # noqa: E731
for device in (0, 1):
    args = Args(tensor([1, 8, 5, 64], device, uniform), tensor([1, 8, 7, 64], device, uniform),
                tensor([1, 8, 7, 64], device, uniform), tensor([1, 8, 5, 64], device, nan),
                tensor([1, 8, 5], device, nan), None, 0, None, 0, None)
    rc = rt.attnc_call(b"causal", ctypes.byref(args))
    print("call %s:" % ("cpu", "cuda")[device], rc, rt.attnc_last_error().decode())
    if device == 0 and rc == 0:
        want_out, want_lse = causal_reference(values(args.q, 2560), values(args.k, 3584),
                                              values(args.v, 3584), 8, 5, 7, 64)
        got_out, got_lse = values(args.out, 2560), values(args.lse, 40)
        err = max(abs(a - b) for a, b in zip(got_out + got_lse, want_out + want_lse))
        print("cpu result:", "matches the float64 reference" if err < 1e-5 else
              "DIFFERS from the float64 reference by %g" % err)
