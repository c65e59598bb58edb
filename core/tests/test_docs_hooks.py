"""docs/hooks.md cannot drift from the hook specs: same hooks, same signatures, examples that run, a test each."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from olivine.engine import run
from olivine.plugins import load_plugins

REPO = Path(__file__).resolve().parents[2]
HOOKS_DOC = REPO / "docs" / "hooks.md"
HEADING = re.compile(r"^## (\w+)\(([^)]*)\)\s*$")
REGISTRY_OF = {"register_passes": "passes", "register_systems": "systems", "register_evaluators": "evaluators",
               "register_resources": "resources", "register_runtimes": "runtimes",
               "register_doctor_checks": "doctor_checks"}


def hook_specs() -> dict[str, tuple[str, ...]]:
    pm = load_plugins().pm
    return {name: tuple(caller.spec.argnames) for name, caller in vars(pm.hook).items()
            if getattr(caller, "spec", None) is not None}


def documented_hooks() -> dict[str, tuple[tuple[str, ...], str]]:
    """``{hook name: (argnames written in its heading, first python example of its section)}``."""
    sections: dict[str, tuple[tuple[str, ...], str]] = {}
    current = None
    for block in re.split(r"(?m)^(?=## )", HOOKS_DOC.read_text()):
        match = HEADING.match(block.splitlines()[0]) if block.startswith("## ") else None
        if match is None:
            continue
        current = match.group(1)
        args = tuple(a.strip() for a in match.group(2).split(",") if a.strip())
        example = re.search(r"```python\n(.*?)```", block, re.S)
        sections[current] = (args, example.group(1) if example else "")
    return sections


def test_every_hook_is_documented_with_its_exact_signature():
    specs = hook_specs()
    documented = {name: args for name, (args, _) in documented_hooks().items()}

    assert sorted(set(specs) - set(documented)) == [], "hooks missing from docs/hooks.md"
    assert sorted(set(documented) - set(specs)) == [], "docs/hooks.md documents hooks that do not exist"
    assert {n: documented[n] for n in specs} == specs, "a signature in docs/hooks.md differs from hookspecs.py"


def test_every_hook_section_has_an_example():
    missing = [name for name, (_, example) in documented_hooks().items() if "@hookimpl" not in example]
    assert missing == []


def test_every_hook_is_exercised_by_a_test():
    this = Path(__file__).resolve()
    files = [p for root in (REPO / "core" / "tests", REPO / "tests") for p in root.rglob("test_*.py")
             if p.resolve() != this]
    text = "\n".join(p.read_text() for p in files)
    assert [name for name in hook_specs() if name not in text] == []


@pytest.fixture
def doc_plugins(tmp_path, monkeypatch):
    """Every example of docs/hooks.md saved as a hooks module and loaded like a plugin."""
    modules = {}
    for hook, (_, example) in documented_hooks().items():
        module = f"docs_example_{hook}"
        (tmp_path / f"{module}.py").write_text(example)
        modules[hook] = module
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("OLIVINE_PLUGIN_MODULES", ",".join(modules.values()))
    monkeypatch.delenv("OLIVINE_STRICT_PLUGINS", raising=False)
    yield load_plugins(), modules
    for module in modules.values():
        sys.modules.pop(module, None)


def test_every_example_loads_and_registers(doc_plugins):
    plugins, modules = doc_plugins

    for hook, module in modules.items():
        info = next(i for i in plugins.infos if i.name == module)
        assert (info.error, info.hooks) == (None, [hook]), module
        if hook in REGISTRY_OF:
            registry = plugins.registry(REGISTRY_OF[hook])
            assert [n for n in registry if registry.entry(n).plugin == module], f"{module} registered nothing"


def test_the_examples_run_together_in_a_workflow(doc_plugins, tmp_path, monkeypatch):
    """The pass, system, evaluator and resource examples of docs/hooks.md, as a user would combine them."""
    plugins, _ = doc_plugins
    share = tmp_path / "share"
    model = share / "models" / "tiny"
    model.mkdir(parents=True)
    (model / "config.json").write_text(json.dumps({"model_type": "phi3", "num_hidden_layers": 2}))
    (model / "model.safetensors").write_bytes(b"\0" * 64)
    monkeypatch.setenv("TEAM_SHARE_ROOT", str(share))
    workflow = tmp_path / "workflow.json"
    workflow.write_text(json.dumps({
        "input_model": {"type": "HfModel", "model_path": "team://models/tiny"},
        "systems": {"timed": {"type": "TimedLocal", "accelerators": ["cpu"]}},
        "evaluators": {"files": {"metrics": [{"name": "count", "type": "file_count",
                                              "sub_types": [{"name": "files"}, {"name": "weight_files"}]}]}},
        "passes": {"card": {"type": "AddReadme", "title": "Tone classifier"}},
        "engine": {"host": "timed", "target": "timed", "evaluator": "files", "cache_dir": "cache",
                   "output_dir": "out"},
    }))

    outcome = run(workflow, plugins=plugins, show_progress=False)

    assert (tmp_path / "out" / "model" / "README.md").read_text() == "# Tone classifier\n\nLicense: mit\n"
    card = next(stage for stage in outcome.run["stages"] if stage["name"] == "card")
    assert card["metrics"]["count"] == {"files": 3, "weight_files": 1}
    assert card["report"]["notes"][-1].startswith("AddReadme took ")


def test_the_command_example_adds_a_working_command(doc_plugins, tmp_path):
    plugins, _ = doc_plugins
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_type": "phi3", "num_hidden_layers": 2}))
    group = click.Group("olivine")

    plugins.call_register_commands(group)
    result = CliRunner().invoke(group, ["model-card", str(model)])

    assert (result.exit_code, result.output) == (0, "phi3: 2 layers\n")
