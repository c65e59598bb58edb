"""The AcmeTag pass, installed with `pip install`, seen and run through olivine like a user would."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from olivine import ConfigError, ConfigErrors, ModelRef, PassContext, load_plugins
from olivine_acme.tag import AcmeTag

HEAVY = ("torch", "transformers", "peft", "datasets", "onnx", "onnxruntime", "azure", "bitsandbytes")


def test_the_entry_point_registers_acme_tag():
    plugins = load_plugins()
    entry = plugins.passes.entry("AcmeTag")
    assert entry.cls is AcmeTag
    assert (entry.plugin, entry.distribution) == ("acme", "olivine-acme")
    acme = next(info for info in plugins.infos if info.name == "acme")
    assert acme.error is None
    assert acme.hooks == ["register_passes"]


def test_run_copies_the_model_and_writes_the_tag(hf_folder, tmp_path):
    pass_ = AcmeTag(AcmeTag.parse_config({"tag": "x"}, "passes.tag"))
    ctx = PassContext(output_dir=tmp_path / "out", workflow_dir=tmp_path)
    ctx.output_dir.mkdir()

    result = pass_.run(ModelRef(format="hf", path=hf_folder), ctx)

    assert result.format == "hf"
    assert (result.path / "ACME_TAG").read_text() == "x"
    assert (result.path / "config.json").read_text() == (hf_folder / "config.json").read_text()
    assert not (hf_folder / "ACME_TAG").exists(), "the input model must stay untouched"


def test_unknown_config_key_is_an_error_with_a_suggestion():
    with pytest.raises(ConfigErrors) as raised:
        AcmeTag.parse_config({"tga": "x"}, "passes.tag")
    (error,) = raised.value.errors
    assert isinstance(error, ConfigError)
    assert error.line() == "passes.tag.tga: unknown key (did you mean tag?)"


def test_olivine_passes_lists_acme_tag(olivine):
    listed = olivine("passes", "--json")
    assert listed.returncode == 0, listed.stderr
    row = next(row for row in json.loads(listed.stdout) if row["name"] == "AcmeTag")
    assert row["distribution"] == "olivine-acme"
    assert row["description"] == "Copy a Hugging Face model folder and write a vendor tag file into it."
    assert (row["accepts"], row["produces"]) == (["hf"], "hf")

    shown = olivine("passes", "show", "AcmeTag")
    assert shown.returncode == 0, shown.stderr
    schema = json.loads(shown.stdout)["config_schema"]
    assert schema["properties"]["tag"]["default"] == "acme"


def test_a_workflow_with_acme_tag_runs_through_olivine_run(olivine, workflow, hf_folder, tmp_path):
    config = workflow({"tag": {"type": "AcmeTag", "tag": "x"}})

    first = olivine("run", "--config", str(config), "--no-progress")

    assert first.returncode == 0, first.stderr
    model = tmp_path / "out" / "model"
    assert (model / "ACME_TAG").read_text() == "x"
    assert (model / "model.safetensors").read_bytes() == (hf_folder / "model.safetensors").read_bytes()
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    stage = next(stage for stage in run["stages"] if stage["name"] == "tag")
    assert (stage["type"], stage["cache_hit"]) == ("AcmeTag", False)
    assert run["versions"]["olivine-acme"] == "0.1.0"

    again = olivine("run", "--config", str(config), "--no-progress")
    assert again.returncode == 0, again.stderr
    assert json.loads((tmp_path / "out" / "run.json").read_text())["cache_hits"] == 1


def test_a_misspelled_option_stops_the_run_before_any_work(olivine, workflow, tmp_path):
    config = workflow({"tag": {"type": "AcmeTag", "tga": "x"}})

    result = olivine("run", "--config", str(config))

    assert result.returncode == 2
    assert result.stderr.strip() == "error: passes.tag.tga: unknown key (did you mean tag?)"
    assert not (tmp_path / "out").exists()


def test_the_hooks_module_imports_nothing_heavy():
    code = "import sys, olivine_acme.hooks; print('\\n'.join(sorted(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert not [name for name in loaded if name.split(".")[0] in HEAVY]


def test_the_package_declares_its_entry_point():
    from importlib.metadata import distribution

    dist = distribution("olivine-acme")
    (ep,) = [ep for ep in dist.entry_points if ep.group == "olivine"]
    assert (ep.name, ep.value) == ("acme", "olivine_acme.hooks")
    assert callable(ep.load().register_passes)
