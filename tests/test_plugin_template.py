"""olivine and the plugin template pip-installed into a fresh venv, then used the way a vendor's user would.

The venv has no system site packages: core and examples/plugin-template are installed from copies of
their folders (non-editable), their dependencies from the package index. Extra plugin packages (a
broken one, one that reuses the name AcmeTag) are pip-installed with ``--target`` into their own
folders and put beside the venv's site-packages through PYTHONPATH, so each test chooses which
distributions the interpreter sees without changing the venv for the others.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COPY_IGNORE = shutil.ignore_patterns("*.egg-info", "build", "dist", "__pycache__", ".pytest_cache")
# Variables of the calling environment that would leak the repo's own venv or plugin choices in.
SCRUBBED = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "OLIVINE_LOAD_PLUGINS", "OLIVINE_STRICT_PLUGINS",
            "OLIVINE_PLUGIN_MODULES", "OLIVINE_DEBUG")


@dataclass
class Venv:
    root: Path
    sources: Path

    @property
    def bin(self) -> Path:
        return self.root / ("Scripts" if os.name == "nt" else "bin")

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
        env["PATH"] = os.pathsep.join([str(self.bin), env.get("PATH", "")])
        env["HF_HUB_OFFLINE"] = "1"
        env.update(extra)
        return env

    def run(self, *command: str, cwd: Path | None = None, timeout: float = 300, **env: str):
        return subprocess.run(list(command), cwd=cwd, capture_output=True, text=True, timeout=timeout,
                              env=self.env(**env))

    def olivine(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        return self.run(str(self.bin / "olivine"), *args, **env)

    def pip(self, *args: str) -> None:
        done = self.run(str(self.bin / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q",
                        *args, timeout=600)
        assert done.returncode == 0, f"pip install {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Venv:
    """A fresh venv with olivine, olivine-acme (the template) and pytest: once per test session."""
    root = tmp_path_factory.mktemp("template-venv")
    sources = root / "src"
    shutil.copytree(ROOT / "core", sources / "core", ignore=COPY_IGNORE)
    shutil.copytree(ROOT / "examples" / "plugin-template", sources / "plugin-template", ignore=COPY_IGNORE)
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True, timeout=300)
    env = Venv(root / "venv", sources)
    env.pip("-c", str(ROOT / "requirements" / "verified.txt"), str(sources / "core"), str(sources / "plugin-template"),
            "pytest")
    return env


def _plugin_package(folder: Path, dist: str, version: str, ep_name: str, module: str, hooks_code: str) -> Path:
    """Write a minimal plugin distribution whose entry point ``ep_name`` is ``module.hooks``."""
    package = folder / dist
    (package / "src" / module).mkdir(parents=True)
    (package / "src" / module / "__init__.py").write_text("")
    (package / "src" / module / "hooks.py").write_text(textwrap.dedent(hooks_code))
    (package / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{dist}"
        version = "{version}"
        dependencies = ["olivine>=0.1"]

        [project.entry-points.olivine]
        {ep_name} = "{module}.hooks"

        [tool.setuptools.packages.find]
        where = ["src"]
        """))
    return package


def _install_beside(venv: Venv, package: Path, name: str) -> str:
    """pip-install ``package`` into its own folder; the returned PYTHONPATH makes it visible to the venv."""
    target = venv.root.parent / f"site-{name}"
    venv.pip("--no-deps", "--target", str(target), str(package))
    return str(target)


@pytest.fixture(scope="module")
def broken_plugin(venv, tmp_path_factory) -> str:
    """olivine-broken 0.3.0: its hooks module fails to import (a vendor SDK that is not installed)."""
    package = _plugin_package(tmp_path_factory.mktemp("broken"), "olivine-broken", "0.3.0", "broken",
                              "olivine_broken", """\
        import acme_vendor_sdk_not_installed  # noqa: F401

        from olivine import hookimpl
        """)
    return _install_beside(venv, package, "broken")


@pytest.fixture(scope="module")
def fork_plugin(venv, tmp_path_factory) -> str:
    """olivine-acme-fork: registers a different pass class under the name AcmeTag."""
    package = _plugin_package(tmp_path_factory.mktemp("fork"), "olivine-acme-fork", "2.0.0", "acmefork",
                              "olivine_acme_fork", """\
        from olivine import Pass, hookimpl


        class ForkedTag(Pass):
            \"\"\"A second pass that claims the name AcmeTag.\"\"\"

            name = "AcmeTag"


        @hookimpl
        def register_passes(register):
            register(ForkedTag)
        """)
    return _install_beside(venv, package, "fork")


@pytest.fixture
def hf_folder(tmp_path: Path) -> Path:
    model = tmp_path / "tiny-model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_type": "phi3"}))
    (model / "model.safetensors").write_bytes(b"\1" * 512)
    return model


def _acme_row(listing: str) -> list[str]:
    rows = [line.split() for line in listing.splitlines() if line.startswith("AcmeTag ")]
    assert len(rows) == 1, listing
    return rows[0]


def test_olivine_passes_lists_acme_tag_with_its_distribution(venv):
    listed = venv.olivine("passes")

    assert listed.returncode == 0, listed.stderr
    assert _acme_row(listed.stdout)[:4] == ["AcmeTag", "hf", "hf", "olivine-acme"]
    rows = json.loads(venv.olivine("passes", "--json").stdout)
    template_version = re.search(r'^version\s*=\s*"([^"]+)"',
                                 (ROOT / "examples" / "plugin-template" / "pyproject.toml").read_text(), re.M)[1]
    assert {"name": "AcmeTag", "distribution": "olivine-acme", "version": template_version}.items() <= next(
        row for row in rows if row["name"] == "AcmeTag").items()


def test_olivine_passes_show_prints_the_config_json_schema(venv):
    shown = venv.olivine("passes", "show", "AcmeTag")

    assert shown.returncode == 0, shown.stderr
    described = json.loads(shown.stdout)
    assert described["description"] == "Copy a Hugging Face model folder and write a vendor tag file into it."
    assert described["config_schema"]["properties"]["tag"] == {"default": "acme", "title": "Tag", "type": "string"}
    assert described["config_schema"]["additionalProperties"] is False


def test_olivine_run_produces_the_tagged_model(venv, hf_folder, tmp_path):
    workflow = tmp_path / "wf.json"
    workflow.write_text(json.dumps({
        "input_model": {"type": "HfModel", "model_path": str(hf_folder)},
        "passes": {"tag": {"type": "AcmeTag", "tag": "x"}},
        "engine": {"cache_dir": "cache", "output_dir": "out"},
    }))

    result = venv.olivine("run", "--config", str(workflow), "--no-progress")

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "model" / "ACME_TAG").read_text() == "x"
    assert (tmp_path / "out" / "model" / "config.json").read_text() == (hf_folder / "config.json").read_text()
    assert "AcmeTag" in result.stdout  # the summary table names the pass


def test_the_template_tests_pass_inside_the_venv(venv):
    template = venv.sources / "plugin-template"

    result = venv.run(str(venv.bin / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=template)

    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "skipped" not in result.stdout


def test_a_broken_plugin_is_recorded_with_its_distribution_and_version(venv, broken_plugin):
    shown = venv.olivine("plugins", "--json", PYTHONPATH=broken_plugin)

    assert shown.returncode == 0, shown.stderr
    broken = next(info for info in json.loads(shown.stdout) if info["name"] == "broken")
    assert (broken["distribution"], broken["version"]) == ("olivine-broken", "0.3.0")
    assert broken["error"] == "ModuleNotFoundError: No module named 'acme_vendor_sdk_not_installed'"
    acme = next(info for info in json.loads(shown.stdout) if info["name"] == "acme")
    assert (acme["error"], acme["hooks"]) == (None, ["register_passes"])


def test_a_broken_plugin_does_not_stop_the_others(venv, broken_plugin):
    listed = venv.olivine("passes", PYTHONPATH=broken_plugin)

    assert listed.returncode == 0, listed.stderr
    assert _acme_row(listed.stdout)[3] == "olivine-acme"
    assert "olivine-broken" in listed.stderr  # one warning line names what failed


def test_strict_plugins_turns_the_failure_into_a_one_line_error(venv, broken_plugin):
    listed = venv.olivine("passes", PYTHONPATH=broken_plugin, OLIVINE_STRICT_PLUGINS="1")

    assert listed.returncode == 2
    assert listed.stdout == ""
    assert listed.stderr.splitlines() == [
        "error: plugin broken (olivine-broken) failed: "
        "ModuleNotFoundError: No module named 'acme_vendor_sdk_not_installed'"]


def test_load_plugins_selects_only_the_named_plugins(venv, broken_plugin):
    shown = venv.olivine("plugins", "--json", PYTHONPATH=broken_plugin, OLIVINE_LOAD_PLUGINS="acme",
                         OLIVINE_STRICT_PLUGINS="1")

    assert shown.returncode == 0, shown.stderr
    assert [(info["name"], info["error"]) for info in json.loads(shown.stdout)] == [
        ("builtin", None), ("acme", None)]


def test_a_duplicate_pass_name_is_an_error_naming_both_distributions(venv, fork_plugin):
    listed = venv.olivine("passes", PYTHONPATH=fork_plugin)

    assert listed.returncode == 2
    (line,) = listed.stderr.splitlines()
    assert line.startswith("error: pass 'AcmeTag' is registered twice")
    assert "olivine-acme " in line and "olivine-acme-fork " in line
    shown = venv.olivine("plugins", PYTHONPATH=fork_plugin)
    assert shown.returncode == 0
    assert shown.stderr.splitlines() == [line.replace("error: ", "conflict: ", 1)]
    chosen = venv.olivine("passes", PYTHONPATH=fork_plugin, OLIVINE_LOAD_PLUGINS="acme")
    assert chosen.returncode == 0 and _acme_row(chosen.stdout)[3] == "olivine-acme"
