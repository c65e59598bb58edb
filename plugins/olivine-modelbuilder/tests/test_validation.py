"""Config errors ModelBuilder reports before any work, each naming its JSON path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from olivine import Accelerator, ConfigError, ConfigErrors, ValidationContext
from olivine_modelbuilder.model_builder import ModelBuilder

CPU, DML = "CPUExecutionProvider", "DmlExecutionProvider"


def _validate(config: dict, provider: str = CPU) -> None:
    instance = ModelBuilder(ModelBuilder.parse_config(config, "passes.builder"))
    instance.validate(ValidationContext(path="passes.builder", workflow_dir=Path("."),
                                        accelerator=Accelerator(execution_provider=provider)))


@pytest.mark.parametrize("config, provider, path, text", [
    ({"precision": "fp32"}, DML, "passes.builder.precision",
     "fp32 is not supported for dml by onnxruntime-genai's builder (dml takes fp16, int4)"),
    ({"precision": "bf16"}, CPU, "passes.builder.precision", "cpu takes fp32, int8, int4"),
    ({"precision": "fp16"}, CPU, "passes.builder.precision", "not supported for cpu"),
    ({"precision": "int8"}, DML, "passes.builder.precision", "not supported for dml"),
    ({"precision": "int4", "execution_provider": "dm"}, CPU, "passes.builder.execution_provider", "did you mean dml?"),
    ({"precision": "int4"}, "QNNExecutionProvider", "passes.builder.execution_provider", "cannot target QNN"),
    ({"precision": "fp32", "int4_block_size": 64}, CPU, "passes.builder.int4_block_size", "int4 and int8 builds"),
    ({"precision": "int8", "use_qdq": True}, CPU, "passes.builder.use_qdq", "int4 only"),
    ({"precision": "int4", "enable_cuda_graph": True}, CPU, "passes.builder.enable_cuda_graph",
     "applies to the cuda and NvTensorRtRtx target only, not cpu"),
    ({"precision": "fp16", "enable_cuda_graph": False}, "NvTensorRTRTXExecutionProvider",
     "passes.builder.enable_cuda_graph", "always enables CUDA graphs"),
    ({"precision": "int4", "use_webgpu_fp32": True}, DML, "passes.builder.use_webgpu_fp32", "webgpu target only"),
    ({"precision": "fp16", "use_cuda_bf16": True}, "CUDAExecutionProvider", "passes.builder.use_cuda_bf16",
     "applies to int4 builds, not fp16 (for bf16 weights set precision bf16)"),
    ({"precision": "fp32", "exclude_lm_head": True, "include_hidden_states": True}, CPU,
     "passes.builder.exclude_lm_head", "include_hidden_states"),
    ({"precision": "int4", "search": {"max_lenght": 10}}, CPU, "passes.builder.search.max_lenght",
     "did you mean max_length?"),
    ({"precision": "int4", "extra_options": {"block_sise": 64}}, CPU, "passes.builder.extra_options.block_sise",
     "did you mean block_size?"),
    ({"precision": "int4", "int4_block_size": 64, "extra_options": {"block_size": 128}}, CPU,
     "passes.builder.extra_options.block_size", "also set as int4_block_size"),
    ({"precision": "int4", "extra_options": {"adapter_path": "x"}}, CPU, "passes.builder.extra_options.adapter_path",
     "hf+adapter"),
    ({"precision": "int4", "extra_options": {"config_only": True}}, CPU, "passes.builder.extra_options.config_only",
     "metadata_only"),
    ({"precision": "fp32", "exclude_lm_head": True, "extra_options": {"include_hidden_states": True}}, CPU,
     "passes.builder.exclude_lm_head", "include_hidden_states"),
])
def test_config_error_before_any_work(config, provider, path, text):
    with pytest.raises(ConfigError) as raised:
        _validate(config, provider)
    assert raised.value.path == path and text in raised.value.line()


@pytest.mark.parametrize("config, path", [
    ({"precision": "int4", "int4_block_size": 48}, "passes.builder.int4_block_size"),
    ({"precision": "int4", "int4_block_size": 512}, "passes.builder.int4_block_size"),
    ({"precision": "int2"}, "passes.builder.precision"),
    ({"precision": "int4", "int4_accuracy_level": 7}, "passes.builder.int4_accuracy_level"),
    ({"precision": "int4", "int4_algo_config": "gptq"}, "passes.builder.int4_algo_config"),
    ({"precision": "int4", "int4_blok_size": 64}, "passes.builder.int4_blok_size"),
])
def test_invalid_values_are_config_errors(config, path):
    with pytest.raises((ConfigError, ConfigErrors)) as raised:
        ModelBuilder.parse_config(config, "passes.builder")
    assert path in str(raised.value)


def test_supported_combinations_validate():
    for provider, precision in [(CPU, "int4"), (CPU, "int8"), (CPU, "fp32"), (DML, "int4"), (DML, "fp16"),
                                ("CUDAExecutionProvider", "bf16"), ("WebGpuExecutionProvider", "int4"),
                                ("NvTensorRTRTXExecutionProvider", "fp16")]:
        _validate({"precision": precision}, provider)
    _validate({"precision": "int4", "int4_accuracy_level": "int8", "int4_block_size": 128})



@pytest.mark.parametrize("provider, extra", [(CPU, "cpu"), ("CUDAExecutionProvider", "cuda"), (DML, "directml")])
def test_without_onnxruntime_genai_the_error_names_the_extra_for_the_target(monkeypatch, provider, extra):
    """onnxruntime-genai comes from one of the package's extras; a None module entry hides the installed one."""
    monkeypatch.setitem(sys.modules, "onnxruntime_genai", None)
    with pytest.raises(ConfigError) as raised:
        _validate({"precision": "int4"}, provider)
    assert raised.value.path == "passes.builder.type"
    assert f"pip install 'olivine-modelbuilder[{extra}]'" in raised.value.line()

def test_workflow_with_dml_fp32_is_rejected_by_olivine_config_validate(tiny, tmp_path):
    """Through the installed entry point: the error comes before any model is touched."""
    workflow = {
        "input_model": {"type": "HfModel", "model_path": str(tiny)},
        "passes": {"builder": {"type": "ModelBuilder", "precision": "fp32", "execution_provider": "dml"}},
    }
    (tmp_path / "workflow.json").write_text(json.dumps(workflow))
    done = subprocess.run([sys.executable, "-m", "olivine", "config", "validate", str(tmp_path / "workflow.json")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "passes.builder.precision: fp32 is not supported for dml" in done.stderr


def test_an_architecture_the_builder_cannot_build_is_reported_before_any_work(tmp_path):
    from olivine import ModelRef

    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["GPT2LMHeadModel"]}))
    instance = ModelBuilder(ModelBuilder.parse_config({"precision": "int4"}, "passes.builder"))
    with pytest.raises(ConfigError, match="cannot build GPT2LMHeadModel models"):
        instance.validate(ValidationContext(path="passes.builder", workflow_dir=tmp_path,
                                            input_model=ModelRef(format="hf", path=tmp_path)))


def test_the_tiny_phi3_architecture_validates(tiny):
    from olivine import ModelRef

    instance = ModelBuilder(ModelBuilder.parse_config({"precision": "int4"}, "passes.builder"))
    instance.validate(ValidationContext(path="passes.builder", workflow_dir=tiny,
                                        input_model=ModelRef(format="hf", path=tiny)))


def test_validation_imports_nothing_heavy():
    code = ("import sys; from olivine_modelbuilder.model_builder import ModelBuilder as M; "
            "from olivine import ValidationContext as V, Accelerator as A; from pathlib import Path; "
            "M(M.parse_config({'precision': 'int4'}, 'p')).validate(V(path='p', workflow_dir=Path('.'), "
            "accelerator=A())); heavy = {'torch', 'transformers', 'onnx', 'onnxruntime', 'onnxruntime_genai', "
            "'peft'} & set(sys.modules); print(sorted(heavy)); sys.exit(1 if heavy else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
