"""Run the benchmarks one after another (``make bench``); GPU-only ones are skipped without CUDA.

Each benchmark prints its own figures, baselines and ratios; this prints a closing table of what ran,
how long it took and whether it exited cleanly. Run on an idle machine: the figures are timings.

    python bench/run_all.py [--quick] [--only head_to_head,core_cli] [--skip lora_speed]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name -> (arguments, arguments with --quick, needs CUDA)
BENCHMARKS: dict[str, tuple[list[str], list[str], bool]] = {
    "core_cli": ([], ["--skip-flagship"], False),
    "lora_speed": ([], ["--tiny-steps", "50", "--mini-steps", "3"], False),
    "merge_build_speed": ([], ["--models", "tiny"], False),
    "head_to_head": ([], ["--steps", "40"], False),
    "realistic": ([], ["--steps", "2"], False),
    "gpu_lora": ([], ["--steps", "3"], True),
}


def cuda_available() -> bool:
    """Asked in a child so that this runner never imports torch itself."""
    probe = subprocess.run([sys.executable, "-c", "import torch; print(torch.cuda.is_available())"],
                           capture_output=True, text=True, check=False)
    return probe.stdout.strip() == "True"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps: checks the scripts, not the targets")
    parser.add_argument("--only", help="comma-separated names to run (default: all)")
    parser.add_argument("--skip", default="", help="comma-separated names to leave out")
    options = parser.parse_args()
    names = options.only.split(",") if options.only else list(BENCHMARKS)
    unknown = [n for n in names + [s for s in options.skip.split(",") if s] if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    has_cuda = cuda_available()
    results = []
    for name in names:
        args, quick_args, needs_cuda = BENCHMARKS[name]
        if name in options.skip.split(","):
            continue
        if needs_cuda and not has_cuda:
            results.append((name, "skipped: no CUDA GPU", 0.0))
            continue
        print(f"\n=== {name}", flush=True)
        started = time.perf_counter()
        code = subprocess.run([sys.executable, str(HERE / f"{name}.py"), *(quick_args if options.quick else args)],
                              check=False).returncode
        results.append((name, "ok" if code == 0 else f"FAILED (exit {code})", time.perf_counter() - started))
    print("\n=== summary")
    for name, outcome, seconds in results:
        print(f"{name:20} {outcome:24} {seconds:8.1f} s")
    return 1 if any(outcome.startswith("FAILED") for _, outcome, _ in results) else 0


if __name__ == "__main__":
    sys.exit(main())
