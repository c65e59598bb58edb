"""The LoRA and QLoRA passes: config checks here, training in ``olivine_lora.run`` (imported when run)."""

from __future__ import annotations

import importlib.util
from typing import ClassVar

from olivine import ConfigError, ConfigErrors, ModelRef, Pass, PassContext, ValidationContext, did_you_mean

from olivine_lora import architectures, base_config, distributed
from olivine_lora.config import LoRAConfig, QLoRAConfig
from olivine_lora.named_checkpoint import named
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
        try:  # the folder a resumed run continues from exists and holds a checkpoint (verified when loaded)
            named(cfg.training_args.resume_from_checkpoint, ctx.resolve_path,
                  f"{ctx.path}.training_args.resume_from_checkpoint")
        except ConfigError as exc:
            errors.append(exc)
        errors.extend(distributed.config_errors(cfg, ctx.path, isinstance(cfg, QLoRAConfig)))
        if ctx.input_model is not None and ctx.input_model.format == "hf":
            kind = architectures.model_type(ctx.input_model.path)
            errors.extend(target_name_errors(cfg.target_modules, kind, ctx.path))
            errors.extend(self._base_model_errors(ctx))
        return errors

    def _base_model_errors(self, ctx: ValidationContext) -> list[ConfigError]:
        """What the base model's config.json rules out: not a causal LM, sequences longer than its context."""
        assert ctx.input_model is not None
        config = base_config.read(ctx.input_model.path)
        if config is None:
            return []
        errors = []
        problem = base_config.not_causal_lm(config)
        if problem is not None:
            errors.append(ConfigError("input_model.model_path", f"{self.name} ({ctx.path}) fine-tunes causal "
                                      f"language models; {problem}",
                                      "use a decoder-only checkpoint whose architectures end in ForCausalLM"))
        context = base_config.context_length(config)
        if context is not None:
            errors.extend(sequence_length_errors(self.config, ctx, *context))
        return errors

    def config_notes(self) -> list[tuple[str, str]]:
        """For ``olivine config validate``: old names mapped, and settings accepted that change nothing."""
        args = self.config.training_args
        notes = [("", note) for note in getattr(self.config, "notes", list)()]
        notes += [("", note) for note in args.notes()]
        notes += [(f"training_args.{name}", "has no effect in olivine's training loop")
                  for name in distributed.inert(args.inert_fields())]
        return notes

    def cache_config(self) -> dict:
        """training_args by current names: renaming evaluation_strategy to eval_strategy keeps the cached adapter."""
        config = self.config.model_dump(mode="json")
        config["training_args"] = normalize(config["training_args"])[0]
        # How many processes share a global batch does not change what is trained (within float tolerance):
        # a run killed on 8 processes resumes on 4, and either one's adapter serves both.
        config.pop("distributed", None)
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


def sequence_length_errors(cfg: LoRAConfig, ctx: ValidationContext, limit: int, source: str) -> list[ConfigError]:
    """A max_seq_len the user set above the base model's context length, per data config the pass reads.

    The default (1024, not written) is left alone: rows rarely reach it and Olive configs rely on it.
    """
    errors = []
    for name in dict.fromkeys((cfg.train_data_config, cfg.eval_data_config)):
        data = ctx.data_configs.get(name) if name is not None else None
        raw = getattr(data, "pre_process_data_config", None)
        if not isinstance(raw, dict):
            continue
        key = "source_max_len" if "source_max_len" in raw else "max_seq_len"
        value = raw.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > limit:
            index = ctx.data_config_names.index(name)
            errors.append(ConfigError(f"data_configs[{index}].pre_process_data_config.{key}",
                                      f"{value} is above the base model's context length of {limit} tokens "
                                      f"({source} in its config.json), which {ctx.path} trains",
                                      f"set {key} to at most {limit}"))
    return errors
