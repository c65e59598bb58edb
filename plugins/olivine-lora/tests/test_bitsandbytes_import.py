"""Plain LoRA leaves bitsandbytes unimported (44 MB and a second per process); QLoRA after it still works.

Each check runs in a fresh interpreter: this test process may have imported bitsandbytes already.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("bitsandbytes")

LORA_THEN_QLORA = textwrap.dedent("""
    import sys
    import torch
    from olivine_lora import loading, precision
    from olivine_lora.passes import LoRA, QLoRA

    model_path = sys.argv[1]
    prec = precision.resolve("float32", "cpu", False, False, [])

    def load(cls, quantized):
        config = cls.parse_config({"train_data_config": "t", "r": 4, "alpha": 8}, "passes.p")
        return loading.load(config, model_path, {}, "cpu", prec, quantized=quantized, checkpointing=False,
                            path="passes.p").model

    lora = load(LoRA, quantized=False)
    print("after LoRA:", sys.modules.get("bitsandbytes") is not None)

    qlora = load(QLoRA, quantized=True)
    layers = {type(m).__module__ + "." + type(m).__name__ for m in qlora.modules()}
    print("peft 4-bit LoRA layer:", "peft.tuners.lora.bnb.Linear4bit" in layers)
    ids = torch.tensor([[1, 2, 3, 4]])
    qlora(input_ids=ids, labels=ids).loss.backward()
    grads = [p.grad for n, p in qlora.named_parameters() if "lora_" in n]
    print("every LoRA parameter has a gradient:", all(g is not None for g in grads) and len(grads) > 0)
""")


def test_lora_does_not_import_bitsandbytes_and_a_later_qlora_still_finds_it(tiny_model):
    result = subprocess.run([sys.executable, "-c", LORA_THEN_QLORA, str(tiny_model)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "after LoRA: False" in result.stdout
    assert "peft 4-bit LoRA layer: True" in result.stdout
    assert "every LoRA parameter has a gradient: True" in result.stdout


GATE = textwrap.dedent("""
    import importlib.util, sys
    from olivine_runtimes import without_bitsandbytes

    with without_bitsandbytes():
        import peft
        from peft.import_utils import is_bnb_available
        print("inside:", is_bnb_available(), sys.modules.get("bitsandbytes") is not None)
    print("after:", is_bnb_available(), importlib.util.find_spec("bitsandbytes") is not None)
    import bitsandbytes
    with without_bitsandbytes():  # imported already: nothing is hidden
        print("once imported:", is_bnb_available(), sys.modules["bitsandbytes"] is bitsandbytes)
""")


def test_the_gate_hides_bitsandbytes_only_inside_and_only_until_it_is_imported():
    result = subprocess.run([sys.executable, "-c", GATE], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "inside: False False" in result.stdout
    assert "after: True True" in result.stdout
    assert "once imported: True True" in result.stdout
