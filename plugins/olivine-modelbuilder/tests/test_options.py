"""Every ModelBuilder option reaches the produced model: one build of the tiny Phi-3 per row, one check each.

onnxruntime-genai 0.18 ignores keys it does not know, so an option mapped to the wrong builder name
(Olive's ``int4_block_size`` instead of the builder's ``block_size``) would build a default model
without a word; each row below would then fail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import onnx
import pytest
from olivine_modelbuilder.options import OPTION_MAP


@dataclass
class Built:
    folder: Path
    graph: onnx.GraphProto | None
    genai: dict

    @classmethod
    def read(cls, folder: Path) -> Built:
        genai = json.loads((folder / "genai_config.json").read_text())
        model_file = folder / genai["model"]["decoder"]["filename"]
        graph = onnx.load(str(model_file), load_external_data=False).graph if model_file.is_file() else None
        return cls(folder, graph, genai)

    def ops(self, op_type: str) -> list[onnx.NodeProto]:
        return [node for node in self.graph.node if node.op_type == op_type]

    def attribute(self, op_type: str, name: str) -> set:
        return {onnx.helper.get_attribute_value(a) for n in self.ops(op_type) for a in n.attribute if a.name == name}

    @property
    def inputs(self) -> set[str]:
        return {i.name for i in self.graph.input}

    @property
    def outputs(self) -> set[str]:
        return {o.name for o in self.graph.output}

    @property
    def initializers(self) -> set[str]:
        return {i.name for i in self.graph.initializer}

    def output_type(self, name: str) -> int:
        return next(o.type.tensor_type.elem_type for o in self.graph.output if o.name == name)

    @property
    def provider_options(self) -> list[dict]:
        return self.genai["model"]["decoder"]["session_options"]["provider_options"]


CUDA, WEBGPU = "CUDAExecutionProvider", "WebGpuExecutionProvider"
FLOAT, BFLOAT16 = onnx.TensorProto.FLOAT, onnx.TensorProto.BFLOAT16
# (option, config, execution provider, what the output shows); the first column ties each row to a mapping.
CASES = [
    ("int4_block_size", {"precision": "int4", "int4_block_size": 64}, None,
     lambda b: b.attribute("MatMulNBits", "block_size") == {64}),
    ("int4_accuracy_level", {"precision": "int4", "int4_accuracy_level": 1}, None,
     lambda b: b.attribute("MatMulNBits", "accuracy_level") == {1}),
    ("int4_is_symmetric", {"precision": "int4", "int4_is_symmetric": False}, None,
     lambda b: {len(n.input) for n in b.ops("MatMulNBits")} == {4}),  # zero points as a 4th input
    ("int4_op_types_to_quantize", {"precision": "int4", "int4_op_types_to_quantize": ["MatMul", "Gather"]}, None,
     lambda b: len(b.ops("GatherBlockQuantized")) == 1),
    ("int4_nodes_to_exclude", {"precision": "int4", "int4_nodes_to_exclude": ["/lm_head/MatMul"]}, None,
     lambda b: [n.name for n in b.ops("MatMul")] == ["/lm_head/MatMul"]),
    ("int4_algo_config", {"precision": "int4", "int4_algo_config": "rtn"}, None,
     lambda b: "lm_head.MatMul.weight_Q4G32" in _all_tensor_names(b)),
    ("exclude_embeds", {"precision": "fp32", "exclude_embeds": True}, None,
     lambda b: "inputs_embeds" in b.inputs and "input_ids" not in b.inputs),
    ("exclude_lm_head", {"precision": "fp32", "exclude_lm_head": True}, None,
     lambda b: "hidden_states" in b.outputs and "logits" not in b.outputs),
    ("enable_cuda_graph", {"precision": "int4", "enable_cuda_graph": True}, CUDA,
     lambda b: b.provider_options == [{"cuda": {"enable_cuda_graph": "1"}}]),
    ("use_qdq", {"precision": "int4", "use_qdq": True}, None,
     lambda b: not b.ops("MatMulNBits") and len(b.ops("DequantizeLinear")) >= 11),
    ("search", {"precision": "fp32", "search": {"max_length": 64, "do_sample": True, "top_k": 5}}, None,
     lambda b: {k: b.genai["search"][k] for k in ("max_length", "do_sample", "top_k")}
     == {"max_length": 64, "do_sample": True, "top_k": 5}),
    ("include_hidden_states", {"precision": "fp32", "include_hidden_states": True}, None,
     lambda b: {"logits", "hidden_states"} <= b.outputs),
    ("use_webgpu_fp32", {"precision": "int4", "use_webgpu_fp32": True}, WEBGPU,
     lambda b: b.output_type("logits") == FLOAT),
    ("use_cuda_bf16", {"precision": "int4", "use_cuda_bf16": True}, CUDA,
     lambda b: b.output_type("present.0.key") == BFLOAT16),  # logits stay float32
    ("use_8bits_moe", None, None, None),  # only MoE models have expert weights: see test_use_8bits_moe_*
    ("metadata_only", None, None, None),  # needs an ONNX input: see test_metadata_only_*
    ("extra_options", {"precision": "fp32", "extra_options": {"filename": "decoder.onnx"}}, None,
     lambda b: (b.folder / "decoder.onnx").is_file() and b.genai["model"]["decoder"]["filename"] == "decoder.onnx"),
    ("extra_options", {"precision": "int4", "extra_options": {"int4_block_size": 128}}, None,
     lambda b: b.attribute("MatMulNBits", "block_size") == {128}),  # Olive's name inside extra_options
]


def _all_tensor_names(built: Built) -> set[str]:
    return built.initializers | {i for n in built.graph.node for i in n.input}


def test_every_mapped_option_has_a_case():
    assert set(OPTION_MAP) | {"search", "extra_options"} == {case[0] for case in CASES}


@pytest.mark.parametrize("option, config, provider, check", [c for c in CASES if c[1] is not None],
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES) if c[1] is not None])
def test_option_reaches_the_output(option, config, provider, check, tiny, build_once):
    ref, _ = build_once(tiny, config, provider or "CPUExecutionProvider")
    assert check(Built.read(ref.path))


def test_defaults_differ_from_every_case(tiny, build_once):
    """The checks above fail on a default build for the same target, so none can pass by accident."""
    for option, config, provider, check in CASES:
        if config is not None:
            default, _ = build_once(tiny, {"precision": config["precision"]}, provider or "CPUExecutionProvider")
            assert not check(Built.read(default.path)), option


def test_use_8bits_moe_becomes_the_builders_moe_quant_type():
    from olivine_modelbuilder.options import builder_options

    assert builder_options({"use_8bits_moe": True}, {})["moe_quant_type"] == "int8"
    assert "moe_quant_type" not in builder_options({"use_8bits_moe": False}, {})


@pytest.mark.parametrize("block_size", [16, 32, 64, 128, 256])
def test_each_block_size_reaches_the_matmulnbits_nodes(block_size, tiny, build_once):
    ref, ctx = build_once(tiny, {"precision": "int4", "int4_block_size": block_size})
    assert Built.read(ref.path).attribute("MatMulNBits", "block_size") == {block_size}
    assert ctx.report["block_size"] == block_size == ref.metadata["block_size"]


def test_dml_target_built_on_linux_has_dml_provider_options(tiny, build_once):
    ref, _ = build_once(tiny, {"precision": "int4"}, "DmlExecutionProvider")
    built = Built.read(ref.path)
    assert built.provider_options == [{"dml": {"enable_graph_capture": "1"}}]
    assert built.attribute("MatMulNBits", "block_size") == {32}
    assert ref.metadata["execution_provider"] == "dml"


def test_explicit_execution_provider_overrides_the_accelerator(tiny, build_once):
    ref, _ = build_once(tiny, {"precision": "fp16", "execution_provider": "cuda"}, "CPUExecutionProvider")
    assert Built.read(ref.path).provider_options == [{"cuda": {"enable_cuda_graph": "0"}}]


def test_metadata_only_writes_genai_config_beside_an_existing_onnx_model(tiny, build_once, tmp_path):
    import shutil

    import onnxruntime_genai as og
    from olivine import ModelRef

    full, _ = build_once(tiny, {"precision": "fp32"})
    onnx_only = tmp_path / "onnx"
    onnx_only.mkdir()
    for name in ("model.onnx", "model.onnx.data"):
        shutil.copy(full.path / name, onnx_only / name)

    ref, _ = build_once(onnx_only / "model.onnx", {"precision": "fp32", "metadata_only": True}, fmt="onnx",
                        base=tiny)
    assert {"model.onnx", "model.onnx.data", "genai_config.json", "tokenizer.json"} <= {p.name for p in
                                                                                     ref.path.iterdir()}
    assert ModelRef.model_validate(ref.model_dump()).format == "onnx-genai"
    model = og.Model(str(ref.path))
    generator = og.Generator(model, og.GeneratorParams(model))
    generator.append_tokens([3, 204])
    generator.generate_next_token()


def test_metadata_only_reads_an_onnx_folder_that_holds_its_hugging_face_files(tiny, build_once, tmp_path):
    """Olive's ONNX outputs keep config.json and the tokenizer beside the model: no base_model needed."""
    import shutil

    full, _ = build_once(tiny, {"precision": "fp32"})
    folder = tmp_path / "olive-style"
    folder.mkdir()
    for source, name in [(full.path, "model.onnx"), (full.path, "model.onnx.data"), (tiny, "config.json"),
                         (tiny, "generation_config.json"), (tiny, "tokenizer.json"), (tiny, "tokenizer_config.json")]:
        shutil.copy(source / name, folder / name)

    ref, _ = build_once(folder, {"precision": "fp32", "metadata_only": True}, fmt="onnx")
    assert Built.read(ref.path).genai["model"]["decoder"]["filename"] == "model.onnx"
