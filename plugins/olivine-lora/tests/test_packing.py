"""Packing: short samples share one row, long ones keep their own, and a model that lets packed samples
see each other trains on padded rows instead."""

from __future__ import annotations

import logging

import pytest
import torch
from olivine_lora import loading, packing_check, precision
from olivine_lora.batching import IGNORE, Sample, attention_cost, collate
from olivine_lora.passes import LoRA

LEAKY = "olivine_test_leaky"


def sample(n: int) -> Sample:
    ids = [(7 * i) % 1000 + 3 for i in range(n)]
    return Sample(ids, ids[1:] + [IGNORE])


def test_short_samples_share_one_row_without_padding():
    samples = [sample(n) for n in (30, 41, 25, 36)]
    batch = collate(samples, 0, attention=2.0 / (4 * 3072 + 3 * 8192))  # Phi-3-mini's widths
    assert batch.input_ids.shape == (1, 132)
    assert batch.attention_mask is None and batch.tokens == 132
    # longest first; each sample's positions restart at 0, so each attends only to itself
    assert batch.position_ids[0].tolist() == [*range(41), *range(36), *range(30), *range(25)]


def test_long_samples_keep_their_own_rows_when_attention_would_cost_more_than_padding():
    samples = [sample(n) for n in (2000, 1900, 1950, 2048)]
    batch = collate(samples, 0, attention=2.0 / (4 * 3072 + 3 * 8192))
    assert batch.input_ids.shape[0] == 4  # one 7898-token row: attention's square outweighs the padding saved


def test_packing_off_pads_every_sample_on_the_right_without_a_mask():
    batch = collate([sample(n) for n in (10, 20)], 0, pack=False)
    assert batch.input_ids.shape == (2, 20) and batch.attention_mask is None and batch.position_ids is None
    assert batch.input_ids[0, 10:].tolist() == [0] * 10 and batch.targets[0, 10:].tolist() == [IGNORE] * 10


def test_unmasked_right_padding_gives_the_loss_of_a_padding_mask(tiny_model):
    from dataclasses import replace

    from olivine_lora.loss import loss_sum

    model = _loaded(tiny_model, {}).model.eval()
    samples = [sample(n) for n in (9, 23, 14)]
    batch = collate(samples, 0, pack=False)
    mask = (torch.arange(23) < torch.tensor([[9], [23], [14]])).long()
    with torch.no_grad():
        torch.testing.assert_close(loss_sum(model, batch, None),
                                   loss_sum(model, replace(batch, attention_mask=mask), None), rtol=1e-6, atol=1e-5)


def test_attention_cost_follows_the_widths():
    class Config:
        hidden_size, intermediate_size = 128, 256

    assert attention_cost(Config()) == pytest.approx(2 / (4 * 128 + 3 * 256))


def _leaky_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """Attention written without the mask transformers builds: every position sees the whole row before it."""
    out = torch.nn.functional.scaled_dot_product_attention(
        query, key.repeat_interleave(query.shape[1] // key.shape[1], 1),
        value.repeat_interleave(query.shape[1] // value.shape[1], 1), is_causal=True, scale=scaling)
    return out.transpose(1, 2).contiguous(), None


@pytest.fixture(scope="module")
def leaky_registered():
    from transformers import AttentionInterface, AttentionMaskInterface
    from transformers.masking_utils import sdpa_mask

    AttentionInterface.register(LEAKY, _leaky_attention)
    AttentionMaskInterface.register(LEAKY, sdpa_mask)
    return LEAKY


def _loaded(tiny_model, load_kwargs):
    config = LoRA.parse_config({"train_data_config": "tone_train", "r": 4}, "passes.lora")
    return loading.load(config, tiny_model, load_kwargs, "cpu", precision.resolve("float32", "cpu", False, False, []),
                        quantized=False, checkpointing=False, path="passes.lora")


def test_the_probe_tells_a_model_that_keeps_samples_apart_from_one_that_does_not(tiny_model, leaky_registered):
    samples = [sample(20), sample(15)]
    sound = _loaded(tiny_model, {}).model
    leaky = _loaded(tiny_model, {"attn_implementation": leaky_registered}).model
    assert packing_check.keeps_samples_apart(sound, samples, 0, "cpu", None, torch.float32, False)
    assert not packing_check.keeps_samples_apart(leaky, samples, 0, "cpu", None, torch.float32, False)


def test_a_leaky_model_trains_on_padded_rows_with_a_note(tiny_model, leaky_registered, kit, tmp_path):
    from olivine import DataConfig, ModelRef, PassContext
    from olivine_lora.run import train_adapter

    config = LoRA.parse_config({"train_data_config": "tone_train", "r": 4, "training_args": {
        "max_steps": 2, "per_device_train_batch_size": 2, "gradient_accumulation_steps": 2}}, "passes.lora")
    notes: list[str] = []
    ctx = PassContext(output_dir=tmp_path, workflow_dir=tmp_path, show_progress=False,
                      data_configs={"tone_train": DataConfig.model_validate(kit.tone_data_config())},
                      logger=logging.getLogger("olivine.pass.lora"))
    ctx.note = notes.append  # type: ignore[method-assign]
    model = ModelRef(format="hf", path=tiny_model, metadata={"load_kwargs": {"attn_implementation": LEAKY}})
    ref, _ = train_adapter(config, model, ctx, quantized=False)
    assert (ref.path / "adapter_model.safetensors").is_file()
    assert any("attend to each other" in line and "padded rows" in line for line in notes), notes


def test_sdpa_models_get_the_mask_transformers_would_build_and_the_same_loss(tiny_model):
    from dataclasses import replace

    from olivine_lora.batching import block_mask_width
    from olivine_lora.loss import loss_sum
    from transformers.masking_utils import create_causal_mask

    model = _loaded(tiny_model, {}).model.eval()
    config = model.get_base_model().config
    width = block_mask_width(config)
    assert width > 0  # the tiny Phi-3 loads with SDPA attention
    batch = collate([sample(n) for n in (30, 41, 25, 36)], 0, block_mask=width)
    assert batch.input_ids.shape == (1, 132) and batch.attention_mask is not None
    embeds = torch.zeros(1, 132, config.hidden_size)
    built = create_causal_mask(config, embeds, None, None, position_ids=batch.position_ids)  # no cache
    assert torch.equal(batch.attention_mask, built)
    with torch.no_grad():
        unmasked = loss_sum(model, replace(batch, attention_mask=None), None)  # transformers builds the mask
        torch.testing.assert_close(loss_sum(model, batch, None), unmasked)


def test_the_mask_is_built_only_where_transformers_would_build_the_same():
    from types import SimpleNamespace

    from olivine_lora.batching import block_mask_width

    def config(**fields):
        return SimpleNamespace(**{"_attn_implementation": "sdpa", **fields})

    assert block_mask_width(config()) > 1 << 20
    assert block_mask_width(config(_attn_implementation="eager")) == 0  # eager adds a float mask
    assert block_mask_width(config(sliding_window=64)) == 64
    assert block_mask_width(config(layer_types=["full_attention", "sliding_attention"])) > 0
    assert block_mask_width(config(layer_types=["full_attention", "linear_attention"])) == 0
    assert block_mask_width(config(attention_chunk_size=8192)) == 0
    batch = collate([sample(n) for n in (30, 41)], 0, block_mask=64)
    assert batch.input_ids.shape == (1, 71) and batch.attention_mask is None  # wider than the window


def _granite_hybrid(layer_types: list[str]):
    from transformers import GraniteMoeHybridConfig, GraniteMoeHybridForCausalLM

    config = GraniteMoeHybridConfig(
        hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
        vocab_size=1024, layer_types=layer_types, num_local_experts=0, shared_intermediate_size=128,
        mamba_n_heads=8, mamba_d_head=16, mamba_expand=2, mamba_n_groups=1, mamba_d_state=16,
        attn_implementation="sdpa")
    torch.manual_seed(0)
    return GraniteMoeHybridForCausalLM(config).eval()


def test_the_built_mask_lets_an_all_attention_granite_hybrid_pack_and_mamba_layers_still_pad(monkeypatch):
    """Granite-MoE-Hybrid's model code builds its causal mask without the position ids, so with no mask
    packed samples see each other; the mask built with the batch keeps them apart. Mamba layers carry
    state across the row whatever the mask, so no mask is built for them and the probe says pad."""
    samples = [sample(20), sample(15)]
    attention_only = _granite_hybrid(["attention", "attention"])
    assert packing_check.keeps_samples_apart(attention_only, samples, 0, "cpu", None, torch.float32, False)
    with_mamba = _granite_hybrid(["mamba", "attention"])
    assert not packing_check.keeps_samples_apart(with_mamba, samples, 0, "cpu", None, torch.float32, False)
    monkeypatch.setattr(packing_check, "block_mask_width", lambda config: 0)  # transformers builds the mask
    assert not packing_check.keeps_samples_apart(attention_only, samples, 0, "cpu", None, torch.float32, False)
