"""Print a package's optional-dependency names, comma-separated, for setup.sh.

Test-only extras are left out, and so are the GPU runtime flavours (``cuda``, ``directml``): they
share their import package with the ``cpu`` one, and this setup is CPU-only.
"""

import re
import sys

try:
    import tomllib
except ImportError:  # Python 3.10: read the one table setup.sh needs
    tomllib = None

LEFT_OUT = {"test", "cuda", "directml"}


def extras(pyproject: str) -> list[str]:
    if tomllib is not None:
        with open(pyproject, "rb") as handle:
            table = tomllib.load(handle)["project"].get("optional-dependencies", {})
        return list(table)
    text = open(pyproject, encoding="utf-8").read()
    section = re.search(r"^\[project\.optional-dependencies\]\n(.*?)(?=^\[|\Z)", text, re.M | re.S)
    return re.findall(r"^([A-Za-z0-9_.-]+)\s*=", section.group(1), re.M) if section else []


if __name__ == "__main__":
    print(",".join(name for name in extras(sys.argv[1]) if name not in LEFT_OUT))
