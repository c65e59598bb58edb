"""docs/reference/*.md match the installed Config classes of core and every plugins/* package."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_reference_docs", ROOT / "scripts" / "gen_reference_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def test_committed_reference_pages_are_current(capsys):
    status = gen.main(["--check"])

    shown = capsys.readouterr()
    assert status == 0, shown.out + shown.err


def test_check_mode_names_each_stale_page(tmp_path, capsys):
    assert gen.main(["--out-dir", str(tmp_path)]) == 0
    page = tmp_path / "systems.md"
    page.write_text(page.read_text().replace("LocalSystem", "LocalSistem"))
    capsys.readouterr()

    status = gen.main(["--check", "--out-dir", str(tmp_path)])

    out = capsys.readouterr().out
    assert status == 1
    assert f"stale: {page}" in out
    assert "passes.md" not in out
    assert "regenerate with: python scripts/gen_reference_docs.py" in out


def test_every_package_of_the_repo_is_documented():
    plugins, distributions = gen.load_repo_plugins()
    documented = {entry.distribution for entries in gen.documented_entries(plugins, distributions).values()
                  for _, entry in entries}

    assert documented == set(gen.repo_distributions())
    assert {"olivine", "olivine-lora", "olivine-merge", "olivine-modelbuilder"} <= documented


def test_every_documented_key_has_a_description():
    plugins, distributions = gen.load_repo_plugins()
    missing = [f"{kind} {name}: {key}"
               for kind, entries in gen.documented_entries(plugins, distributions).items()
               if kind not in gen.UNCONFIGURED
               for name, entry in entries
               for key in gen.undescribed_keys(entry.cls.Config)]

    assert missing == [], "add Field(description=...) to these keys, then regenerate the reference"


@pytest.fixture
def acme_plugin(tmp_path, monkeypatch):
    """A hooks module registered through OLIVINE_PLUGIN_MODULES, as plugin authors and tests do."""
    (tmp_path / "acme_reference_hooks.py").write_text(textwrap.dedent('''
        from olivine import Pass, hookimpl

        class AcmeTag(Pass):
            """Tag a model."""
            name = "AcmeTag"

        @hookimpl
        def register_passes(register):
            register(AcmeTag)
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("OLIVINE_PLUGIN_MODULES", "acme_reference_hooks")
    yield
    sys.modules.pop("acme_reference_hooks", None)


def test_classes_of_other_distributions_are_left_out(acme_plugin):
    from olivine.plugins import load_plugins

    plugins = load_plugins()
    assert "AcmeTag" in plugins.passes
    passes = gen.documented_entries(plugins, set(gen.repo_distributions()))["passes"]

    assert "AcmeTag" not in [name for name, _ in passes]
    assert "LoRA" in [name for name, _ in passes]


def test_plugin_selection_variables_do_not_change_the_pages(acme_plugin, monkeypatch):
    monkeypatch.setenv("OLIVINE_LOAD_PLUGINS", "merge")

    pages = gen.render_all()

    assert "AcmeTag" not in pages[gen.OUT_DIR / "passes.md"]
    assert "## LoRA" in pages[gen.OUT_DIR / "passes.md"]
    assert "## AzureML" in pages[gen.OUT_DIR / "systems.md"]
