"""Workflow parts the DirectML tests share: the tone test data config and an accuracy metric."""

from __future__ import annotations

from olivine.testing import COMPLETION_TEMPLATE, PROMPT_TEMPLATE, tone_data_dir


def tone_data_config(name: str = "tone_test") -> dict:
    return {"name": name, "type": "HuggingfaceContainer",
            "load_dataset_config": {"data_name": "json", "data_files": str(tone_data_dir() / "test.jsonl"),
                                    "split": "train"},
            "pre_process_data_config": {"prompt_template": PROMPT_TEMPLATE,
                                        "completion_template": COMPLETION_TEMPLATE, "max_seq_len": 64}}


def accuracy_metric(samples: int = 12) -> dict:
    return {"name": "accuracy", "type": "accuracy", "sub_types": [{"name": "accuracy_score"}],
            "data_config": "tone_test", "user_config": {"max_samples": samples, "max_new_tokens": 4}}
