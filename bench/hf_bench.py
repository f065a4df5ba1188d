#!/usr/bin/env python3
"""A small Llama-shaped model's forward (or training step) on the CPU with
attn_implementation "attnc", "sdpa" and "eager", in the same run.

    PYTHONPATH=build/python build/venv/bin/python bench/hf_bench.py [--tokens 2048] [--train]

With --train each timed step is a forward, a loss and loss.backward() (model.train(),
no dropout): attnc's layers then run kernels compiled with their backward pass; the
check compares the gradient of the first layer's q_proj with sdpa's instead of the
logits, and the attention column is the forward's part only.

Builds a randomly initialised LlamaForCausalLM from a config (no download: hidden
512, 8 query heads and 2 key/value heads of head_dim 64, 4 layers), runs one
warm-up forward per implementation (attnc compiles its variant there), then times
REPS forwards of B x TOKENS tokens each (no_grad, causal, prefill) and prints the
median forward and the median time spent inside the attention functions of its
layers (the part that differs between the rows). The logits of "attnc" are checked
against "sdpa"'s first.
"""
import argparse
import statistics
import sys
import time

import torch
import transformers
from transformers import AttentionInterface
from transformers.models.llama import modeling_llama

import attnc.transformers  # noqa: F401  (registers "attnc")

DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokens", type=int, default=2048)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="f32")
    ap.add_argument("--impls", default="attnc,sdpa,eager")
    ap.add_argument("--train", action="store_true", help="time training steps (backward too)")
    args = ap.parse_args()

    config = transformers.LlamaConfig(vocab_size=1024, hidden_size=512, intermediate_size=1376,
                                      num_hidden_layers=args.layers, num_attention_heads=8,
                                      num_key_value_heads=2, max_position_embeddings=args.tokens)
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config).to(DTYPES[args.dtype])
    model = model.train() if args.train else model.eval()
    ids = torch.randint(0, config.vocab_size, (args.batch, args.tokens))

    attention_seconds = []

    def timed(fn):
        def attention(*args, **kwargs):
            t = time.perf_counter()
            result = fn(*args, **kwargs)
            attention_seconds.append(time.perf_counter() - t)
            return result
        return attention

    for impl in ("attnc", "sdpa"):
        AttentionInterface._global_mapping[impl] = timed(AttentionInterface._global_mapping[impl])
    modeling_llama.eager_attention_forward = timed(modeling_llama.eager_attention_forward)

    def forward(impl):
        model.set_attn_implementation(impl)
        if args.train:
            model.zero_grad()
            logits = model(input_ids=ids).logits
            logits.float().log_softmax(-1)[..., 0].sum().backward()
            return model.model.layers[0].self_attn.q_proj.weight.grad.detach().clone()
        with torch.no_grad():
            return model(input_ids=ids).logits

    want = forward("sdpa").float()
    got = forward("attnc").float()
    err = ((got - want).abs().max() / want.abs().max()).item()
    print(f"Llama-shaped: {args.layers} layers, hidden 512, heads 8/2, head_dim 64, {args.dtype}, "
          f"B={args.batch} x {args.tokens} tokens, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}, transformers {transformers.__version__}")
    print(f"attnc vs sdpa {'q_proj gradient' if args.train else 'logits'}: max relative "
          f"difference {err:.2e}")
    rows = []
    for impl in args.impls.split(","):
        forward(impl)  # warm-up
        times, attention = [], []
        for _ in range(args.reps):
            attention_seconds.clear()
            t = time.perf_counter()
            forward(impl)
            times.append(time.perf_counter() - t)
            attention.append(sum(attention_seconds))
        rows.append((impl, statistics.median(times) * 1e3, min(times) * 1e3,
                     statistics.median(attention) * 1e3))
    base = {r[0]: r for r in rows}.get("sdpa")
    print(f"{'implementation':16s} {'step ms' if args.train else 'forward ms':>10s} "
          f"{'min ms':>8s} {'vs sdpa':>8s} "
          f"{'attention ms':>13s} {'vs sdpa':>8s}")
    for impl, med, best, attn in rows:
        ratio = f"{med / base[1]:.2f}x" if base else ""
        attn_ratio = f"{attn / base[3]:.2f}x" if base else ""
        print(f"{impl:16s} {med:10.1f} {best:8.1f} {ratio:>8s} {attn:13.1f} {attn_ratio:>8s}")
    return 0 if err < (1e-4 if args.dtype == "f32" else 5e-2) else 1


if __name__ == "__main__":
    sys.exit(main())
