"""The accuracy metric keeps every wrong answer in run.json, logs a count and the first few, and all of them with
-vv (debug). The support runtime plugin (always_joy_runtime) answers "joy" to every prompt, so the wrong
answers are known."""

from __future__ import annotations

import json

from conftest_paths import SUPPORT
from core_helpers import olivine_cli, write_workflow

TONES = ["joy", "anger", "fear", "sadness", "anger", "fear", "sadness", "anger", "fear", "sadness"]


def run(tmp_path, fake_hf_model, *flags: str):
    rows = [{"text": f"phrase {i}", "tone": tone} for i, tone in enumerate(TONES)]
    (tmp_path / "tones.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    write_workflow(tmp_path, {
        "input_model": {"type": "HfModel", "model_path": str(fake_hf_model)},
        "data_configs": [{"name": "tones", "type": "HuggingfaceContainer",
                          "load_dataset_config": {"data_name": "json", "data_files": "tones.jsonl"},
                          "pre_process_data_config": {"prompt_template": "Text: {text}\nTone: ",
                                                      "completion_template": "{tone}"}}],
        "evaluators": {"e": {"metrics": [{"name": "acc", "type": "accuracy", "data_config": "tones",
                                          "sub_types": [{"name": "accuracy_score"}]}]}},
        "engine": {"evaluator": "e", "cache_dir": "cache", "output_dir": "out"},
    })
    env = {"PYTHONPATH": str(SUPPORT), "OLIVINE_LOAD_PLUGINS": "", "OLIVINE_PLUGIN_MODULES": "always_joy_runtime"}
    result = olivine_cli("run", "workflow.json", "--no-progress", *flags, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    [stage] = json.loads((tmp_path / "out" / "run.json").read_text())["stages"]
    return result.stderr, stage["metrics"]["acc"]


def wrong_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "expected '" in line]


def test_every_wrong_answer_is_in_the_report_and_the_first_few_in_the_log(tmp_path, fake_hf_model):
    stderr, acc = run(tmp_path, fake_hf_model)

    assert acc["accuracy_score"] == 0.1
    reported = [note for note in acc["_notes"] if note.startswith("expected '")]
    assert len(reported) == 9 and reported[0] == "expected 'anger', generated 'joy' after 'Text: phrase 1\\nTone: '"
    assert len(wrong_lines(stderr)) == 3
    assert "acc: 1/10 correct on hf" in stderr
    assert "6 more wrong answers in run.json" in stderr


def test_debug_logs_every_wrong_answer(tmp_path, fake_hf_model):
    stderr, acc = run(tmp_path, fake_hf_model, "-vv")

    assert len(wrong_lines(stderr)) == 9
    assert [line.split("expected ", 1)[1] for line in wrong_lines(stderr)] == \
        [note.split("expected ", 1)[1] for note in acc["_notes"] if note.startswith("expected '")]
