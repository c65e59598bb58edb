"""ModelBuilder on an hf+adapter model: the builder's adapter_path route builds the LoRA into the graph."""

from __future__ import annotations

import numpy as np
import onnx
import pytest


def test_adapter_route_answers_like_the_merged_model(fine_tuned, adapter, merged, build_once, torch_answers,
                                                     onnx_answers):
    ref, ctx = build_once(adapter, {"precision": "fp32"}, fmt="hf+adapter", base=fine_tuned)
    graph = onnx.load(str(ref.path / "model.onnx"), load_external_data=False).graph
    lora_nodes = [n.name for n in graph.node if "lora_B" in n.name]
    # The builder unpacks qkv_proj and gate_up_proj: q, k, v, o, gate, up and down in both layers.
    assert len(lora_nodes) == 2 * 7

    expected, got = torch_answers(merged), onnx_answers(ref.path)
    assert np.abs(got - expected).max() <= 1e-4 * np.abs(expected).max()  # measured 5e-6 absolute
    assert "adapter_path" not in ctx.report["builder_options"]  # a local path is not part of the report


def test_adapter_model_needs_its_base_folder(adapter, run_pass):
    from olivine import ConfigError, ModelRef
    from olivine_modelbuilder.model_builder import ModelBuilder

    with pytest.raises(ConfigError, match="base folder"):
        run_pass(ModelBuilder, {"precision": "fp32"}, ModelRef(format="hf+adapter", path=adapter))
