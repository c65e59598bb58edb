"""Fixtures: lm-eval tasks defined on the tone data's local files, the tiny Phi-3, and onnx-genai builds of it.

No network: Hugging Face hub and datasets stay offline; lm-eval reads the tasks' JSON lines files itself.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
pytest.importorskip("lm_eval")
pytest.importorskip("torch")
pytest.importorskip("onnxruntime_genai")

from olivine.testing.fixtures import one_torch_thread, tiny  # noqa: E402,F401

# Multiple choice: the log-likelihood of each tone after the flagship example's prompt.
CHOICE_TASK = """\
task: tone_mc
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "<|user|>\\n{{{{phrase}}}}<|end|>\\n<|assistant|>\\n"
doc_to_choice: {tones}
doc_to_target: tone
target_delimiter: ""
metric_list:
  - metric: acc
"""

# Greedy generation until the end-of-turn token, compared with the tone.
GENERATE_TASK = """\
task: tone_gen
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: generate_until
doc_to_text: "<|user|>\\n{{{{phrase}}}}<|end|>\\n<|assistant|>\\n"
doc_to_target: tone
target_delimiter: ""
generation_kwargs:
  until: ["<|end|>"]
  max_gen_toks: 4
  do_sample: false
metric_list:
  - metric: exact_match
"""

# A group over tone_mc: lm-eval reports the group's aggregate beside the subtask's own score.
GROUP = """\
group: tone_all
task:
  - tone_mc
aggregate_metric_list:
  - metric: acc
    weight_by_size: true
"""


@pytest.fixture(scope="session")
def task_dir(tmp_path_factory) -> Path:
    """A folder of lm-eval task YAML files over the tone test split (tone_mc, tone_gen, group tone_all)."""
    from olivine.testing import TONES, tone_data_dir

    folder = tmp_path_factory.mktemp("tasks")
    data = tone_data_dir() / "test.jsonl"
    (folder / "tone_mc.yaml").write_text(CHOICE_TASK.format(data=data, tones=list(TONES)))
    (folder / "tone_gen.yaml").write_text(GENERATE_TASK.format(data=data))
    (folder / "tone_all.yaml").write_text(GROUP)
    return folder


@pytest.fixture(scope="session")
def genai_build(tiny, tmp_path_factory):
    """ModelBuilder (the installed pass, through the public API) on the tiny Phi-3, once per precision."""
    from olivine import Accelerator, ModelRef, PassContext, get_plugins

    built: dict[str, ModelRef] = {}

    def build(precision: str) -> ModelRef:
        if precision not in built:
            builder = get_plugins().passes.get("ModelBuilder")
            out = tmp_path_factory.mktemp(f"genai-{precision}")
            ctx = PassContext(output_dir=out, workflow_dir=out, show_progress=False, accelerator=Accelerator(),
                              logger=logging.getLogger("olivine.pass.builder"))
            instance = builder(builder.parse_config({"precision": precision}, "passes.builder"))
            built[precision] = instance.run(ModelRef(format="hf", path=tiny), ctx)
        return built[precision]

    return build
