"""``training_args``: every Hugging Face TrainingArguments field by name, old names mapped to current ones.

Checked without importing transformers: the field names come from the generated ``hf_fields`` module.
The fields the training loop acts on are typed here; the others are accepted as they are and, when set,
reported by the pass as having no effect.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    create_model,
    field_validator,
    model_serializer,
    model_validator,
)

from olivine_lora import hf_fields

# Old TrainingArguments names (and Olive's) -> current names. Values pass through unchanged unless
# a converter below says otherwise.
RENAMED = {
    "evaluation_strategy": "eval_strategy",
    "warmup_ratio": "warmup_steps",
    "group_by_length": "train_sampling_strategy",
    "gradient_checkpointing": "activation_checkpointing",
    "gradient_checkpointing_kwargs": "activation_checkpointing_kwargs",
    "per_gpu_train_batch_size": "per_device_train_batch_size",
    "per_gpu_eval_batch_size": "per_device_eval_batch_size",
    "no_cuda": "use_cpu",
    "push_to_hub_token": "hub_token",
    "push_to_hub_model_id": "hub_model_id",
    "include_inputs_for_metrics": "include_for_metrics",
    "torchdynamo": "torch_compile_backend",
}

# Old names with no current field: accepted so old configs run, reported as dropped.
DROPPED = {
    "overwrite_output_dir": "olivine writes every run to a fresh folder",
    "logging_dir": "tensorboard events go to the pass output's tensorboard/ folder",
    "save_safetensors": "adapters are always saved as safetensors",
    "use_module_with_loss": "an onnxruntime-training option",
    "use_ipex": "removed from transformers",
    "use_mps_device": "removed from transformers",
    "push_to_hub_organization": "removed from transformers",
    "jit_mode_eval": "removed from transformers",
    "tpu_num_cores": "removed from transformers",
    "past_index": "removed from transformers",
    "ray_scope": "removed from transformers",
    "half_precision_backend": "removed from transformers",
    "fp16_opt_level": "removed from transformers",
    "fp16_backend": "removed from transformers",
    "include_tokens_per_second": "the progress bar and report always show tokens/s",
    "dispatch_batches": "removed from transformers",
    "split_batches": "removed from transformers",
}

# Fields about infrastructure olivine owns (folders, logging, data loading, distribution): no note.
INFRASTRUCTURE = frozenset({
    "output_dir", "disable_tqdm", "log_level", "log_level_replica", "log_on_each_node", "logging_nan_inf_filter",
    "run_name", "project", "do_train", "do_eval", "do_predict", "local_rank", "dataloader_num_workers",
    "dataloader_pin_memory", "dataloader_persistent_workers", "dataloader_prefetch_factor",
    "dataloader_multiprocessing_context", "dataloader_in_order", "remove_unused_columns", "label_names",
    "skip_memory_metrics", "include_num_input_tokens_seen", "save_on_each_node", "save_only_model",
    "average_tokens_across_devices", "ddp_find_unused_parameters", "ddp_bucket_cap_mb",
    "ddp_broadcast_buffers", "ddp_static_graph", "ddp_backend", "ddp_timeout", "prediction_loss_only",
    "eval_do_concat_batches", "eval_use_gather_object", "eval_accumulation_steps", "use_cache",
    "length_column_name", "ignore_data_skip", "restore_callback_states_from_checkpoint",
})

ReportTo = Literal["none", "all", "tensorboard", "mlflow", "wandb"]
TRACKERS = ("tensorboard", "mlflow", "wandb")  # what "all" means: those installed, as the Trainer does
# Named explicitly but not installed: one error at validation (tensorboard's is the pass's own check).
INSTALL = {"mlflow": "pip install 'olivine-lora[mlflow]'", "wandb": "pip install wandb"}
IntervalStrategy = Literal[hf_fields.INTERVAL_STRATEGIES]  # type: ignore[valid-type]
SaveStrategy = Literal[hf_fields.SAVE_STRATEGIES]  # type: ignore[valid-type]
# transformers adds schedulers and optimizers in minor releases: the docs name the enum, not its members.
Scheduler = Annotated[Literal[hf_fields.SCHEDULERS],  # type: ignore[valid-type]
                      Field(json_schema_extra={"x-doc-values": "a name from transformers' `SchedulerType`"})]
Optimizer = Annotated[Literal[hf_fields.OPTIMIZERS],  # type: ignore[valid-type]
                      Field(json_schema_extra={"x-doc-values": "a name from transformers' `OptimizerNames`"})]


def _old_names_schema(schema: dict[str, Any]) -> None:
    """The editor schema accepts the old names ``normalize`` maps (the model validator is invisible to it)."""
    props = schema.setdefault("properties", {})
    props.setdefault("extra_args", {"type": "object", "description": "Merged into training_args (old Olive)."})
    for old, new in RENAMED.items():
        props.setdefault(old, {"description": f"Old name of {new} (renamed in transformers)."})
    for old, reason in DROPPED.items():
        props.setdefault(old, {"description": f"Accepted and dropped: {reason}.", "deprecated": True})


class _Honoured(BaseModel):
    """The TrainingArguments fields the loop acts on. Defaults: Olive's where it sets one, else transformers'."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=(), json_schema_extra=_old_names_schema)

    seed: int = Field(42, description="Seeds the LoRA initialization and dropout.")
    data_seed: int | None = Field(None, description="Seeds the data order and the eval split (default: seed).")
    per_device_train_batch_size: int = Field(8, ge=1, description="Samples per micro-batch.")
    per_device_eval_batch_size: int = Field(8, ge=1, description="Accepted; evaluation batches by a token budget.")
    gradient_accumulation_steps: int = Field(1, ge=1, description="Micro-batches per optimizer step.")
    num_train_epochs: float = Field(3.0, gt=0, description="Epochs, when max_steps is not positive.")
    max_steps: int = Field(-1, description="Optimizer steps; -1 (the default): train num_train_epochs. "
                                              "0 and other negatives are errors.")
    learning_rate: float = Field(2e-4, ge=0, description="Peak learning rate (Olive's default).")
    lr_scheduler_type: Scheduler = Field("constant", description="Schedule after warmup (Olive's default).")
    lr_scheduler_kwargs: dict[str, Any] | None = Field(None, description="Extra scheduler arguments.")
    warmup_steps: float = Field(0.03, ge=0, description="Warmup steps, or a fraction of all steps when < 1 "
                                                       "(Olive's warmup_ratio 0.03).")
    optim: Optimizer = Field("adamw_torch_fused", description="adamw_* variants, sgd, adafactor; others run AdamW.")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay (not on biases and norms).")
    adam_beta1: float = Field(0.9, ge=0, lt=1, description="AdamW first-moment decay.")
    adam_beta2: float = Field(0.999, ge=0, lt=1, description="AdamW second-moment decay.")
    adam_epsilon: float = Field(1e-8, gt=0, description="AdamW denominator epsilon.")
    max_grad_norm: float | None = Field(1.0, description="Gradient clipping norm (0 or null: none).")
    label_smoothing_factor: float = Field(0.0, ge=0, lt=1, description="Label smoothing of the token loss.")
    logging_strategy: IntervalStrategy = Field("steps", description="When to record the training loss.")
    logging_steps: float = Field(10, gt=0, description="Steps between loss records (fraction of all when < 1).")
    logging_first_step: bool = Field(False, description="Also record the loss after the first step.")
    eval_strategy: IntervalStrategy | None = Field(
        None, description="Default: steps when there is eval data (as Olive), else no.")
    eval_steps: float | None = Field(None, gt=0, description="Default: logging_steps if set, else a tenth of the "
                                                             "steps.")
    eval_delay: float = Field(0, ge=0, description="No evaluation before this step.")
    eval_on_start: bool = Field(False, description="Also evaluate before the first step.")
    save_strategy: SaveStrategy = Field("steps", description="When to write a resumable checkpoint.")
    save_steps: float | None = Field(None, gt=0, description="Default: a tenth of the steps.")
    save_total_limit: int | None = Field(None, ge=1, description="Checkpoints kept (default 2).")
    report_to: ReportTo | list[ReportTo] | None = Field(
        None, description="tensorboard: events beside the model; mlflow, wandb: losses and learning rate per "
                          "logging step (the Trainer's environment variables); all: every one installed.")
    resume_from_checkpoint: str | bool | None = Field(
        None, description="A checkpoint folder (step-<n>, or a folder of them: the newest) to continue from when "
                          "this pass has none of its own; true: its own, which is what a pass always does.")
    bf16: bool = Field(False, description="bf16 autocast (on by default on CUDA).")
    fp16: bool = Field(False, description="fp16 autocast with loss scaling (CUDA only).")
    tf32: bool | None = Field(None, description="TF32 matmuls on CUDA (default: allow_tf32).")
    activation_checkpointing: bool | None = Field(
        None, description="Recompute activations in backward to save memory (old name gradient_checkpointing).")
    activation_checkpointing_kwargs: dict[str, Any] | None = Field(
        None, description="Accepted; checkpointing always runs non-reentrant (use_reentrant false).")
    train_sampling_strategy: Literal["random", "sequential", "group_by_length", "batch_rebalance"] = Field(
        "random", description="Sample order per epoch (batch_rebalance: as random).")
    dataloader_drop_last: bool = Field(False, description="Drop an epoch's last incomplete micro-batch.")
    use_cpu: bool = Field(False, description="Train on the CPU even when CUDA is present.")

    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)
    _notes: list[str] = PrivateAttr(default_factory=list)

    @field_validator("max_steps")
    @classmethod
    def _steps_or_epochs(cls, value: int) -> int:
        # transformers: -1 means "train num_train_epochs"; 0 or -5 would silently train epochs too.
        if value == 0 or value < -1:
            raise ValueError(f"{value} is not a number of steps: give a positive count, or -1 to train "
                             "num_train_epochs")
        return value

    @model_validator(mode="wrap")
    @classmethod
    def _current_names(cls, data: Any, handler):
        if isinstance(data, BaseModel):
            return data
        raw = dict(data or {})
        normalized, notes = normalize(raw)
        instance = handler(normalized)
        instance._raw = raw
        instance._notes = notes
        return instance

    @field_validator("report_to")
    @classmethod
    def _tracker_installed(cls, value: Any) -> Any:
        for name in value if isinstance(value, list) else [value]:
            if name in INSTALL and importlib.util.find_spec(name) is None:
                raise ValueError(f"{name} is not installed ({INSTALL[name]})")
        return value

    @model_serializer(mode="plain")
    def _as_written(self) -> dict[str, Any]:
        # The user's own keys: a config dumped and parsed again (cache key, run-pass spec) gives the same notes.
        return dict(self._raw)

    def notes(self) -> list[str]:
        """One line per old name that was mapped or dropped."""
        return list(self._notes)

    def inert_fields(self) -> list[str]:
        """Fields the user turned on that the training loop does not act on (reported as such)."""
        return sorted(name for name in self.model_fields_set
                      if name not in _Honoured.model_fields and name not in INFRASTRUCTURE and getattr(self, name))

    def extra(self) -> dict[str, Any]:
        """Set fields beyond the honoured ones, by current name."""
        return {name: getattr(self, name) for name in self.model_fields_set if name not in _Honoured.model_fields}

    def wants_tensorboard(self) -> bool:
        return "tensorboard" in self.trackers()

    def trackers(self) -> list[str]:
        """The trackers report_to asks for; ``all`` means those installed."""
        report = self.report_to if isinstance(self.report_to, list) else [self.report_to]
        if "none" in report:
            return []
        return [name for name in TRACKERS
                if name in report or ("all" in report and importlib.util.find_spec(name) is not None)]


def normalize(raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Map old names to current ones; returns the new dict and one note per change."""
    data = dict(raw)
    notes: list[str] = []
    extra = data.pop("extra_args", None)
    if isinstance(extra, dict):
        for key, value in extra.items():
            data.setdefault(key, value)
        notes.append("training_args.extra_args: merged into training_args")
    for old, new in RENAMED.items():
        if old not in data:
            continue
        value = data.pop(old)
        if new in data:
            notes.append(f"training_args.{old}: ignored, {new} is also set")
            continue
        converted = _convert(old, value)
        if converted is not None:
            data[new] = converted
        notes.append(f"training_args.{old} -> {new} (renamed in transformers)")
    for old, reason in DROPPED.items():
        if old in data:
            data.pop(old)
            notes.append(f"training_args.{old}: dropped ({reason})")
    if isinstance(data.get("resume_from_checkpoint"), bool):  # true: what olivine does anyway (same cache key)
        if data.pop("resume_from_checkpoint"):
            notes.append("training_args.resume_from_checkpoint=true: a pass always continues from its own last "
                         "checkpoint")
    return data, notes


def _convert(old: str, value: Any) -> Any:
    if old == "group_by_length":
        return "group_by_length" if value else None
    if old == "warmup_ratio" and isinstance(value, (int, float)) and value >= 1:
        raise ValueError("warmup_ratio must be below 1")
    if old == "include_inputs_for_metrics":
        return ["inputs"] if value else []
    return value


def _build() -> type[_Honoured]:
    others: dict[str, Any] = {name: (Any, None) for name in hf_fields.FIELDS
              if name not in _Honoured.model_fields and name not in ("gradient_checkpointing",
                                                                     "gradient_checkpointing_kwargs")}
    return create_model("TrainingArgs", __base__=_Honoured, __doc__=_Honoured.__doc__, **others)


if TYPE_CHECKING:
    # Statically the honoured fields; the other TrainingArguments fields are only read by name (getattr).
    TrainingArgs = _Honoured
else:
    TrainingArgs = _build()
