"""Cheap, observable passes for core engine tests (registered via OLIVINE_PLUGIN_MODULES)."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from olivine import ConfigError, ModelRef, Pass, PassContext, StrictConfig, hookimpl


def _log_run(label: str) -> None:
    log = os.environ.get("OLIVINE_TEST_RUN_LOG")
    if log:
        with open(log, "a") as handle:
            handle.write(f"{label} {os.getpid()}\n")


class Touch(Pass):
    """Copy a model folder and append the pass label to its TOUCHED file."""

    name = "Touch"
    accepts = ("hf",)
    produces = "hf"

    class Config(StrictConfig):
        label: str = "t"
        sleep: float = 0.0
        fail: bool = False

    def run(self, model: ModelRef, ctx: PassContext) -> ModelRef:
        _log_run(self.config.label)
        if self.config.fail:
            raise ConfigError(f"{ctx.path}.fail", "asked to fail while running")
        out = ctx.output_dir / "model"
        shutil.copytree(model.path, out)
        with open(out / "TOUCHED", "a") as handle:
            handle.write(self.config.label + "\n")
        time.sleep(self.config.sleep)
        ctx.note(f"touched by {self.config.label}")
        return ModelRef(format="hf", path=out)


class ToAdapter(Pass):
    """Write an adapter folder that points at the input model as its base."""

    name = "ToAdapter"
    accepts = ("hf",)
    produces = "hf+adapter"

    def run(self, model: ModelRef, ctx: PassContext) -> ModelRef:
        out = ctx.output_dir / "adapter"
        out.mkdir()
        (out / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(model.path)}))
        return ModelRef(format="hf+adapter", path=out, base_model=Path(model.path))


class Explode(Pass):
    """Fail while running."""

    name = "Explode"
    accepts = ("hf", "hf+adapter")

    def run(self, model: ModelRef, ctx: PassContext) -> ModelRef:
        (ctx.output_dir / "partial").write_text("half done")
        raise RuntimeError("boom")


@hookimpl
def register_passes(register):
    for cls in (Touch, ToAdapter, Explode):
        register(cls)
