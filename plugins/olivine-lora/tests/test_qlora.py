"""QLoRA on CPU: 4-bit base weights, every LoRA parameter learns, the quantization is recorded."""

from __future__ import annotations

import pytest
import torch
from olivine import DataConfig
from olivine_lora import bnb_guard, loading, precision
from olivine_lora.batching import collate, to_samples
from olivine_lora.loss import loss_sum
from olivine_lora.passes import QLoRA

pytest.importorskip("bitsandbytes")


def tone_samples(kit, tokenizer, count=8):
    from olivine import training_examples

    examples, _ = training_examples(DataConfig.model_validate(kit.tone_data_config()), tokenizer)
    return to_samples(examples[:count])


def load_4bit(tiny_model, guard: bool):
    config = QLoRA.parse_config({"train_data_config": "tone_train", "r": 8, "alpha": 16, "lora_dropout": 0.0,
                                 "double_quant": True}, "passes.qlora")
    prec = precision.resolve("float32", "cpu", False, False, [])
    torch.manual_seed(0)
    loaded = loading.load(config, tiny_model, {}, "cpu", prec, quantized=True, checkpointing=False,
                          path="passes.qlora")
    if not guard:  # undo the guard's switch to show what it protects against
        for module in loaded.model.modules():
            if hasattr(module, "support_avx512bf16_for_cpu") and bnb_guard._is_linear4bit(module):
                module.support_avx512bf16_for_cpu = bnb_guard.has_avx512bf16()
    return loaded


def lora_grads_after_eval_forward(loaded, samples) -> dict[str, float]:
    """An eval-mode forward first (what triggers bitsandbytes' repack), then two training steps."""
    model = loaded.model
    batch = collate(samples, 0)
    model.eval()
    with torch.no_grad():
        loss_sum(model, batch, None)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-2)
    for _ in range(2):  # after one update lora_B is non-zero, so lora_A gets gradient too
        optimizer.zero_grad()
        loss_sum(model, batch, None).backward()
        optimizer.step()
    return {name: float(p.grad.abs().max()) for name, p in model.named_parameters() if p.requires_grad}


def test_base_weights_are_4bit_and_every_lora_parameter_gets_gradient(tiny_model, kit):
    loaded = load_4bit(tiny_model, guard=True)
    qkv = loaded.model.get_base_model().model.layers[0].self_attn.qkv_proj.base_layer
    assert type(qkv.weight).__name__ == "Params4bit"
    grads = lora_grads_after_eval_forward(loaded, tone_samples(kit, loaded.tokenizer))
    assert len(grads) == 2 * 2 * 4  # lora_A and lora_B, 4 targets, 2 layers
    assert [name for name, value in grads.items() if value == 0.0] == []
    assert bnb_guard.repacked(loaded.model) == []


def test_without_the_guard_an_eval_forward_zeroes_some_lora_gradients(tiny_model, kit):
    """The failure the guard exists for (bitsandbytes repacks 4-bit weights on AVX512-BF16 CPUs)."""
    if not bnb_guard.has_avx512bf16():
        pytest.skip("this CPU has no AVX512-BF16, so bitsandbytes never repacks")
    loaded = load_4bit(tiny_model, guard=False)
    grads = lora_grads_after_eval_forward(loaded, tone_samples(kit, loaded.tokenizer))
    assert bnb_guard.repacked(loaded.model)
    assert [name for name, value in grads.items() if value == 0.0]


def test_qlora_pass_trains_and_records_the_quantized_base(tmp_path, tiny_model, kit):
    torch.set_num_threads(1)
    ref, model, report = kit.train_briefly(QLoRA, tmp_path, tiny_model, double_quant=True)
    assert ref.metadata["quantization"] == {"method": "bitsandbytes", "bits": 4, "quant_type": "nf4",
                                            "double_quant": True, "compute_dtype": "float32", "blocksize": 64}
    assert (ref.path / "quantization.json").is_file()
    eval_loss = [p["loss"] for p in report["eval_loss"]]
    assert [p["step"] for p in report["eval_loss"]] == [0, 20, 40]
    assert eval_loss[-1] < eval_loss[0]
    assert bnb_guard.repacked(model) == []
