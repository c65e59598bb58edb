"""Head to head at a realistic size: Phi-3-mini's widths with 2 layers (233 M parameters), olivine against
the hand-written script and Olive 0.13.

The work is head_to_head.py's (LoRA on the tone data with the example's adapter, completion-only loss for
olivine and the hand-written script, batch 1 x accumulation 4, lr 1e-3 with linear decay; merge; int4 build;
greedy accuracy), on a model with Phi-3-mini's widths (hidden 3072, 32 heads, MLP 8192) and 2 layers, random
weights, and the tiny model's tokenizer (vocabulary 1024, so 233 M parameters), written once into a cache
folder (``--model-cache``; never into the repository). 20 optimizer steps and 2 threads by default. The tiny
model mostly measures overhead; at this size the optimizer steps are where a CPU user's time goes.

Training tokens/s, the figure the target is set on (olivine >= 2x Olive's):

- olivine: ``train_tokens_per_second`` from its run.json (tokens of every sample trained on, over the seconds
  of the optimizer steps);
- hand-written: the same count over the seconds of its optimizer-step loop, printed by handwritten/train.py;
- Olive: steps x 4 samples x the mean sample length (the same texts, no special tokens) over the Trainer's
  ``train_runtime`` (which also holds the Trainer's set-up inside ``train()``; logged at Olive's debug level).

Wall time and peak RSS are end to end, measured as head_to_head.py measures them; ratios are of figures from
this run. Olive runs with its telemetry off. The int4 accuracy of random weights trained 20 steps means
nothing and is not reported. Run on an idle machine:

    python bench/realistic.py [--steps 20] [--threads 2] [--skip-olive] [--work DIR] [--model-cache DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import head_to_head as h2h  # noqa: E402

WIDTHS = {"hidden_size": 3072, "num_heads": 32, "intermediate_size": 8192, "num_layers": 2}
TARGET = 2.0  # olivine's training tokens/s over Olive's


def make_model(cache: Path, env: dict) -> Path:
    """Phi-3-mini widths, 2 layers, random weights, with the tiny model's tokenizer; made once per cache."""
    model = cache / "phi3-mini-2layers"
    if (model / "config.json").is_file():
        return model
    cache.mkdir(parents=True, exist_ok=True)
    partial = cache / "phi3-mini-2layers.partial"
    code = ("import sys; from olivine.testing import make_tiny_phi3, tone_texts; "
            f"make_tiny_phi3(sys.argv[1], tone_texts(), **{WIDTHS!r})")
    subprocess.run([sys.executable, "-c", code, str(partial)], check=True, env=env)
    partial.rename(model)
    return model


def mean_sample_tokens(model: Path, data: Path, max_seq_len: int) -> float:
    """Mean tokens per training sample (prompt and completion, no special tokens), to count Olive's tokens."""
    from olivine.testing import COMPLETION_TEMPLATE, PROMPT_TEMPLATE, load_tone_rows
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model)
    rows = load_tone_rows("train", data)
    return statistics.mean(min(max_seq_len, len(tokenizer(PROMPT_TEMPLATE.format(**row) + COMPLETION_TEMPLATE.format(
        **row), add_special_tokens=False)["input_ids"])) for row in rows)


def olivine_tokens_per_second(work: Path) -> float | None:
    run = work / "olivine" / "out" / "run.json"
    return _find_key(json.loads(run.read_text()), "train_tokens_per_second") if run.is_file() else None


def handwritten_tokens_per_second(work: Path) -> float | None:
    log = work / "handwritten" / "log.txt"
    found = re.findall(r"train_tokens_per_second ([0-9.]+)", log.read_text(errors="replace")) if log.is_file() else []
    return float(found[-1]) if found else None


def olive_tokens_per_second(work: Path, steps: int, mean_tokens: float) -> float | None:
    log = work / "olive" / "log.txt"
    found = re.findall(r"'train_runtime': '?([0-9.]+)", log.read_text(errors="replace")) if log.is_file() else []
    return steps * 4 * mean_tokens / float(found[-1]) if found else None


def _find_key(node, key: str):
    if isinstance(node, dict):
        if key in node:
            return float(node[key])
        node = list(node.values())
    if isinstance(node, list):
        for item in node:
            value = _find_key(item, key)
            if value is not None:
                return value
    return None


def report(rows: list[h2h.Row], speed: dict[str, float | None], steps: int, threads: int) -> list[str]:
    lines = [f"realistic size: Phi-3-mini widths, 2 layers (233 M parameters, random weights), tone data, {steps} "
             f"optimizer steps, {threads} thread(s), {os.cpu_count()} CPUs ({_cpu_name()}), "
             f"load {os.getloadavg()[0]:.1f}",
             f"Olive telemetry: off (OLIVE_DISABLE_TELEMETRY=1) for '{h2h.OLIVE}'", ""]
    lines.append(f"{'':28}" + "".join(f"{row.name:>16}" for row in rows))

    def line(label: str, values: list[str]) -> None:
        lines.append(f"{label:28}" + "".join(f"{v:>16}" for v in values))

    line("training tokens/s", [h2h._fmt(speed.get(r.name), "{:.1f}") for r in rows])
    line("wall time (s)", [h2h._fmt(r.wall_s, "{:.1f}") if r.error is None else h2h._failed(r) for r in rows])
    line("peak RSS (MB)", [h2h._fmt(r.peak_rss_mb, "{:.0f}") if r.error is None else "-" for r in rows])
    for step in h2h.STEPS:
        line(f"  {step} (s)", [h2h._fmt(r.steps.get(step), "{:.2f}") for r in rows])
    line("  outside passes (s)", [h2h._fmt(r.wall_s - sum(r.steps.get(s, 0) for s in h2h.STEPS)
                                           if r.wall_s is not None and r.error is None else None, "{:.1f}")
                                      for r in rows])
    lines.append("")
    by_name = {row.name: row for row in rows if row.error is None}
    mine, hand, theirs = by_name.get("olivine"), by_name.get("hand-written"), by_name.get(h2h.OLIVE)
    mine_speed = speed.get("olivine") if mine else None
    theirs_speed = speed.get(h2h.OLIVE) if theirs else None
    hand_speed = speed.get("hand-written") if hand else None
    lines.append(h2h._ratio("olivine / Olive training tokens/s", mine_speed and theirs_speed and
                            mine_speed / theirs_speed, f">= {TARGET}", lambda v: v >= TARGET))
    lines.append(_plain("olivine / hand-written training tokens/s", mine_speed and hand_speed and
                        mine_speed / hand_speed))
    lines.append(_plain("Olive / olivine wall time", theirs and mine and theirs.wall_s / mine.wall_s))
    lines.append(_plain("olivine / hand-written wall time", mine and hand and mine.wall_s / hand.wall_s))
    lines.append(_plain("olivine / Olive peak RSS", mine and theirs and mine.peak_rss_mb / theirs.peak_rss_mb))
    lines.append(_plain("olivine / hand-written peak RSS", mine and hand and mine.peak_rss_mb / hand.peak_rss_mb))
    for row in rows:
        if row.error:
            lines.append(f"{row.name}: {row.error}")
        lines += [f"note: {note}" for note in row.notes if "accuracy" not in note]
    lines.append(f"note: {h2h.OLIVE} tokens/s: steps x 4 samples x mean sample length over the Trainer's "
                 "train_runtime (its set-up inside train() included); the others time the optimizer steps only")
    return lines


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _plain(label: str, value: float | None) -> str:
    return f"{label:42} {value:7.2f}" if value else f"{label:42} {'n/a':>7}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="optimizer steps (default 20)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for every contender (default 2)")
    parser.add_argument("--skip-olive", action="store_true", help="do not run Olive 0.13 even if its venv exists")
    parser.add_argument("--work", type=Path, help="keep every contender's folder here (default: a temp dir)")
    parser.add_argument("--model-cache", type=Path, default=Path(tempfile.gettempdir()) / "olivine-bench-models",
                        help="where the 233 M model is written once and reused (default: the temp dir)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per command")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = parser.parse_args()

    env = h2h.contender_env(args.threads)
    example = json.loads(h2h.EXAMPLE.read_text()) if h2h.EXAMPLE.is_file() else None
    training = h2h.training_from_example(example, args.steps)
    work = args.work or Path(tempfile.mkdtemp(prefix="olivine-realistic-"))
    work.mkdir(parents=True, exist_ok=True)
    from olivine.testing import tone_data_dir

    model, data = make_model(args.model_cache, env), tone_data_dir()
    h2h.warm_up(env)
    contenders = [
        ("hand-written", lambda: h2h.handwritten(work, model, data, training, args.threads, env, args.timeout)),
        ("olivine", lambda: h2h.olivine(work, model, data, training, example, env, args.timeout)),
    ]
    if args.skip_olive:
        print("Olive 0.13: skipped (--skip-olive)")
    else:
        contenders.append((h2h.OLIVE, lambda: h2h.olive(work, model, data, training, env, args.timeout,
                                                        log_level=0)))
    rows = h2h.run_contenders(contenders)
    speed = {"olivine": olivine_tokens_per_second(work), "hand-written": handwritten_tokens_per_second(work),
             h2h.OLIVE: olive_tokens_per_second(work, args.steps,
                                                mean_sample_tokens(model, data, training.max_seq_len))}
    print("\n" + "\n".join(report(rows, speed, args.steps, args.threads)))
    print(f"\nfolders and logs: {work}")
    if args.json:
        args.json.write_text(json.dumps({"rows": [row.__dict__ for row in rows], "train_tokens_per_second": speed},
                                        indent=2))


if __name__ == "__main__":
    main()
