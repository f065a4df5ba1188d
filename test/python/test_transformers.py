"""attn_implementation="attnc" in Hugging Face transformers, on small randomly
initialised models built from configs (no downloads): Llama, Mistral (sliding
window), Gemma 2 (soft-capping, alternating sliding layers) and Qwen2 (GQA). Logits
match the model's own attention ("sdpa"; "eager" for Gemma 2, whose soft-capping
sdpa refuses) in float32 and bfloat16, greedy generate() with a KV cache gives the
same tokens, and a left-padded batch matches each sequence run alone."""
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
import attnc  # noqa: E402
import attnc.transformers  # noqa: E402,F401  (registers "attnc")

VOCAB = 96
COMMON = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
              pad_token_id=0, bos_token_id=1, eos_token_id=2,
              initializer_range=0.25)  # peaked attention: soft-capping and masks show


def llama():
    return transformers.LlamaForCausalLM(transformers.LlamaConfig(**COMMON)), "sdpa"


def mistral():
    return transformers.MistralForCausalLM(
        transformers.MistralConfig(**COMMON, sliding_window=7)), "sdpa"


def gemma2():
    config = transformers.Gemma2Config(**COMMON, head_dim=16, sliding_window=6,
                                       attn_logit_softcapping=4.0, final_logit_softcapping=30.0,
                                       query_pre_attn_scalar=24,
                                       layer_types=["sliding_attention", "full_attention"])
    return transformers.Gemma2ForCausalLM(config), "eager"


def qwen2():
    config = transformers.Qwen2Config(**dict(COMMON, num_key_value_heads=1))
    return transformers.Qwen2ForCausalLM(config), "sdpa"


MODELS = {"llama": llama, "mistral": mistral, "gemma2": gemma2, "qwen2": qwen2}


def build(name, dtype=torch.float32):
    torch.manual_seed(hash(name) % 1000)
    model, reference = MODELS[name]()
    return model.to(dtype).eval(), reference


def logits_with(model, implementation, **inputs):
    model.set_attn_implementation(implementation)
    with torch.no_grad():
        return model(**inputs).logits.float()


def rel_err(got, want):
    return ((got - want).abs().max() / want.abs().max()).item()


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("dtype, tolerance", [(torch.float32, 1e-5), (torch.bfloat16, 3e-2)])
def test_logits_match(name, dtype, tolerance):
    model, reference = build(name, dtype)
    ids = torch.randint(3, VOCAB, (2, 23))  # longer than the sliding windows
    want = logits_with(model, reference, input_ids=ids)
    got = logits_with(model, "attnc", input_ids=ids)
    assert rel_err(got, want) < tolerance


@pytest.mark.parametrize("name", sorted(MODELS))
def test_greedy_generate_with_kv_cache(name):
    model, reference = build(name)
    ids = torch.randint(3, VOCAB, (1, 9))
    kwargs = dict(max_new_tokens=14, do_sample=False, min_new_tokens=14)
    model.set_attn_implementation(reference)
    want = model.generate(ids, **kwargs)
    model.set_attn_implementation("attnc")
    got = model.generate(ids, **kwargs)
    assert got.shape == (1, 23)
    assert torch.equal(got, want)


def left_padded(prompts):
    width = max(len(p) for p in prompts)
    ids = torch.zeros(len(prompts), width, dtype=torch.long)
    mask = torch.zeros(len(prompts), width, dtype=torch.long)
    for row, prompt in enumerate(prompts):
        ids[row, width - len(prompt):] = prompt
        mask[row, width - len(prompt):] = 1
    return ids, mask


@pytest.mark.parametrize("name", sorted(MODELS))
def test_left_padded_batch_matches_each_row(name):
    model, reference = build(name)
    prompts = [torch.randint(3, VOCAB, (n,)) for n in (17, 9, 12)]
    ids, mask = left_padded(prompts)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    got = logits_with(model, "attnc", input_ids=ids, attention_mask=mask, position_ids=positions)
    for row, prompt in enumerate(prompts):
        alone = logits_with(model, reference, input_ids=prompt[None])
        assert rel_err(got[row, -len(prompt):], alone[0]) < 1e-5, f"row {row}"

    kwargs = dict(max_new_tokens=10, do_sample=False, min_new_tokens=10)
    model.set_attn_implementation(reference)
    want = model.generate(ids, attention_mask=mask, **kwargs)
    model.set_attn_implementation("attnc")
    assert torch.equal(model.generate(ids, attention_mask=mask, **kwargs), want)


def test_no_dense_mask_for_what_the_kernel_computes():
    model, _ = build("gemma2")
    ids, mask = left_padded([torch.randint(3, VOCAB, (n,)) for n in (11, 6)])
    logits_with(model, "attnc", input_ids=ids, attention_mask=mask)
    specs = [s for s in attnc.transformers.compiled_variants().values()
             if s.get("constants", {}).get("attnc_softcap") == 4.0]  # Gemma 2's
    padded = [s for s in specs if s.get("buffers", {}).get("attnc_kv_valid")]
    assert padded, "the padded batch compiled no variant with a padding buffer"
    for spec in specs:
        assert "attnc_keep" not in spec.get("buffers", {}), spec
    windowed = [s for s in padded if "attnc_window" in s.get("constants", {})]
    assert windowed and all(s["constants"]["attnc_window"] == 6 for s in windowed)
    assert any("attnc_window" not in s.get("constants", {}) for s in padded)  # full layers


def test_registered_variant_is_the_models_attention_plus_its_mask():
    # A window of 5 declared as a user variant on Llama equals Mistral's sliding
    # window of 5 with the same weights, in prefill and in cached decoding.
    attnc.transformers.register("attnc_window5", {"constants": {"w": 5},
                                                  "mask_mod": "q_idx + q_start - kv_idx < w"})
    torch.manual_seed(7)
    llama_model = transformers.LlamaForCausalLM(transformers.LlamaConfig(**COMMON)).eval()
    mistral_model = transformers.MistralForCausalLM(
        transformers.MistralConfig(**COMMON, sliding_window=5)).eval()
    mistral_model.load_state_dict(llama_model.state_dict())
    ids = torch.randint(3, VOCAB, (2, 15))
    want = logits_with(mistral_model, "sdpa", input_ids=ids)
    got = logits_with(llama_model, "attnc_window5", input_ids=ids)
    assert rel_err(got, want) < 1e-5
    kwargs = dict(max_new_tokens=8, do_sample=False, min_new_tokens=8)
    mistral_model.set_attn_implementation("sdpa")
    assert torch.equal(llama_model.generate(ids, **kwargs), mistral_model.generate(ids, **kwargs))


def test_register_refuses_fields_that_come_from_the_model():
    with pytest.raises(ValueError, match="head_dim"):
        attnc.transformers.register("attnc_bad", {"head_dim": 64, "score_mod": "score"})


def sdpa(q, k, v, mask):
    groups = q.shape[1] // k.shape[1]
    return torch.nn.functional.scaled_dot_product_attention(
        q, k.repeat_interleave(groups, 1), v.repeat_interleave(groups, 1),
        attn_mask=mask).transpose(1, 2)


@pytest.mark.parametrize("kind", ["bool", "float", "bool-per-head"])
def test_four_dimensional_masks_from_the_caller(kind):
    q, k, v = torch.randn(2, 4, 13, 16), torch.randn(2, 2, 21, 16), torch.randn(2, 2, 21, 16)
    heads = 4 if kind == "bool-per-head" else 1
    keep = torch.rand(2, heads, 13, 21) < 0.7
    keep[..., 0] = True  # no empty row (sdpa gives NaN there, attnc 0)
    mask = keep if kind != "float" else torch.randn(2, 1, 13, 21).masked_fill(~keep, -torch.inf)
    got, _ = attnc.transformers.attention_forward(None, q, k, v, mask)
    assert rel_err(got, sdpa(q, k, v, mask)) < 1e-5


def test_dropout_is_refused():
    q = torch.randn(1, 2, 4, 16)
    with pytest.raises(attnc.CallError, match="dropout"):
        attnc.transformers.attention_forward(None, q, q, q, None, dropout=0.1)


@pytest.mark.parametrize("name", ["llama", "gemma2", "qwen2"])
def test_training_gradients_match(name):
    """loss.backward() through attn_implementation="attnc" (kernels compiled with
    their backward pass when gradients are needed) gives the parameters' gradients
    of the model's own attention; a left-padded batch included (padding buffers)."""
    model, reference = build(name)
    model.train()
    ids, mask = left_padded([torch.tensor([5, 9, 17, 23, 4, 8, 30, 11, 7]),
                             torch.tensor([12, 40, 6, 33, 21])])
    grads = {}
    for implementation in (reference, "attnc"):
        model.zero_grad()
        model.set_attn_implementation(implementation)
        logits = model(input_ids=ids, attention_mask=mask).logits
        loss = (logits.float().log_softmax(-1)[..., 3] * mask).sum()  # real tokens only
        loss.backward()
        grads[implementation] = {n: p.grad.clone() for n, p in model.named_parameters()
                                 if "self_attn" in n and p.grad is not None}
    assert grads["attnc"], "no attention parameter received a gradient"
    for n, want in grads[reference].items():
        assert rel_err(grads["attnc"][n], want) < 1e-4, n
