"""The LoRA and QLoRA passes: config checks here, training in ``olivine_lora.run`` (imported when run)."""

from __future__ import annotations

import importlib.util
from typing import ClassVar

from olivine import ConfigError, ConfigErrors, ModelRef, Pass, PassContext, ValidationContext, did_you_mean

from olivine_lora import architectures
from olivine_lora.config import LoRAConfig, QLoRAConfig
from olivine_lora.training_args import normalize


class LoRA(Pass[LoRAConfig]):
    """Fine-tune a LoRA adapter on a Hugging Face model (output: the base plus a PEFT adapter)."""

    name = "LoRA"
    accepts = ("hf",)
    produces = "hf+adapter"
    # Declared as LoRAConfig's family so QLoRA can set its subclass.
    Config: ClassVar[type[LoRAConfig]] = LoRAConfig

    def validate(self, ctx: ValidationContext) -> None:
        errors = self.config_errors(ctx)
        if errors:
            raise ConfigErrors(errors)

    def config_errors(self, ctx: ValidationContext) -> list[ConfigError]:
        cfg = self.config
        errors = []
        for key in ("train_data_config", "eval_data_config"):
            name = getattr(cfg, key)
            if name is not None and name not in ctx.data_config_names:
                defined = ", ".join(ctx.data_config_names) or "none"
                errors.append(ConfigError(f"{ctx.path}.{key}", f"no data config named {name!r}",
                                          did_you_mean(name, ctx.data_config_names) or f"data configs: {defined}"))
        if cfg.training_args.wants_tensorboard() and importlib.util.find_spec("tensorboard") is None:
            errors.append(ConfigError(f"{ctx.path}.training_args.report_to", "tensorboard is not installed",
                                      "pip install 'olivine-lora[tensorboard]'"))
        if ctx.input_model is not None and ctx.input_model.format == "hf":
            kind = architectures.model_type(ctx.input_model.path)
            errors.extend(target_name_errors(cfg.target_modules, kind, ctx.path))
        return errors

    def config_notes(self) -> list[tuple[str, str]]:
        """For ``olivine config validate``: old names mapped, and settings accepted that change nothing."""
        args = self.config.training_args
        notes = [("", note) for note in getattr(self.config, "notes", list)()]
        notes += [("", note) for note in args.notes()]
        notes += [(f"training_args.{name}", "has no effect in olivine's training loop")
                  for name in args.inert_fields()]
        return notes

    def cache_config(self) -> dict:
        """training_args by current names: renaming evaluation_strategy to eval_strategy keeps the cached adapter."""
        config = self.config.model_dump(mode="json")
        config["training_args"] = normalize(config["training_args"])[0]
        return config

    def run(self, model: ModelRef, ctx: PassContext) -> ModelRef:
        from olivine_lora.run import run_lora

        return run_lora(self.config, model, ctx, quantized=False)


class QLoRA(LoRA):
    """Fine-tune a LoRA adapter over a 4-bit (bitsandbytes NF4/FP4) copy of a Hugging Face model."""

    name = "QLoRA"
    Config = QLoRAConfig

    def config_errors(self, ctx: ValidationContext) -> list[ConfigError]:
        errors = super().config_errors(ctx)
        if importlib.util.find_spec("bitsandbytes") is None:
            errors.append(ConfigError(f"{ctx.path}.type", "QLoRA needs bitsandbytes, which is not installed",
                                      "pip install 'olivine-lora[qlora]'"))
        return errors

    def run(self, model: ModelRef, ctx: PassContext) -> ModelRef:
        from olivine_lora.run import run_lora

        return run_lora(self.config, model, ctx, quantized=True)


def target_name_errors(targets: list[str] | str | None, kind: str | None, path: str) -> list[ConfigError]:
    """Before any loading: each target that names no linear layer of a known architecture."""
    known = architectures.linear_layer_names(kind)
    if known is None or not isinstance(targets, list):
        return []
    return [ConfigError(f"{path}.target_modules[{i}]", f"{name!r} is not a layer of {kind} models LoRA can adapt",
                        did_you_mean(name, known) or f"{kind} layers: {', '.join(known)}")
            for i, name in enumerate(targets) if name.rsplit(".", 1)[-1] not in known]
