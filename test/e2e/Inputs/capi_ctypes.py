#!/usr/bin/env python3
"""capi_ctypes.py LIBATTNC_RUNTIME LIB.so: the C API through Python's ctypes (capi.test):
opens a kernel library, lists it, and calls 'causal' on small NumPy-free host buffers."""
import ctypes
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


def tensor(shape):
    n = 1
    for d in shape:
        n *= d
    strides, s = [], 1
    for d in reversed(shape):
        strides.insert(0, s)
        s *= d
    data = (ctypes.c_float * n)()
    keep.append(data)
    shp, st = (ctypes.c_int64 * len(shape))(*shape), (ctypes.c_int64 * len(shape))(*strides)
    keep.extend([shp, st])
    return Tensor(ctypes.cast(data, ctypes.c_void_p), 0, 0, len(shape), shp, st)


keep = []
lib = rt.attnc_library_open(sys.argv[2].encode())
print("opened:", bool(lib))
names = [rt.attnc_library_variant_name(lib, i).decode()
         for i in range(rt.attnc_library_num_variants(lib))]
print("variants:", " ".join(names))
args = Args(tensor([1, 8, 5, 64]), tensor([1, 8, 7, 64]), tensor([1, 8, 7, 64]),
            tensor([1, 8, 5, 64]), tensor([1, 8, 5]), None, 0, None, 0, None)
rc = rt.attnc_call(b"causal", ctypes.byref(args))
print("call:", rc, rt.attnc_last_error().decode())
