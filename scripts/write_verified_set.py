"""Write the installed versions of this venv as the verified set: ``python scripts/write_verified_set.py OUT``.

A pip constraints file (one ``name==version`` a line), read by scripts/setup.sh. olivine's own editable
packages are left out; local version labels (``+cpu``) are dropped so that the pin admits the same release
from any index, the CPU one included.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import sys
from pathlib import Path

LEFT_OUT = {"pip", "setuptools", "wheel"}


def _is_editable(dist: importlib.metadata.Distribution) -> bool:
    direct_url = json.loads(dist.read_text("direct_url.json") or "{}")
    return bool(direct_url.get("dir_info", {}).get("editable"))


def pins() -> list[str]:
    dists = [d for d in importlib.metadata.distributions() if d.metadata["Name"]]
    # An editable package is also seen through its source tree's *.egg-info, which has no direct_url.json.
    editable = {d.metadata["Name"].lower() for d in dists if _is_editable(d)}
    found = {d.metadata["Name"].lower(): f"{d.metadata['Name']}=={d.version.split('+')[0]}" for d in dists}
    return [found[key] for key in sorted(found) if key not in editable | LEFT_OUT]


def render() -> str:
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    head = ["# The verified version set: every test passed on it. Written by `make test-latest`; do not edit.",
            f"# python: {version}",
            f"# platform: {platform.system()} {platform.machine()}"]
    return "\n".join(head + pins()) + "\n"


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(render())
    print(f"wrote {sys.argv[1]}")
