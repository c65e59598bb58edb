"""Config errors a user can make, caught before any heavy work, each naming its JSON path."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from olivine import ConfigError, ConfigErrors, DataConfig, ModelRef, PassContext
from olivine_lora import gen_hf_fields, hf_fields
from olivine_lora.passes import LoRA, QLoRA
from olivine_lora.training_args import DROPPED, RENAMED


def lora_pass(**extra):
    return {"lora": {"type": "LoRA", "train_data_config": "tone_train", **extra}}


def validate_in_subprocess(workflow) -> dict:
    """Validate as the CLI does, in a fresh interpreter: the errors, the seconds it took, what it imported."""
    script = textwrap.dedent(f"""
        import json, sys, time
        started = time.perf_counter()
        from olivine import validate_workflow as validate
        from olivine import ConfigErrors
        try:
            validate({str(workflow)!r})
            errors = []
        except ConfigErrors as exc:
            errors = [e.line() for e in exc.errors]
        heavy = [m for m in ("torch", "transformers", "peft", "bitsandbytes") if m in sys.modules]
        print(json.dumps({{"errors": errors, "seconds": time.perf_counter() - started, "heavy": heavy}}))
    """)
    from olivine_lora import __file__ as _  # noqa: F401  (the plugin is installed in this interpreter)

    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            env={**__import__("os").environ, "OLIVINE_LOAD_PLUGINS": "lora"})
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_misspelled_training_arg_is_rejected_without_heavy_imports(tmp_path, tiny_model, kit):
    """Fast because nothing heavy is imported (what is checked here); the seconds are bench/core_cli.py's."""
    workflow = kit.write_workflow(tmp_path, lora_pass(training_args={"learnig_rate": 1e-3}), tiny_model)
    outcome = validate_in_subprocess(workflow)
    assert outcome["errors"] == ["passes.lora.training_args.learnig_rate: unknown key (did you mean learning_rate?)"]
    assert outcome["heavy"] == []


def test_several_mistakes_are_reported_together_through_the_cli(tmp_path, tiny_model, kit):
    passes = lora_pass(lora_r=8, target_modules=["qkv_proj", "q_proj"], training_args={"evaluation_strategy": "steps",
                                                                                       "lr_scheduler_typ": "linear"})
    passes["lora"]["train_data_config"] = "tone_trian"
    workflow = kit.write_workflow(tmp_path, passes, tiny_model)
    result = kit.cli("config", "validate", str(workflow))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert "error: passes.lora.training_args.lr_scheduler_typ: unknown key (did you mean lr_scheduler_type?)" in lines
    # The old name evaluation_strategy is accepted (mapped to eval_strategy), so it is not among the errors.
    assert not any("evaluation_strategy" in line for line in lines)


def test_missing_data_config_names_the_key_and_suggests(tmp_path, tiny_model, kit):
    passes = lora_pass(eval_data_config="tone_tset")
    passes["lora"]["train_data_config"] = "tone_trian"
    workflow = kit.write_workflow(tmp_path, passes, tiny_model,
                                  [kit.tone_data_config(), kit.tone_data_config("tone_test", "test")])
    errors = validate_in_subprocess(workflow)["errors"]
    assert "passes.lora.train_data_config: no data config named 'tone_trian' (did you mean tone_train?)" in errors
    assert "passes.lora.eval_data_config: no data config named 'tone_tset' (did you mean tone_test?)" in errors


def test_unknown_target_module_is_caught_from_config_json_before_loading(tmp_path, tiny_model, kit):
    workflow = kit.write_workflow(tmp_path, lora_pass(target_modules=["qkv_proj", "q_proj"]), tiny_model)
    outcome = validate_in_subprocess(workflow)
    assert outcome["errors"] == [
        "passes.lora.target_modules[1]: 'q_proj' is not a layer of phi3 models LoRA can adapt (did you mean qkv_proj?)"]
    assert outcome["heavy"] == []


def test_unknown_target_module_of_an_unlisted_architecture_fails_at_load_before_training(tmp_path, tiny_model, kit):
    """Without a config.json check (validation skipped here), loading the model finds the bad name."""
    import logging

    config = LoRA.parse_config({"train_data_config": "tone_train", "target_modules": ["qkv_proj", "mlp.fc9"]},
                               "passes.lora")
    ctx = PassContext(output_dir=tmp_path / "out", workflow_dir=tmp_path, checkpoint_dir=tmp_path / "ckpt",
                      data_configs={"tone_train": DataConfig.model_validate(kit.tone_data_config())},
                      logger=logging.getLogger("olivine.pass.lora"), show_progress=False)
    with pytest.raises(ConfigError) as caught:
        LoRA(config).run(ModelRef(format="hf", path=tiny_model), ctx)
    assert caught.value.line().startswith("passes.lora.target_modules[1]: 'mlp.fc9' matches no module of the model")
    assert not (tmp_path / "ckpt").exists()


def test_old_training_arg_names_map_to_current_ones_with_a_note():
    config = LoRA.parse_config({"train_data_config": "d", "training_args": {
        "evaluation_strategy": "steps", "warmup_ratio": 0.1, "group_by_length": True, "overwrite_output_dir": True,
        "extra_args": {"adam_beta2": 0.99}}}, "passes.lora")
    args = config.training_args
    assert (args.eval_strategy, args.warmup_steps, args.train_sampling_strategy, args.adam_beta2) == (
        "steps", 0.1, "group_by_length", 0.99)
    assert "training_args.evaluation_strategy -> eval_strategy (renamed in transformers)" in args.notes()
    assert any(note.startswith("training_args.overwrite_output_dir: dropped") for note in args.notes())
    # A dumped config (cache key, out-of-process spec) parses back to the same settings and notes.
    again = LoRA.parse_config(config.model_dump(mode="json"), "passes.lora")
    assert again.training_args.notes() == args.notes() and again == config


def test_old_and_current_training_arg_names_share_a_cache_key():
    """Renaming evaluation_strategy to eval_strategy, as the run's note suggests, keeps the cached adapter."""
    def cache_config(training_args: dict) -> dict:
        return LoRA(LoRA.parse_config({"train_data_config": "d", "training_args": training_args}, "p")).cache_config()

    old = cache_config({"evaluation_strategy": "steps", "per_gpu_train_batch_size": 2, "learning_rate": 1e-3})
    current = cache_config({"eval_strategy": "steps", "per_device_train_batch_size": 2, "learning_rate": 1e-3})
    assert old == current
    assert cache_config({"eval_strategy": "steps", "per_device_train_batch_size": 2, "learning_rate": 2e-3}) != current
    assert QLoRA(QLoRA.parse_config({"train_data_config": "d", "training_args": {"no_cuda": True}}, "p")).cache_config(
    )["training_args"] == {"use_cpu": True}


def test_olive_and_current_names_are_the_same_setting():
    olive = QLoRA.parse_config({"train_data_config": "d", "lora_r": 8, "lora_alpha": 16}, "p")
    current = QLoRA.parse_config({"train_data_config": "d", "r": 8, "alpha": 16}, "p")
    assert olive == current
    with pytest.raises(ConfigErrors) as caught:
        QLoRA.parse_config({"train_data_config": "d", "quant_type": "int3"}, "passes.q")
    assert caught.value.errors[0].path == "passes.q.quant_type"


def test_every_stored_name_is_one_the_installed_transformers_knows():
    """Validation accepts only names transformers has; a newer transformers may add names, never lose ours."""
    installed = gen_hf_fields.current()
    for table in ("FIELDS", "SCHEDULERS", "OPTIMIZERS", "INTERVAL_STRATEGIES", "SAVE_STRATEGIES"):
        unknown = set(getattr(hf_fields, table)) - set(installed[table])
        assert not unknown, f"{table}: {sorted(unknown)} gone; run: python -m olivine_lora.gen_hf_fields"


def test_old_names_are_not_current_fields_and_map_to_current_ones():
    current = set(hf_fields.FIELDS)
    deprecated_aliases = {"gradient_checkpointing", "gradient_checkpointing_kwargs"}
    assert not (set(RENAMED) - deprecated_aliases) & current
    assert not set(DROPPED) & current
    assert set(RENAMED.values()) <= current
