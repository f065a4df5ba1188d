#!/usr/bin/env python3
"""A stdlib-only helper for the attnc end-to-end tests: writes, inspects and checks
safetensors files (docs/spec.md, "Tensor files").

  safetensors_tool.py write OUT [--seed N] [--bad KIND] TENSOR...
      TENSOR is NAME:DTYPE:SHAPE[:VALUES]
        DTYPE   F32, F16, BF16, I32 or I64 (also any other string, written as is,
                with 4-byte elements, to make a file with an unsupported dtype)
        SHAPE   comma-separated dims; empty for a 0-d tensor (e.g. "offset:I32::5")
        VALUES  omitted: uniform random in [-1, 1) (floats) or [0, 8) (ints);
                a comma-separated list with as many values as the shape has elements;
                or a single value repeated over the whole shape
      --bad KIND writes a deliberately broken file:
        truncate        drop the last 4 bytes of the data
        header-too-long a header length larger than the whole file
        not-safetensors a text file
        short           a 5-byte file
        header-not-json a header that is not a JSON object

  safetensors_tool.py raw OUT HEADER [NBYTES]
      writes the 8-byte length of HEADER (any text, e.g. hand-written JSON), HEADER
      itself and NBYTES zero bytes of data (default 0)

  safetensors_tool.py info FILE
      prints "NAME DTYPE [d0, d1, ...]" for each tensor, sorted by name

  safetensors_tool.py print FILE NAME
      prints the values of one tensor, one line per index of all but the last
      dimension: "NAME[i, j, k]: v0 v1 ..." (floats as %.6g: 0, -0, -inf, nan, ...)

  safetensors_tool.py check-ref SPEC IN OUT [--tol T]
      recomputes out and lse in float64 from the q/k/v of IN for a spec whose
      score_mod is absent (or "score") and whose mask_mod is absent, "true" or
      "q_idx >= kv_idx", and compares them with OUT: prints the largest errors and
      "match" (exit 0) or "MISMATCH" (exit 1). The relative error of out is
      |got - want| / max(1, |want|), element by element. For f16/bf16 specs the
      inputs are first rounded to the spec dtype, as attnc does with F32 inputs.
"""
import json
import math
import random
import struct
import sys

ELEMENT = {"F32": 4, "F16": 2, "BF16": 2, "I32": 4, "I64": 8}


def f32_to_bf16_bits(x):
    bits = struct.unpack("<I", struct.pack("<f", x))[0]
    if (bits & 0x7FFFFFFF) > 0x7F800000:
        return (bits >> 16) | 0x40
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) & 0xFFFF


def bf16_bits_to_f32(h):
    return struct.unpack("<f", struct.pack("<I", h << 16))[0]


def encode(dtype, values):
    if dtype == "F32":
        return struct.pack("<%df" % len(values), *values)
    if dtype == "F16":
        return struct.pack("<%de" % len(values), *values)
    if dtype == "BF16":
        return struct.pack("<%dH" % len(values), *[f32_to_bf16_bits(v) for v in values])
    if dtype == "I32":
        return struct.pack("<%di" % len(values), *[int(v) for v in values])
    if dtype == "I64":
        return struct.pack("<%dq" % len(values), *[int(v) for v in values])
    # An unsupported dtype name: 4-byte elements.
    return struct.pack("<%df" % len(values), *values)


def round_to(dtype, x):
    """x rounded to the nearest f16/bf16 value (ties to even); unchanged for f32."""
    if dtype == "bf16":
        return bf16_bits_to_f32(f32_to_bf16_bits(x))
    if dtype == "f16":
        return struct.unpack("<e", struct.pack("<e", x))[0]
    return x


def decode(dtype, data):
    n = len(data) // ELEMENT[dtype]
    if dtype == "F32":
        return list(struct.unpack("<%df" % n, data))
    if dtype == "F16":
        return list(struct.unpack("<%de" % n, data))
    if dtype == "BF16":
        return [bf16_bits_to_f32(h) for h in struct.unpack("<%dH" % n, data)]
    if dtype == "I32":
        return list(struct.unpack("<%di" % n, data))
    return list(struct.unpack("<%dq" % n, data))


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def parse_tensor(arg, rng):
    parts = arg.split(":")
    if len(parts) not in (3, 4):
        raise SystemExit("bad tensor argument '%s' (expected NAME:DTYPE:SHAPE[:VALUES])" % arg)
    name, dtype, shape_text = parts[0], parts[1], parts[2]
    shape = [int(d) for d in shape_text.split(",")] if shape_text else []
    n = numel(shape)
    is_int = dtype in ("I32", "I64")
    if len(parts) == 3:
        if is_int:
            values = [rng.randrange(0, 8) for _ in range(n)]
        else:
            values = [rng.uniform(-1.0, 1.0) for _ in range(n)]
    else:
        conv = int if is_int else float
        values = [conv(v) for v in parts[3].split(",")]
        if len(values) == 1:
            values = values * n
        if len(values) != n:
            raise SystemExit("tensor '%s': %d values for %d elements" % (name, len(values), n))
    return name, dtype, shape, values


def serialize(tensors):
    header = {}
    data = b""
    for name, dtype, shape, values in tensors:
        raw = encode(dtype, values)
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def cmd_write(args):
    seed, bad, specs = 0, None, []
    i = 0
    while i < len(args):
        if args[i] == "--seed":
            seed = int(args[i + 1])
            i += 2
        elif args[i] == "--bad":
            bad = args[i + 1]
            i += 2
        else:
            specs.append(args[i])
            i += 1
    out, specs = specs[0], specs[1:]
    rng = random.Random(seed)
    tensors = [parse_tensor(s, rng) for s in specs]
    blob = serialize(tensors)
    if bad is None:
        pass
    elif bad == "truncate":
        blob = blob[:-4]
    elif bad == "header-too-long":
        header_len = struct.unpack("<Q", blob[:8])[0]
        blob = struct.pack("<Q", header_len + len(blob)) + blob[8:]
    elif bad == "not-safetensors":
        blob = b"this is not a safetensors file, just some text\n"
    elif bad == "short":
        blob = b"\x10\x00\x00\x00\x00"
    elif bad == "header-not-json":
        text = b"[1, 2, 3]"
        blob = struct.pack("<Q", len(text)) + text
    else:
        raise SystemExit("unknown --bad kind '%s'" % bad)
    with open(out, "wb") as f:
        f.write(blob)


def cmd_raw(args):
    out, header = args[0], args[1].encode()
    nbytes = int(args[2]) if len(args) > 2 else 0
    with open(out, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + b"\0" * nbytes)


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    header_len = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + header_len])
    data = blob[8 + header_len:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        shape = entry["shape"]
        if end - begin != numel(shape) * ELEMENT[entry["dtype"]]:
            raise SystemExit("tensor '%s': data size does not match its shape" % name)
        tensors[name] = (entry["dtype"], shape, decode(entry["dtype"], data[begin:end]))
    return tensors


def cmd_info(args):
    for name, (dtype, shape, values) in sorted(read(args[0]).items()):
        print("%s %s [%s]" % (name, dtype, ", ".join(str(d) for d in shape)))


def cmd_print(args):
    path, name = args
    tensors = read(path)
    if name not in tensors:
        raise SystemExit("no tensor '%s' in %s" % (name, path))
    dtype, shape, values = tensors[name]
    fmt = (lambda v: "%d" % v) if dtype in ("I32", "I64") else (lambda v: "%.6g" % v)
    if not shape:
        print("%s: %s" % (name, fmt(values[0])))
        return
    last = shape[-1]
    outer = shape[:-1]
    for row in range(numel(outer)):
        index, r = [], row
        for d in reversed(outer):
            index.insert(0, r % d)
            r //= d
        chunk = values[row * last:(row + 1) * last]
        print("%s[%s]: %s" % (name, ", ".join(str(i) for i in index),
                              " ".join(fmt(v) for v in chunk)))


def reference(spec, q, k, v):
    """float64 out and lse for score_mod = score and mask_mod in {true, causal}."""
    hq = spec["heads"]["q"]
    hkv = spec["heads"].get("kv", hq)
    d = spec["head_dim"]
    dv = spec.get("head_dim_v", d)
    scale = spec.get("scale", 1.0 / math.sqrt(d))
    score_mod = spec.get("score_mod", "score").strip()
    mask_mod = spec.get("mask_mod", "true").strip()
    if score_mod != "score" or mask_mod not in ("true", "q_idx >= kv_idx"):
        raise SystemExit("check-ref supports only plain and causal specs")
    causal = mask_mod == "q_idx >= kv_idx"
    qd, qshape, qv = q
    kd, kshape, kv_ = k
    vd, vshape, vv = v
    B, H, Q, D = qshape
    KV = kshape[2]
    assert H == hq and D == d and kshape == [B, hkv, KV, d] and vshape == [B, hkv, KV, dv]
    group = hq // hkv
    out = [0.0] * (B * H * Q * dv)
    lse = [0.0] * (B * H * Q)
    for b in range(B):
        for h in range(H):
            g = h // group
            kbase = (b * hkv + g) * KV
            for i in range(Q):
                qrow = qv[((b * H + h) * Q + i) * D:((b * H + h) * Q + i + 1) * D]
                scores = []
                for j in range(KV):
                    if causal and not i >= j:
                        continue
                    krow = kv_[(kbase + j) * D:(kbase + j + 1) * D]
                    s = scale * math.fsum(x * y for x, y in zip(qrow, krow))
                    scores.append((j, s))
                row = (b * H + h) * Q + i
                if not scores:
                    lse[row] = -math.inf
                    continue
                m = max(s for _, s in scores)
                weights = [(j, math.exp(s - m)) for j, s in scores]
                total = math.fsum(w for _, w in weights)
                lse[row] = m + math.log(total)
                for c in range(dv):
                    acc = math.fsum(w * vv[(kbase + j) * dv + c] for j, w in weights)
                    out[row * dv + c] = acc / total
    return out, lse


def cmd_check_ref(args):
    tol = 1e-5
    if "--tol" in args:
        at = args.index("--tol")
        tol = float(args[at + 1])
        args = args[:at] + args[at + 2:]
    spec_path, in_path, out_path = args
    with open(spec_path) as f:
        spec = json.load(f)
    inputs = read(in_path)
    outputs = read(out_path)
    # attnc converts F32 inputs of an f16/bf16 spec to the spec dtype
    # (docs/spec.md, "Tensor files").
    dtype = spec.get("dtype", "f32")
    for name in ("q", "k", "v"):
        t = inputs[name]
        inputs[name] = (t[0], t[1], [round_to(dtype, x) for x in t[2]])
    want_out, want_lse = reference(spec, inputs["q"], inputs["k"], inputs["v"])
    got_out = outputs["out"][2]
    got_lse = outputs["lse"][2]
    if len(got_out) != len(want_out) or len(got_lse) != len(want_lse):
        print("MISMATCH: sizes differ (out %d vs %d, lse %d vs %d)"
              % (len(got_out), len(want_out), len(got_lse), len(want_lse)))
        return 1
    out_err = max(abs(g - w) / max(1.0, abs(w)) for g, w in zip(got_out, want_out))
    lse_err = 0.0
    bad = 0
    for g, w in zip(got_lse, want_lse):
        if math.isinf(w) or math.isinf(g) or math.isnan(g):
            bad += not (g == w)
            continue
        lse_err = max(lse_err, abs(g - w) / max(1.0, abs(w)))
    bad += sum(1 for g in got_out if math.isnan(g))
    ok = out_err <= tol and lse_err <= tol and bad == 0
    print("out err %.3e  lse err %.3e  bad %d  tol %.1e  %s"
          % (out_err, lse_err, bad, tol, "match" if ok else "MISMATCH"))
    return 0 if ok else 1


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "write":
        return cmd_write(args)
    if cmd == "raw":
        return cmd_raw(args)
    if cmd == "info":
        return cmd_info(args)
    if cmd == "print":
        return cmd_print(args)
    if cmd == "check-ref":
        return cmd_check_ref(args)
    raise SystemExit("unknown command '%s'" % cmd)


if __name__ == "__main__":
    sys.exit(main() or 0)
