"""The committed version set (requirements/verified.txt) pins everything the workspace asks for.

A requirement missing from it would float to the newest release on the next fresh setup, which is how a
new upstream release turned CI red before.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
VERIFIED = ROOT / "requirements" / "verified.txt"
HELD_BACK = ROOT / "requirements" / "held-back.txt"
sys.path.insert(0, str(ROOT / "scripts"))
from plugin_extras import LEFT_OUT  # noqa: E402  (the extras setup.sh installs, so the ones to pin)

tomllib = pytest.importorskip("tomllib", reason="reads pyproject.toml with Python 3.11's tomllib")


def pinned() -> dict[str, str]:
    lines = [line.strip() for line in VERIFIED.read_text().splitlines()]
    pins = dict(line.split("==", 1) for line in lines if line and not line.startswith("#"))
    return {canonicalize_name(name): version for name, version in pins.items()}


def workspace_requirements() -> list[tuple[str, Requirement]]:
    """(member, requirement) for each third-party requirement that setup.sh installs on this platform."""
    members = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["olivine"]["workspace"]["members"]
    found = []
    for member in members:
        project = tomllib.loads((ROOT / member / "pyproject.toml").read_text())["project"]
        groups = {"": project.get("dependencies", []), **{
            extra: deps for extra, deps in project.get("optional-dependencies", {}).items() if extra not in LEFT_OUT}}
        for extra, deps in groups.items():
            for parsed in map(Requirement, deps):
                applies = parsed.marker is None or parsed.marker.evaluate({"extra": extra})
                if applies and not parsed.name.startswith("olivine"):
                    found.append((member, parsed))
    return found


def test_every_workspace_requirement_is_pinned_to_a_version_it_admits():
    pins = pinned()
    for member, requirement in workspace_requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{member}: {requirement.name} is not in {VERIFIED.name}; run make test-latest"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{member}: {requirement} does not admit the verified {name}=={pins[name]}; run make test-latest")


def test_the_set_keeps_the_releases_held_back():
    """requirements/held-back.txt: constraints with a reason each, which the verified set must satisfy."""
    held = [Requirement(line.split("#")[0]) for line in HELD_BACK.read_text().splitlines()
            if line.split("#")[0].strip()]
    assert held, f"{HELD_BACK.name} holds nothing back: delete it and its use in setup.sh instead"
    pins = pinned()
    for requirement in held:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is held back but not in {VERIFIED.name}"
        assert requirement.specifier.contains(pins[name]), f"{VERIFIED.name} pins {name}=={pins[name]}: {requirement}"


def test_torch_is_the_cpu_build_that_setup_installs():
    wanted = re.search(r'"torch==([^"]+)"', (ROOT / "scripts" / "install_cpu_torch.sh").read_text())[1]
    assert pinned()["torch"] == wanted


@pytest.mark.parametrize("header", ["python", "platform"])
def test_the_set_says_where_it_was_verified(header):
    assert re.search(rf"^# {header}: \S", VERIFIED.read_text(), re.M)
