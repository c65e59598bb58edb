"""Head to head: olivine's workflow, the hand-written four-process script and Olive 0.13, on the same work.

The work: LoRA fine-tuning of the tiny Phi-3 on the tone data (completion-only loss, lr 1e-3, linear decay,
batch 1 x accumulation 4, N optimizer steps, one thread), merging the adapter, building an int4 CPU model
with onnxruntime-genai's builder, and greedy accuracy of that model on the held-out phrases.

- olivine: ``olivine run`` on a copy of examples/phi3-emotion/workflow.json with these training args, its
  per-pass evaluators dropped and one engine evaluator (accuracy of the int4 model), fresh cache;
- hand-written: bench/handwritten/{train,merge,build,evaluate}.py, four processes, as a user writes them;
- Olive 0.13: bench/olive/workflow.json run by bench/.olive-venv (made by bench/olive/setup_venv.sh; skipped
  when absent), then bench/handwritten/evaluate.py in that venv, since Olive has no generation-accuracy
  evaluator for onnxruntime-genai models. Olive runs with its telemetry off (OLIVE_DISABLE_TELEMETRY=1), as a
  user who cares about time runs it; the ratios use that run. By default it also runs once with telemetry on,
  shown beside it and labelled (``--olive-telemetry off`` skips that run).

With ``--seeds 0,1,2,3,4`` the hand-written script and olivine also train with the other seeds (untimed) and
the report gives the int4 accuracy of each seed, their mean and spread; each olivine model is also scored by
bench/handwritten/evaluate.py, so that the two evaluators can be compared on the same model.

Each contender runs in its own fresh folder with its own copy of the model and data. Wall time and peak
RSS (the sum over the whole process tree, polled, and never below the largest single process) are measured
from here (with psutil, which peft depends on); per-pass times come from olivine's run.json and Olive's
footprint.json. Ratios are of figures measured in this run. Run on an idle machine:

    python bench/head_to_head.py [--steps 800] [--threads 1] [--skip-olive] [--olive-telemetry both|off|on]
                                 [--seeds 0,1,2] [--json results.json]
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
EXAMPLE = REPO / "examples" / "phi3-emotion" / "workflow.json"
OLIVE_VENV = HERE / ".olive-venv"
OLIVE_CONFIG = HERE / "olive" / "workflow.json"
HANDWRITTEN = HERE / "handwritten"
STEPS = ("train", "merge", "build", "evaluate")
PASS_STEP = {"LoRA": "train", "QLoRA": "train", "MergeAdapterWeights": "merge", "ModelBuilder": "build",
             "lora": "train", "mergeadapterweights": "merge", "modelbuilder": "build"}
PHI3_TARGETS = ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"]
# Where Phi-3's LoRA-able modules sit, to turn a target_modules pattern into the names Olive takes (a list)
PHI3_MODULES = {"qkv_proj": "model.layers.0.self_attn.qkv_proj", "o_proj": "model.layers.0.self_attn.o_proj",
                "gate_up_proj": "model.layers.0.mlp.gate_up_proj", "down_proj": "model.layers.0.mlp.down_proj",
                "embed_tokens": "model.embed_tokens", "lm_head": "lm_head"}
OLIVE = "Olive 0.13"  # telemetry off: the row the ratios use
OLIVE_TELEMETRY_ON = "Olive tel. on"
TELEMETRY_OFF = {"OLIVE_DISABLE_TELEMETRY": "1"}


@dataclass
class Measured:
    wall_s: float
    peak_rss_mb: float
    returncode: int


@dataclass
class Row:
    name: str
    wall_s: float | None = None
    peak_rss_mb: float | None = None
    steps: dict[str, float] = field(default_factory=dict)
    accuracy: float | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Training:
    """The LoRA settings all three contenders use (from the example's LoRA pass) and the bench's training args."""

    steps: int
    seed: int = 0
    r: int = 16
    alpha: float = 32
    dropout: float = 0.1
    target_modules: list[str] | str = field(default_factory=lambda: list(PHI3_TARGETS))  # str: a regex
    modules_to_save: list[str] = field(default_factory=list)
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    max_seq_len: int = 64

    def training_args(self) -> dict:
        return {"seed": self.seed, "learning_rate": 1e-3, "lr_scheduler_type": "linear", "warmup_steps": 0,
                "per_device_train_batch_size": 1, "gradient_accumulation_steps": 4, "max_steps": self.steps,
                "weight_decay": self.weight_decay, "max_grad_norm": self.max_grad_norm}


# --- measuring a process tree -------------------------------------------------------------------------------

def measure(args: list[str], log: Path, env: dict[str, str], cwd: Path, timeout: float) -> Measured:
    """Run one command to the end: wall seconds, peak RSS of its process tree (MB), exit status."""
    import psutil

    reaped_before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with log.open("ab") as out:
        out.write(f"$ {' '.join(args)}\n".encode())
        out.flush()
        start = time.perf_counter()
        child = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        peak = _poll_tree(psutil.Process(child.pid), child, start + timeout)
        wall = time.perf_counter() - start
    # the largest single process of the tree, from the kernel: a floor for a peak the polling missed
    reaped_after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if reaped_after > reaped_before:
        peak = max(peak, reaped_after * 1024)
    code = child.returncode if child.returncode is not None else -9
    return Measured(wall, peak / 2**20, code)


def _poll_tree(root, child: subprocess.Popen, deadline: float) -> int:
    """Largest sum of RSS over the child and its descendants, sampled every 20 ms; kills it at the deadline."""
    import psutil

    peak = 0
    while child.poll() is None:
        if time.perf_counter() > deadline:
            _kill_tree(root)
            child.wait()
            break
        total = 0
        try:
            for proc in [root, *root.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
        peak = max(peak, total)
        time.sleep(0.02)
    return peak


def _kill_tree(root) -> None:
    import psutil

    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return
    for proc in reversed(procs):
        try:
            proc.kill()
        except psutil.Error:
            pass


def run_steps(row: Row, commands: list[tuple[str, list[str]]], folder: Path, env: dict, timeout: float) -> bool:
    """Run named commands in order into one row (wall times add up, peak RSS is the largest); False on failure."""
    log = folder / "log.txt"
    row.wall_s, row.peak_rss_mb = 0.0, 0.0
    for step, command in commands:
        measured = measure(command, log, env, folder, timeout)
        row.wall_s += measured.wall_s
        row.peak_rss_mb = max(row.peak_rss_mb, measured.peak_rss_mb)
        row.steps[step] = measured.wall_s
        if measured.returncode != 0:
            row.error = f"{step} failed (exit {measured.returncode}): {_tail(log)} [log: {log}]"
            return False
    return True


def _tail(log: Path) -> str:
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][-300:] if lines else "no output"


# --- the contenders -----------------------------------------------------------------------------------------

def handwritten(work: Path, model: Path, data: Path, training: Training, threads: int, env: dict,
                timeout: float) -> Row:
    row = Row("hand-written")
    folder = _fresh(work / "handwritten", model, data)
    py = sys.executable
    targets = (["--target-modules-regex", training.target_modules] if isinstance(training.target_modules, str)
               else ["--target-modules", *training.target_modules])
    lora = ["--r", str(training.r), "--alpha", str(training.alpha), "--dropout", str(training.dropout),
            *targets, "--weight-decay", str(training.weight_decay),
            "--max-grad-norm", str(training.max_grad_norm), "--max-seq-len", str(training.max_seq_len)]
    if training.modules_to_save:
        lora += ["--modules-to-save", *training.modules_to_save]
    commands = [
        ("train", [py, str(HANDWRITTEN / "train.py"), "--model", "model", "--data", "data/train.jsonl",
                   "--output", "adapter", "--steps", str(training.steps), "--threads", str(threads),
                   "--seed", str(training.seed), *lora]),
        ("merge", [py, str(HANDWRITTEN / "merge.py"), "--model", "model", "--adapter", "adapter",
                   "--output", "merged", "--threads", str(threads)]),
        ("build", [py, str(HANDWRITTEN / "build.py"), "--model", "merged", "--output", "int4",
                   "--threads", str(threads)]),
        ("evaluate", [py, str(HANDWRITTEN / "evaluate.py"), "--model", "int4", "--data", "data/test.jsonl"]),
    ]
    if run_steps(row, commands, folder, env, timeout):
        row.accuracy = _printed_accuracy(folder / "log.txt")
    row.notes.append("hand-written: each step is its whole process, imports included")
    return row


def olivine(work: Path, model: Path, data: Path, training: Training, example: dict | None, env: dict,
            timeout: float) -> Row:
    row = Row("olivine")
    if example is None:
        row.error = f"{EXAMPLE.relative_to(REPO)} not found"
        return row
    folder = _fresh(work / "olivine", model, data)
    workflow = olivine_workflow(example, folder, training)
    (folder / "workflow.json").write_text(json.dumps(workflow, indent=2))
    command = [sys.executable, "-m", "olivine", "run", "--config", "workflow.json", "--no-progress"]
    if not run_steps(row, [("run", command)], folder, env, timeout):
        return row
    record = json.loads((folder / "out" / "run.json").read_text())
    row.steps = {PASS_STEP.get(stage.get("type"), stage["name"]): stage["seconds"]
                 for stage in record["stages"] if "seconds" in stage}
    row.accuracy = _accuracy_metric(record["stages"][-1].get("metrics", {}))
    row.notes.append("olivine: evaluation and start-up are inside 'outside passes' (run.json times passes only)")
    return row


def olive(work: Path, model: Path, data: Path, training: Training, env: dict, timeout: float,
          telemetry: bool = False, log_level: int | None = None) -> Row:
    """Olive's run; ``telemetry`` False sets OLIVE_DISABLE_TELEMETRY=1, True removes it from the environment;
    ``log_level`` overrides the config's log_severity_level (0: debug, which logs the Trainer's train_runtime)."""
    row = Row(OLIVE_TELEMETRY_ON if telemetry else OLIVE)
    python = OLIVE_VENV / "bin" / "python"
    if not python.is_file():
        row.error = "skipped: bench/.olive-venv not found (make it with bench/olive/setup_venv.sh)"
        return row
    env = {k: v for k, v in env.items() if k != "OLIVE_DISABLE_TELEMETRY"}
    if not telemetry:
        env.update(TELEMETRY_OFF)
    folder = _fresh(work / ("olive-telemetry-on" if telemetry else "olive"), model, data)
    config = olive_workflow(folder, training)
    if log_level is not None:
        config["log_severity_level"] = log_level
    (folder / "workflow.json").write_text(json.dumps(config, indent=2))
    commands = [
        ("run", [str(python), "-m", "olive", "run", "--config", "workflow.json"]),
        ("evaluate", [str(python), str(HANDWRITTEN / "evaluate.py"), "--model", "out", "--data",
                      "data/test.jsonl"]),
    ]
    ok = run_steps(row, commands, folder, env, timeout)
    footprint = folder / "out" / "footprint.json"
    if footprint.is_file():
        evaluate = row.steps.pop("evaluate", None)
        row.steps.pop("run", None)
        for node in json.loads(footprint.read_text()).values():
            if node.get("from_pass"):
                row.steps[PASS_STEP.get(node["from_pass"], node["from_pass"])] = node["end_time"] - node["start_time"]
        if evaluate is not None:
            row.steps["evaluate"] = evaluate
    if ok:
        row.accuracy = _printed_accuracy(folder / "log.txt")
    if telemetry:
        row.notes.append(f"{OLIVE_TELEMETRY_ON}: Olive with its telemetry on (OLIVE_DISABLE_TELEMETRY unset), "
                         "as Olive runs by default; shown for reference, not used in the ratios")
        return row
    row.notes.append(f"{OLIVE}: telemetry off (OLIVE_DISABLE_TELEMETRY=1); the ratios use this run")
    if training.modules_to_save:
        row.notes.append(f"Olive: trained without modules_to_save {training.modules_to_save} (Olive 0.13 "
                         "rejects any value for it), so it trains fewer parameters than the others")
    row.notes += ["Olive: loss on every token of prompt and completion (its text-generation data config has no "
                  "completion-only form)",
                  "Olive: int4 accuracy by bench/handwritten/evaluate.py in Olive's venv (a separate process, "
                  "counted in its wall time)"]
    return row


# --- configs ------------------------------------------------------------------------------------------------

def training_from_example(example: dict | None, steps: int) -> Training:
    """The example's LoRA settings (rank, alpha, dropout, modules), so every contender trains the same adapter."""
    training = Training(steps)
    if example is None:
        return training
    _, lora = _lora_pass(example)
    args = lora.get("training_args") or {}
    training.r = int(_first(lora, ("r", "lora_r"), training.r))
    training.alpha = float(_first(lora, ("alpha", "lora_alpha"), training.alpha))
    training.dropout = float(lora.get("lora_dropout", training.dropout))
    modules = lora.get("target_modules")
    # a string is a pattern peft matches against whole module names (the example's form), a list names suffixes
    training.target_modules = modules if isinstance(modules, str) else list(modules or PHI3_TARGETS)
    training.modules_to_save = list(lora.get("modules_to_save") or [])
    training.weight_decay = float(args.get("weight_decay", training.weight_decay))
    training.max_grad_norm = float(args.get("max_grad_norm", training.max_grad_norm))
    data = _data_config(example, lora.get("train_data_config"))
    training.max_seq_len = int((data or {}).get("pre_process_data_config", {}).get("max_seq_len", 64))
    return training


def olivine_workflow(example: dict, folder: Path, training: Training) -> dict:
    """The example, pointed at this folder's model and data, with the bench's training args and one evaluator
    (int4 accuracy on the test data), no evaluation of the input or intermediate models, fresh cache."""
    workflow = copy.deepcopy(example)
    workflow.pop("$schema", None)
    workflow["input_model"]["model_path"] = str(folder / "model")
    for data in workflow.get("data_configs", []):
        _point_at(data, folder / "data")
    _, lora = _lora_pass(workflow)
    for entry in workflow["passes"].values():
        entry.pop("evaluator", None)
    for name in ("eval_data_config", "eval_dataset_size"):
        lora.pop(name, None)
    lora["training_args"] = {**training.training_args(), "logging_steps": 50, "eval_strategy": "no",
                             "report_to": "none"}
    metric = _accuracy_metric_config(workflow)
    workflow["evaluators"] = {"bench": {"metrics": [metric]}} if metric else {}
    from olivine.config.schema import ENGINE_FIELDS

    engine = workflow.setdefault("engine", {})
    engine.update({key: workflow.pop(key) for key in ENGINE_FIELDS if key in workflow})  # Olive's top-level form
    engine.update({"cache_dir": str(folder / "cache"), "output_dir": str(folder / "out"),
                   "evaluate_input_model": False, "search_strategy": None})
    engine.pop("evaluator", None)
    if metric:
        engine["evaluator"] = "bench"
    return workflow


def olive_workflow(folder: Path, training: Training) -> dict:
    config = json.loads(OLIVE_CONFIG.read_text())
    config["input_model"]["model_path"] = str(folder / "model")
    config["data_configs"][0]["load_dataset_config"]["data_files"] = str(folder / "data" / "train.jsonl")
    config["data_configs"][0]["pre_process_data_config"]["max_seq_len"] = training.max_seq_len
    lora = config["passes"]["lora"]
    # no modules_to_save: Olive 0.13 declares it with type None, so any list is a validation error
    lora.update({"r": training.r, "alpha": training.alpha, "lora_dropout": training.dropout,
                 "target_modules": _as_names(training.target_modules)})
    args = training.training_args()
    args["warmup_ratio"] = float(args.pop("warmup_steps"))  # Olive's name
    lora["training_args"].update(args)
    config.update({"cache_dir": str(folder / "cache"), "output_dir": str(folder / "out")})
    return config


def _as_names(modules: list[str] | str) -> list[str]:
    """Olive 0.13 takes target_modules as a list only: a pattern becomes the Phi-3 module names it matches
    (peft matches a string against whole module names), so Olive trains the same adapter."""
    if isinstance(modules, list):
        return modules
    return [name for name, path in PHI3_MODULES.items() if re.fullmatch(modules, path)]


def _lora_pass(workflow: dict) -> tuple[str, dict]:
    for key, entry in workflow.get("passes", {}).items():
        if entry.get("type") in ("LoRA", "QLoRA"):
            return key, entry
    raise ValueError("the workflow has no LoRA pass")


def _first(mapping: dict, names: tuple[str, ...], default):
    return next((mapping[n] for n in names if n in mapping), default)


def _data_config(workflow: dict, name: str | None) -> dict | None:
    return next((d for d in workflow.get("data_configs", []) if d.get("name") == name), None)


def _point_at(data: dict, data_dir: Path) -> None:
    """Data files by their file name in this folder (train.jsonl, test.jsonl)."""
    load = data.get("load_dataset_config", {})
    files = load.get("data_files")
    if isinstance(files, str):
        load["data_files"] = str(data_dir / Path(files).name)
    elif isinstance(files, list):
        load["data_files"] = [str(data_dir / Path(f).name) for f in files]
    elif isinstance(files, dict):
        load["data_files"] = {k: str(data_dir / Path(v).name) for k, v in files.items()}


def _accuracy_metric_config(workflow: dict) -> dict | None:
    for evaluator in workflow.get("evaluators", {}).values():
        for metric in evaluator.get("metrics", []):
            if metric.get("type") == "accuracy":
                metric = copy.deepcopy(metric)
                for sub in metric.get("sub_types", []):
                    sub.pop("goal", None)
                # One prompt at a time, as handwritten/evaluate.py generates: the same work for both.
                metric.setdefault("user_config", {})["batch_size"] = 1
                return metric
    return None


def _accuracy_metric(metrics: dict) -> float | None:
    for values in metrics.values():
        if isinstance(values, dict) and "accuracy_score" in values:
            return float(values["accuracy_score"])
    return None


def _printed_accuracy(log: Path) -> float | None:
    found = re.findall(r"^accuracy: ([0-9.]+)", log.read_text(errors="replace"), re.MULTILINE)
    return float(found[-1]) if found else None


def _fresh(folder: Path, model: Path, data: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    shutil.copytree(model, folder / "model")
    (folder / "data").mkdir()
    for split in ("train.jsonl", "test.jsonl"):
        shutil.copy2(data / split, folder / "data" / split)
    return folder


# --- report -------------------------------------------------------------------------------------------------

def report(rows: list[Row], steps: int, threads: int, telemetry: str = "off") -> list[str]:
    lines = [f"head to head: tiny Phi-3, tone data, {steps} optimizer steps, {threads} thread(s), "
             f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}",
             _telemetry_line(telemetry), ""]
    lines.append(f"{'':24}" + "".join(f"{row.name:>16}" for row in rows))

    def line(label: str, values: list[str]) -> None:
        lines.append(f"{label:24}" + "".join(f"{v:>16}" for v in values))

    line("wall time (s)", [_fmt(r.wall_s, "{:.1f}") if r.error is None else _failed(r) for r in rows])
    line("peak RSS (MB)", [_fmt(r.peak_rss_mb, "{:.0f}") if r.error is None else "-" for r in rows])
    for step in STEPS:
        line(f"  {step} (s)", [_fmt(r.steps.get(step), "{:.2f}") for r in rows])
    line("  outside passes (s)", [_fmt(r.wall_s - sum(r.steps.get(s, 0) for s in STEPS)
                                       if r.wall_s is not None and r.error is None else None, "{:.1f}")
                                  for r in rows])
    line("int4 accuracy", [_fmt(r.accuracy, "{:.3f}") for r in rows])
    lines.append("")
    by_name = {row.name: row for row in rows if row.error is None}
    mine, hand, theirs = by_name.get("olivine"), by_name.get("hand-written"), by_name.get(OLIVE)
    lines.append(_ratio("olivine / hand-written wall time", mine and hand and mine.wall_s / hand.wall_s,
                        "<= 0.6", lambda v: v <= 0.6))
    lines.append(_ratio("Olive / olivine wall time", theirs and mine and theirs.wall_s / mine.wall_s,
                        ">= 2.5 (aim 3)", lambda v: v >= 2.5))
    noisy = by_name.get(OLIVE_TELEMETRY_ON)
    if noisy and mine:
        lines.append(f"{'  (Olive telemetry on / olivine)':36} {noisy.wall_s / mine.wall_s:7.2f}   for reference only")
    lines.append(_ratio("olivine / hand-written peak RSS", mine and hand and mine.peak_rss_mb / hand.peak_rss_mb,
                        "<= 1.2", lambda v: v <= 1.2))
    for row in rows:
        if row.error:
            lines.append(f"{row.name}: {row.error}")
        lines += [f"note: {note}" for note in row.notes]
    return lines


def _telemetry_line(telemetry: str) -> str:
    said = {"off": f"off (OLIVE_DISABLE_TELEMETRY=1) for '{OLIVE}', the row the ratios use",
            "on": f"on (OLIVE_DISABLE_TELEMETRY unset, Olive's default) for '{OLIVE_TELEMETRY_ON}'"}
    return "Olive telemetry: " + "; ".join(said[k] for k in ("off", "on") if telemetry in (k, "both"))


def seed_report(accuracy: dict[str, dict[int, float | None]]) -> list[str]:
    """int4 accuracy per seed for each contender, with the mean and the sample standard deviation."""
    import statistics

    seeds = sorted({seed for by_seed in accuracy.values() for seed in by_seed})
    lines = ["", "int4 accuracy by seed (the same recipe; seed sets LoRA init, dropout and data order)",
             f"{'':30}" + "".join(f"{seed:>7}" for seed in seeds) + f"{'mean':>8}{'sd':>7}"]
    for name, by_seed in accuracy.items():
        values = [by_seed.get(seed) for seed in seeds]
        known = [v for v in values if v is not None]
        mean = f"{statistics.mean(known):8.3f}" if known else f"{'-':>8}"
        spread = f"{statistics.stdev(known):7.3f}" if len(known) > 1 else f"{'-':>7}"
        lines.append(f"{name:30}" + "".join(f"{_fmt(v, '{:.3f}'):>7}" for v in values) + mean + spread)
    return lines


def _ratio(label: str, value: float | None, target: str, ok) -> str:
    if not value:
        return f"{label:36} {'n/a':>7}   target {target}"
    return f"{label:36} {value:7.2f}   target {target}: {'ok' if ok(value) else 'MISSED'}"


def _failed(row: Row) -> str:
    return "skipped" if (row.error or "").startswith("skipped") else "failed"


def _fmt(value: float | None, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


# --- main ---------------------------------------------------------------------------------------------------

def prepare(work: Path, env: dict) -> tuple[Path, Path]:
    """The tiny Phi-3 (made by the same command the example's README uses) and the tone data folder."""
    from olivine.testing import tone_data_dir

    model = work / "tiny-phi3"
    subprocess.run([sys.executable, "-m", "olivine.testing", "make-tiny-phi3", "--output", str(model)],
                   check=True, env=env, capture_output=True)
    return model, tone_data_dir()


def warm_up(env: dict) -> None:
    """Read each interpreter's heavy packages once, untimed, so no contender pays for a cold disk cache."""
    imports = "import torch, transformers, peft, onnxruntime_genai"
    pythons = [Path(sys.executable)] + ([OLIVE_VENV / "bin" / "python"] if (OLIVE_VENV / "bin" / "python").is_file()
                                        else [])
    for python in pythons:
        subprocess.run([str(python), "-c", imports], env=env, capture_output=True, check=False)


def over_seeds(work: Path, model: Path, data: Path, training: Training, seeds: list[int], rows: list[Row],
               example: dict | None, threads: int, env: dict, timeout: float) -> dict[str, dict[int, float | None]]:
    """Accuracy of hand-written and olivine for every seed (the first from the timed rows), and of each olivine
    model scored by handwritten/evaluate.py: the same model under both evaluators."""
    by_name = {row.name: row for row in rows}
    accuracy: dict[str, dict[int, float | None]] = {"hand-written": {}, "olivine": {},
                                                    "olivine, scored by evaluate.py": {}}
    for seed in seeds:
        trained = copy.copy(training)
        trained.seed = seed
        seed_work = work if seed == seeds[0] else work / f"seed-{seed}"
        if seed != seeds[0]:
            print(f"seed {seed}: hand-written and olivine (untimed)", flush=True)
            runs = {"hand-written": functools.partial(handwritten, seed_work, model, data, trained, threads),
                    "olivine": functools.partial(olivine, seed_work, model, data, trained, example)}
            for name, run in runs.items():
                try:
                    by_name[name] = run(env, timeout)
                except Exception as exc:  # one broken seed is a gap in the table
                    by_name[name] = Row(name, error=f"{type(exc).__name__}: {exc}")
        for name in ("hand-written", "olivine"):
            row = by_name.get(name)
            accuracy[name][seed] = row.accuracy if row is not None else None
        accuracy["olivine, scored by evaluate.py"][seed] = _rescore(seed_work / "olivine", env, timeout)
    return accuracy


def _rescore(folder: Path, env: dict, timeout: float) -> float | None:
    model = folder / "out" / "model"
    if not (model / "genai_config.json").is_file():
        return None
    log = folder / "rescore.txt"
    log.unlink(missing_ok=True)
    measure([sys.executable, str(HANDWRITTEN / "evaluate.py"), "--model", str(model), "--data", "data/test.jsonl"],
            log, env, folder, timeout)
    return _printed_accuracy(log)


def run_contenders(contenders: list[tuple[str, Callable[[], Row]]]) -> list[Row]:
    """Each contender in turn, saying so; one that raises is a row with its error, and the rest still run."""
    rows = []
    for name, contender in contenders:
        print(f"{name}: running", flush=True)
        try:
            rows.append(contender())
        except Exception as exc:  # a broken contender is a row, not the end of the benchmark
            rows.append(Row(name, error=f"{type(exc).__name__}: {exc}"))
        print(f"{name}: {rows[-1].error or 'done'}", flush=True)
    return rows


def contender_env(threads: int) -> dict[str, str]:
    """Every contender's environment: offline, the same thread count, unbuffered output."""
    return {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
            "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=800, help="optimizer steps (default 800)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for every contender (default 1)")
    parser.add_argument("--skip-olive", action="store_true", help="do not run Olive 0.13 even if its venv exists")
    parser.add_argument("--olive-telemetry", choices=("both", "off", "on"), default="both",
                        help="Olive's telemetry: 'off' (OLIVE_DISABLE_TELEMETRY=1, used for the ratios), 'on' (as "
                             "Olive runs by default), or 'both' (default: off for the ratios, on shown beside it)")
    parser.add_argument("--seeds", default="0",
                        help="comma-separated seeds; the first is the timed run, the others train hand-written "
                             "and olivine again (untimed) for the accuracy's spread over seeds")
    parser.add_argument("--workflow", type=Path, default=EXAMPLE, help="the olivine workflow to copy")
    parser.add_argument("--work", type=Path, help="keep every contender's folder here (default: a temp dir)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per command")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = parser.parse_args()

    env = contender_env(args.threads)
    example = json.loads(args.workflow.read_text()) if args.workflow.is_file() else None
    seeds = [int(seed) for seed in args.seeds.split(",") if seed.strip()] or [0]
    training = training_from_example(example, args.steps)
    training.seed = seeds[0]
    work = args.work or Path(tempfile.mkdtemp(prefix="olivine-head-to-head-"))
    work.mkdir(parents=True, exist_ok=True)
    model, data = prepare(work, env)
    warm_up(env)
    contenders = [
        ("hand-written", lambda: handwritten(work, model, data, training, args.threads, env, args.timeout)),
        ("olivine", lambda: olivine(work, model, data, training, example, env, args.timeout)),
    ]
    if args.skip_olive:
        print("Olive 0.13: skipped (--skip-olive)")
    else:
        if args.olive_telemetry in ("both", "off"):
            contenders.append((OLIVE, lambda: olive(work, model, data, training, env, args.timeout)))
        if args.olive_telemetry in ("both", "on"):
            contenders.append((OLIVE_TELEMETRY_ON,
                               lambda: olive(work, model, data, training, env, args.timeout, telemetry=True)))
    rows = run_contenders(contenders)
    lines = report(rows, args.steps, args.threads, "off" if args.skip_olive else args.olive_telemetry)
    if len(seeds) > 1:
        lines += seed_report(over_seeds(work, model, data, training, seeds, rows, example, args.threads, env,
                                        args.timeout))
    print("\n" + "\n".join(lines))
    print(f"\nfolders and logs: {work}")
    if args.json:
        args.json.write_text(json.dumps([row.__dict__ for row in rows], indent=2))


if __name__ == "__main__":
    main()
