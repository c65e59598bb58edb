"""Write docs/models.md from the family matrix's results (scripts/family_matrix.py).

    .venv/bin/python scripts/gen_models_doc.py           # run the matrix (~1 min on one core), write the page
    .venv/bin/python scripts/gen_models_doc.py --check   # run it and fail when the page differs

tests/test_model_families.py compares each family's row with what its own run shows, so the page
cannot drift from the installed builder and transformers.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "models.md"
TABLE_START, TABLE_END = "<!-- family table: generated -->", "<!-- end of family table -->"
HEADER = ("| Architecture | model_type | LoRA | merge | int4 (cpu) | genai generation, stop tokens | "
          "QLoRA (nf4, cpu) and merge | fp16 | attention in training | default LoRA targets |\n"
          "|---|---|---|---|---|---|---|---|---|---|")
COLUMNS = ("lora", "merge", "int4", "generate", "qlora", "fp16")
# What a passing fp16 check means: built for cuda, since no CPU target of the builder takes fp16.
FP16_BUILT = "built for cuda; not run (the builder makes no fp16 cpu model)"


def _matrix():
    if "family_matrix" not in sys.modules:
        spec = importlib.util.spec_from_file_location("family_matrix", ROOT / "scripts" / "family_matrix.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["family_matrix"] = module  # dataclasses look their module up while the class is made
        spec.loader.exec_module(module)
    return sys.modules["family_matrix"]


def row(result) -> str:
    """One table row for a FamilyResult."""
    matrix = _matrix()
    if result.skipped:
        cells = ["not run: " + result.skipped] + [""] * (len(COLUMNS) + 1)
    else:
        limits = matrix.KNOWN_LIMITS.get(result.architecture, {})
        marks = {True: "yes", False: "no", None: "-"}
        cells = [marks[result.passed(stage)] for stage in COLUMNS]
        if result.passed("fp16"):
            cells[COLUMNS.index("fp16")] = FP16_BUILT
        for stage, reason in limits.items():
            if result.passed(stage) is False:
                cells[COLUMNS.index(stage)] = "no: " + reason
        targets = result.targets if isinstance(result.targets, str) else ", ".join(result.targets or [])
        cells += [result.attention or "-", targets or "-"]
    return f"| {result.architecture} | {result.model_type or '-'} | " + " | ".join(cells) + " |"


def table(results) -> str:
    return "\n".join([HEADER, *(row(r) for r in results)])


def rows_in_page(text: str) -> dict[str, str]:
    """Architecture -> row of the generated table in the page's text."""
    body = text.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0]
    lines = [line for line in body.strip().splitlines()[2:] if line.startswith("| ")]
    return {line.split("|")[1].strip(): line for line in lines}


def run_all() -> list:
    import torch

    torch.set_num_threads(1)
    matrix = _matrix()
    tokenizer = matrix.tone_tokenizer()
    with tempfile.TemporaryDirectory(prefix="olivine-family-matrix-") as work:
        return [matrix.run_family(name, Path(work) / name, tokenizer) for name in matrix.builder_architectures()]


def render(page: str, results) -> str:
    before, rest = page.split(TABLE_START, 1)
    after = rest.split(TABLE_END, 1)[1]
    return f"{before}{TABLE_START}\n{table(results)}\n{TABLE_END}{after}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when docs/models.md is not current")
    args = parser.parse_args(argv)
    page = PAGE.read_text(encoding="utf-8")
    wanted = render(page, run_all())
    if args.check:
        if wanted != page:
            print(f"{PAGE.relative_to(ROOT)} is stale: run scripts/gen_models_doc.py")
            return 1
        return 0
    PAGE.write_text(wanted, encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
