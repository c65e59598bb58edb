"""Core responsiveness: listing passes, rejecting a bad config, fully cached 3-pass re-runs.

Each figure is printed beside a baseline measured in the same run (a bare interpreter start), and
beside the target from the core issue. Run on an idle machine: `python bench/core_cli.py`
(`--skip-flagship` leaves out the re-run of the flagship example, whose first, untimed run trains
for about half a minute).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUPPORT = HERE.parent / "core" / "tests" / "support"
REPEATS = 5


def timed(args: list[str], env: dict | None = None, cwd: Path | None = None) -> float:
    samples = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        subprocess.run(args, env={**os.environ, **(env or {})}, cwd=cwd, capture_output=True, check=False)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def cached_rerun_workflow(folder: Path) -> Path:
    model = folder / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(os.urandom(1 << 20))
    workflow = {
        "input_model": {"type": "HfModel", "model_path": str(model)},
        "passes": {name: {"type": "Touch", "label": name} for name in ("a", "b", "c")},
        "engine": {"cache_dir": "cache", "output_dir": "out"},
    }
    path = folder / "workflow.json"
    path.write_text(json.dumps(workflow))
    return path


def flagship_copy(folder: Path) -> Path:
    """examples/phi3-emotion (LoRA, merge, int4 build, four evaluated stages) with the tiny Phi-3, in ``folder``."""
    import shutil

    from olivine.testing import tiny_phi3

    example = HERE.parent / "examples" / "phi3-emotion"
    shutil.copytree(example / "data", folder / "data")
    shutil.copy2(example / "workflow.json", folder / "workflow.json")
    shutil.copytree(tiny_phi3(), folder / "models" / "tiny-phi3")
    return folder / "workflow.json"


def main() -> None:
    skip_flagship = "--skip-flagship" in sys.argv[1:]
    olivine = [sys.executable, "-m", "olivine"]
    baseline = timed([sys.executable, "-c", "pass"])
    rows = [("bare python start (baseline)", baseline, None)]
    rows.append(("olivine passes (all plugins)", timed([*olivine, "passes"]), 0.5))
    rows.append(("olivine --help", timed([*olivine, "--help"]), None))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = {"OLIVINE_PLUGIN_MODULES": "olivine_testpasses", "PYTHONPATH": str(SUPPORT)}
        bad = folder / "bad.json"
        bad.write_text(json.dumps({"input_model": {"type": "HfModel", "model_path": str(folder)},
                                   "passes": {"a": {"type": "Tuoch"}}}))
        rows.append(("bad config rejected (olivine run)", timed([*olivine, "run", "--config", str(bad)], env), 1.0))
        workflow = cached_rerun_workflow(folder)
        subprocess.run([*olivine, "run", "--config", str(workflow), "--no-progress"], env={**os.environ, **env},
                       check=True, capture_output=True)
        rows.append(("fully cached 3-pass re-run", timed([*olivine, "run", "--config", str(workflow),
                                                           "--no-progress"], env), 3.0))
        if not skip_flagship:
            flagship = flagship_copy(folder / "flagship")
            subprocess.run([*olivine, "run", "--config", str(flagship), "--no-progress"], check=True,
                           capture_output=True)
            rows.append(("fully cached flagship re-run (+ 4 evals)",
                         timed([*olivine, "run", "--config", str(flagship), "--no-progress"]), 3.0))
    print(f"{'measure':40} {'seconds':>8} {'x baseline':>11} {'target':>8}")
    for name, seconds, target in rows:
        verdict = "" if target is None else (f"<{target:g}s " + ("ok" if seconds < target else "MISSED"))
        print(f"{name:40} {seconds:8.3f} {seconds / baseline:11.1f} {verdict:>8}")


if __name__ == "__main__":
    main()
