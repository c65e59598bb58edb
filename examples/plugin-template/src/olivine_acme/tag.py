"""The AcmeTag pass. Heavy libraries (torch, transformers, ...) would be imported inside ``run``."""

from __future__ import annotations

import shutil

from olivine import ModelRef, Pass, PassContext, StrictConfig


class AcmeTag(Pass["AcmeTag.Config"]):
    """Copy a Hugging Face model folder and write a vendor tag file into it."""

    name = "AcmeTag"
    accepts = ("hf",)
    produces = "hf"

    class Config(StrictConfig):
        tag: str = "acme"

    def run(self, model: ModelRef, ctx: PassContext) -> ModelRef:
        out = ctx.output_dir / "model"
        shutil.copytree(model.path, out)
        (out / "ACME_TAG").write_text(self.config.tag)
        return ModelRef(format="hf", path=out)
