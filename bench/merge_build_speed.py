"""MergeAdapterWeights and ModelBuilder in-process against the builder run by hand as a separate process.

Models: the tiny Phi-3 (0.6 M parameters) and Phi-3-mini widths with 2 layers (hidden 3072, 32 heads,
intermediate 8192, the tiny tokenizer's 1024-token vocabulary: 233 M parameters, random init), each
with a random rank-16 LoRA adapter on every linear layer. For each model, in fresh processes:

- chain: MergeAdapterWeights twice (cold, then warm), then ModelBuilder int4 twice in the same process,
  as a workflow runs them (the builder finds torch and transformers already imported);
- build: ModelBuilder int4 alone in a fresh process (imports included), and its peak RSS;
- by hand: ``python -m onnxruntime_genai.models.builder -p int4 -e cpu`` on the merged folder, and
  its peak RSS.

Ratios are of figures measured in this run. Run on an idle machine:
``python bench/merge_build_speed.py [--models tiny,mini2] [--work DIR]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODELS = {
    "tiny": {},
    "mini2": {"hidden_size": 3072, "num_heads": 32, "num_layers": 2, "intermediate_size": 8192},
}
TARGETS = ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"]


def prepare(name: str, work: Path) -> tuple[Path, Path]:
    """The base model folder and a LoRA adapter for it (made once per work folder)."""
    import torch
    from olivine.testing import make_tiny_phi3, tiny_phi3, tone_texts
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = tiny_phi3() if name == "tiny" else work / name / "base"
    if name != "tiny" and not (base / "config.json").is_file():
        make_tiny_phi3(base, tone_texts(), **MODELS[name])
    adapter = work / name / "adapter"
    if not (adapter / "adapter_config.json").is_file():
        torch.manual_seed(0)
        model = get_peft_model(AutoModelForCausalLM.from_pretrained(base),
                               LoraConfig(r=16, lora_alpha=32, target_modules=TARGETS, init_lora_weights=False))
        model.save_pretrained(adapter)
    return base, adapter


def worker(mode: str, base: Path, adapter: Path, merged: Path, out: Path) -> dict:
    """Runs inside a fresh interpreter; times passes through their public API."""
    started = time.perf_counter()
    from olivine import ModelRef, PassContext

    result: dict = {}

    def run(pass_cls, config: dict, model: ModelRef, folder: Path) -> tuple[ModelRef, float]:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        ctx = PassContext(output_dir=folder, workflow_dir=folder, show_progress=False)
        t0 = time.perf_counter()
        ref = pass_cls(pass_cls.parse_config(config, "bench")).run(model, ctx)
        return ref, time.perf_counter() - t0

    from olivine_merge.merge_pass import MergeAdapterWeights
    from olivine_modelbuilder.model_builder import ModelBuilder

    if mode == "chain":
        adapter_ref = ModelRef(format="hf+adapter", path=adapter, base_model=base)
        ref, result["merge_s"] = run(MergeAdapterWeights, {}, adapter_ref, out / "merge")
        _, result["merge_warm_s"] = run(MergeAdapterWeights, {}, adapter_ref, out / "merge2")
        shutil.rmtree(merged, ignore_errors=True)
        shutil.copytree(ref.path, merged)
        _, result["build_after_merge_s"] = run(ModelBuilder, {"precision": "int4"}, ref, out / "build1")
        _, result["build_warm_s"] = run(ModelBuilder, {"precision": "int4"}, ref, out / "build2")
    else:
        _, result["build_s"] = run(ModelBuilder, {"precision": "int4"}, ModelRef(format="hf", path=merged),
                                   out / "build")
    result["process_s"] = time.perf_counter() - started
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def measured(args: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and stdout of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             env={**os.environ, "HF_HUB_OFFLINE": "1"})
    stdout = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(args)}")
    return wall, usage.ru_maxrss / 1024, stdout


def bench_model(name: str, work: Path) -> dict:
    base, adapter = prepare(name, work)
    merged, out = work / name / "merged", work / name / "out"
    me = [sys.executable, __file__, "--worker"]
    folders = [str(base), str(adapter), str(merged), str(out)]
    chain_wall, chain_rss, chain_out = measured([*me, "chain", *folders])
    build_wall, build_rss, build_out = measured([*me, "build", *folders])
    by_hand = out / "by-hand"
    shutil.rmtree(by_hand, ignore_errors=True)
    cli_wall, cli_rss, _ = measured([sys.executable, "-m", "onnxruntime_genai.models.builder", "-i", str(merged),
                                     "-o", str(by_hand), "-p", "int4", "-e", "cpu", "-c", str(out / "cli-cache"),
                                     "--extra_options", "hf_token=false"])
    return {"chain": json.loads(chain_out.splitlines()[-1]), "chain_wall_s": chain_wall, "chain_rss_mb": chain_rss,
            "build": json.loads(build_out.splitlines()[-1]), "build_wall_s": build_wall, "build_rss_mb": build_rss,
            "cli_wall_s": cli_wall, "cli_rss_mb": cli_rss}


def report(name: str, r: dict) -> None:
    chain, build = r["chain"], r["build"]
    rows = [
        ("MergeAdapterWeights in-process (first pass, imports included)", chain["merge_s"]),
        ("MergeAdapterWeights in-process, warm", chain["merge_warm_s"]),
        ("ModelBuilder int4 in-process after the merge", chain["build_after_merge_s"]),
        ("ModelBuilder int4 in-process, warm", chain["build_warm_s"]),
        ("ModelBuilder int4 alone in a fresh process (pass, imports included)", build["build_s"]),
        ("ModelBuilder int4 alone in a fresh process (wall)", r["build_wall_s"]),
        ("builder by hand, separate process (wall)", r["cli_wall_s"]),
    ]
    print(f"\n== {name}")
    for label, seconds in rows:
        print(f"  {label:<70} {seconds:8.2f} s")
    print(f"  {'peak RSS: ModelBuilder alone in a fresh process':<70} {r['build_rss_mb']:8.0f} MB")
    print(f"  {'peak RSS: builder by hand':<70} {r['cli_rss_mb']:8.0f} MB")
    print(f"  {'peak RSS: merge then build in one process':<70} {r['chain_rss_mb']:8.0f} MB")
    print(f"  ratio by hand / in-process after merge (time):  {r['cli_wall_s'] / chain['build_after_merge_s']:.2f}x")
    print(f"  ratio by hand / fresh-process pass (time):      {r['cli_wall_s'] / r['build_wall_s']:.2f}x")
    print(f"  ratio pass / by hand (peak RSS):                {r['build_rss_mb'] / r['cli_rss_mb']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="tiny,mini2")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "olivine-bench-merge-build")
    parser.add_argument("--worker", nargs=5, metavar=("MODE", "BASE", "ADAPTER", "MERGED", "OUT"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.worker:
        logging.disable(logging.CRITICAL)
        mode, *paths = args.worker
        print(json.dumps(worker(mode, *map(Path, paths))))
        return
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, work folder {args.work}")
    for name in args.models.split(","):
        report(name, bench_model(name, args.work))


if __name__ == "__main__":
    main()
