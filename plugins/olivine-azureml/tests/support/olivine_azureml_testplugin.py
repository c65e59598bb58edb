"""A test plugin: cheap, deterministic passes and a metric, registered through OLIVINE_PLUGIN_MODULES.

They stand in for real passes so that the AzureML plumbing (inputs, outputs, data files, base models,
evaluations) is exercised in seconds with real model files.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from olivine import Evaluator, ModelRef, Pass, hookimpl


class ScaleWeights(Pass):
    """Multiply every float tensor of a Hugging Face model by a factor; report how many training rows it read."""

    name = "ScaleWeights"
    accepts = ("hf",)
    produces = "hf"

    class Config(Pass.Config):
        factor: float = 2.0
        train_data_config: str | None = None

    def run(self, model: ModelRef, ctx) -> ModelRef:
        from safetensors.numpy import load_file, save_file

        out = ctx.output_dir / "model"
        out.mkdir(parents=True)
        for file in Path(model.path).iterdir():
            if file.suffix == ".safetensors":
                tensors = {k: (v * self.config.factor).astype(v.dtype) for k, v in load_file(str(file)).items()}
                save_file(tensors, str(out / file.name), metadata={"format": "pt"})
            elif file.is_file():
                shutil.copyfile(file, out / file.name)
        if self.config.train_data_config:
            files = ctx.data_configs[self.config.train_data_config].load_dataset_config["data_files"]
            ctx.report["rows"] = sum(1 for _ in open(files))
        ctx.report["hf_token_seen"] = bool(os.environ.get("HF_TOKEN"))
        (ctx.output_dir / "scale.txt").write_text(f"factor {self.config.factor}\n")
        ctx.report["artifacts"] = {"scale.txt": "scale.txt"}
        return ModelRef(format="hf", path=out, metadata={"factor": self.config.factor})


class TagAdapter(Pass):
    """Write a tiny adapter folder beside the input model: an hf+adapter whose base is the input."""

    name = "TagAdapter"
    accepts = ("hf",)
    produces = "hf+adapter"

    class Config(Pass.Config):
        tag: str = "tone"

    def run(self, model: ModelRef, ctx) -> ModelRef:
        adapter = ctx.output_dir / "adapter"
        adapter.mkdir()
        (adapter / "adapter_config.json").write_text(json.dumps({"tag": self.config.tag}))
        return ModelRef(format="hf+adapter", path=adapter, base_model=model.path)


class FailingPass(Pass):
    """Always fails, with a message a user should see."""

    name = "FailingPass"

    def run(self, model: ModelRef, ctx) -> ModelRef:
        raise RuntimeError("the tone data has no 'phrase' column")


class WeightSum(Evaluator):
    """Sum of absolute values of a model's weights (a metric that changes when the weights do)."""

    name = "WeightSum"
    accepts = ("hf",)
    sub_types = ("abs_sum",)

    def evaluate(self, model: ModelRef, ctx) -> dict[str, float]:
        from safetensors.numpy import load_file

        total = sum(float(abs(v).sum()) for f in Path(model.path).glob("*.safetensors")
                    for v in load_file(str(f)).values())
        return {"abs_sum": round(total, 3)}


@hookimpl
def register_passes(register):
    register(ScaleWeights)
    register(TagAdapter)
    register(FailingPass)


@hookimpl
def register_evaluators(register):
    register(WeightSum)
