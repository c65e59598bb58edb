"""The tiny Phi-3 and the tone data that every package's tests build on."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from olivine.testing import (
    PROMPT_TEMPLATE,
    TONES,
    load_tone_rows,
    make_tiny_phi3,
    tiny_phi3,
    tone_data_dir,
    tone_texts,
)

pytest.importorskip("transformers")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def test_tone_data_is_balanced_and_held_out():
    train, test = load_tone_rows("train"), load_tone_rows("test")
    assert len(train) + len(test) >= 400
    assert set(Counter(r["tone"] for r in train)) == set(TONES)
    assert len(set(Counter(r["tone"] for r in train).values())) == 1
    assert len(set(Counter(r["tone"] for r in test).values())) == 1
    assert 0.15 <= len(test) / (len(train) + len(test)) <= 0.25
    assert not {r["phrase"] for r in train} & {r["phrase"] for r in test}
    assert len({r["phrase"] for r in train + test}) == len(train) + len(test)


def test_the_shipped_tone_data_is_the_flagship_examples(monkeypatch):
    monkeypatch.delenv("OLIVINE_TONE_DATA", raising=False)
    example = Path(__file__).resolve().parents[2] / "examples" / "phi3-emotion" / "data"
    for split in ("train.jsonl", "test.jsonl"):
        assert (tone_data_dir() / split).read_bytes() == (example / split).read_bytes()
    assert tone_data_dir().parent.name == "testing"  # the package's own copy, not the checkout's


def test_tone_data_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("OLIVINE_TONE_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="OLIVINE_TONE_DATA"):
        tone_data_dir()


def test_tiny_phi3_loads_offline_with_single_chat_tokens():
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = tiny_phi3()
    model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)

    assert model.config.model_type == "phi3"
    assert 500_000 <= model.num_parameters() <= 700_000
    for token in ("<|endoftext|>", "<|user|>", "<|assistant|>", "<|end|>"):
        assert tokenizer.tokenize(f"a{token}b").count(token) == 1
    prompt = PROMPT_TEMPLATE.format(phrase="It snowed in July.")
    chat = tokenizer.apply_chat_template(
        [{"role": "user", "content": "It snowed in July."}], tokenize=False, add_generation_prompt=True
    )
    assert chat == prompt
    end = tokenizer.convert_tokens_to_ids("<|end|>")
    assert end in model.generation_config.eos_token_id
    assert tokenizer.pad_token_id == model.config.pad_token_id != end


def test_builds_are_byte_identical(tmp_path):
    texts = tone_texts()
    first = make_tiny_phi3(tmp_path / "a", texts)
    second = make_tiny_phi3(tmp_path / "b", texts)
    for name in ("model.safetensors", "tokenizer.json", "config.json", "generation_config.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    other_seed = make_tiny_phi3(tmp_path / "c", texts, seed=1)
    assert (other_seed / "model.safetensors").read_bytes() != (first / "model.safetensors").read_bytes()


def test_command_line_writes_the_cached_model(tmp_path):
    out = tmp_path / "tiny"
    done = subprocess.run(
        [sys.executable, "-m", "olivine.testing", "make-tiny-phi3", "--output", str(out)],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (out / "model.safetensors").read_bytes() == (tiny_phi3() / "model.safetensors").read_bytes()


def test_command_line_takes_the_data_folder_when_olivine_is_not_installed_from_a_checkout(tmp_path):
    """A non-editable install cannot find the examples folder: --data names it, else a one-line error."""
    data = tmp_path / "data"
    shutil.copytree(tone_data_dir(), data)
    env = {**os.environ, "OLIVINE_TONE_DATA": str(tmp_path / "nowhere")}
    command = [sys.executable, "-m", "olivine.testing", "make-tiny-phi3", "--output", str(tmp_path / "tiny")]
    missing = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert missing.returncode == 2 and "--data" in missing.stderr and "Traceback" not in missing.stderr
    given = subprocess.run([*command, "--data", str(data)], capture_output=True, text=True, env=env, check=False)
    assert given.returncode == 0, given.stderr
    assert (tmp_path / "tiny" / "model.safetensors").read_bytes() == (tiny_phi3() / "model.safetensors").read_bytes()
