#!/usr/bin/env python3
"""A Hugging Face transformers model switched to attnc: a small Mistral (sliding
window 16) built from a config with random weights, run with
attn_implementation="sdpa" and then "attnc": the same logits and the same greedy
generation (with a KV cache, past the window), and the variants attnc compiled.

    PYTHONPATH=build/python build/venv/bin/python examples/python/transformers_model.py
"""
import torch
import transformers

import attnc.transformers  # registers attn_implementation="attnc"

config = transformers.MistralConfig(vocab_size=1000, hidden_size=256, intermediate_size=512,
                                    num_hidden_layers=4, num_attention_heads=8,
                                    num_key_value_heads=2, sliding_window=16,
                                    initializer_range=0.1)
torch.manual_seed(0)
model = transformers.MistralForCausalLM(config).eval()
prompt = torch.randint(3, config.vocab_size, (1, 40))

results = {}
for implementation in ("sdpa", "attnc"):
    model.set_attn_implementation(implementation)
    with torch.no_grad():
        logits = model(input_ids=prompt).logits
    tokens = model.generate(prompt, max_new_tokens=20, min_new_tokens=20, do_sample=False)
    results[implementation] = logits, tokens

(sdpa_logits, sdpa_tokens), (attnc_logits, attnc_tokens) = results["sdpa"], results["attnc"]
err = ((attnc_logits - sdpa_logits).abs().max() / sdpa_logits.abs().max()).item()
print(f"logits, attnc vs sdpa: max relative difference {err:.1e}")
print(f"generated (attnc): {attnc_tokens[0, 40:].tolist()}")
print(f"same tokens as sdpa: {torch.equal(attnc_tokens, sdpa_tokens)}")
for name, spec in attnc.transformers.compiled_variants().items():
    print(f"compiled {name}: heads {spec['heads']}, head_dim {spec['head_dim']}, "
          f"{spec['dtype']}, mask_mod: {spec['mask_mod']}")
