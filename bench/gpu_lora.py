"""LoRA on the Phi-3-mini shape on one CUDA GPU: olivine-lora's loop against the Hugging Face Trainer.

Phi-3-mini's shape (3.8 B parameters, random weights, bfloat16), LoRA r 64 / alpha 64 on qkv_proj and
o_proj, sequences of 1024 tokens that are all targets, the Phi-3 cookbook's training args (batch 1 x
accumulation 4, lr 1e-4, max_grad_norm 0.3), bf16 autocast for both. Prints tokens/s and the share
of the GPU's peak dense bf16 FLOP/s, counting per token 4 x linear parameters (forward plus input
gradients: the base is frozen, so no weight gradients) plus causal attention (3 x 2 x seq x hidden x
layers). Targets from the LoRA issue: >= 40% of peak, >= 2.5x the Trainer.

``python bench/gpu_lora.py`` (about two minutes on an H200; ``--steps`` to change the timed steps).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from olivine_lora import flops as olivine_flops  # noqa: E402

SEQ = 1024
DEVICE = "cuda"
SEED_ARGS = {"per_device_train_batch_size": 1, "gradient_accumulation_steps": 4, "learning_rate": 1e-4,
             "max_grad_norm": 0.3, "adam_beta2": 0.999, "seed": 0}


def phi3_mini(layers: int = 32):
    from transformers import Phi3Config, Phi3ForCausalLM

    config = Phi3Config(hidden_size=3072, intermediate_size=8192, num_hidden_layers=layers, num_attention_heads=32,
                        num_key_value_heads=32, vocab_size=32064, max_position_embeddings=4096, pad_token_id=0,
                        bos_token_id=1, eos_token_id=32000, attn_implementation="sdpa")
    torch.manual_seed(0)
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device(DEVICE):
            model = Phi3ForCausalLM(config)
    finally:
        torch.set_default_dtype(torch.float32)
    model.config.use_cache = False
    for param in model.parameters():
        param.requires_grad_(False)
    return model


def with_lora(base):
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    return get_peft_model(base, LoraConfig(r=64, lora_alpha=64, lora_dropout=0.1, task_type="CAUSAL_LM",
                                           target_modules=["qkv_proj", "o_proj"]))


def examples(count: int) -> list[dict]:
    generator = torch.Generator().manual_seed(0)
    rows = torch.randint(3, 32000, (count, SEQ), generator=generator).tolist()
    return [{"input_ids": ids, "labels": ids, "attention_mask": [1] * SEQ} for ids in rows]


def flops_per_token(model) -> float:
    return olivine_flops.flops_per_token(model, SEQ)  # the count the pass's report uses


def sync() -> None:
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def timed(run) -> float:
    sync()
    began = time.perf_counter()
    run()
    sync()
    return time.perf_counter() - began


def olivine_rate(model, data, steps: int) -> float:
    from olivine.progress import Progress
    from olivine_lora import loop, optim, precision, settings
    from olivine_lora.batching import to_samples
    from olivine_lora.step import Stepper, token_budget
    from olivine_lora.training_args import TrainingArgs

    samples = to_samples(data)

    def train(n: int):
        args = TrainingArgs.model_validate({**SEED_ARGS, "max_steps": n, "logging_steps": n})
        notes: list[str] = []
        plan = settings.resolve(args, len(samples), False, notes)
        prec = precision.resolve("auto", DEVICE, False, False, notes)
        opt = optim.optimizer(model, args, DEVICE, notes)
        sched = optim.scheduler(opt, args, plan.warmup_steps, plan.total_steps, notes)
        stepper = Stepper(model, opt, sched, prec, DEVICE, 0, args, token_budget(model, DEVICE, False), notes)
        io = loop.LoopIO(lambda total, desc: Progress(total, desc, enabled=False), None, None)
        outcome = loop.train(stepper, samples, [], plan, args, io, "bench")
        return outcome, stepper.forwards

    train(2)  # warm-up: kernels, allocator
    result = {}
    seconds = timed(lambda: result.update(outcome=train(steps)))
    outcome, forwards = result["outcome"]
    print(f"  olivine: {forwards / steps:.0f} forward(s) per optimizer step", flush=True)
    return outcome.tokens / seconds


def trainer_rate(model, data, steps: int) -> float:
    from transformers import Trainer, TrainerCallback, TrainingArguments

    marks: dict[str, float] = {}

    class Clock(TrainerCallback):  # time steps 2..n+1: the first one warms up
        def on_step_end(self, args, state, control, **kwargs):
            sync()
            marks.setdefault("first", time.perf_counter())
            marks["last"] = time.perf_counter()

    def collate(batch):
        return {"input_ids": torch.tensor([ex["input_ids"] for ex in batch]),
                "labels": torch.tensor([ex["labels"] for ex in batch])}

    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(output_dir=out, max_steps=steps + 1, bf16=DEVICE == "cuda", logging_steps=10**6,
                                 use_cpu=DEVICE == "cpu",
                                 save_strategy="no", report_to=[], disable_tqdm=True, remove_unused_columns=False,
                                 dataloader_num_workers=0, **SEED_ARGS)
        Trainer(model=model, args=args, train_dataset=data, data_collator=collate, callbacks=[Clock()]).train()
    return steps * 4 * SEQ / (marks["last"] - marks["first"])


def peak_flops(override: float | None) -> tuple[float, str]:
    name = torch.cuda.get_device_name(0)
    if override:
        return override, name
    peak = olivine_flops.peak_bf16(name)
    if peak is not None:
        return peak, name
    raise SystemExit(f"unknown GPU {name!r}: pass --peak-tflops")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--peak-tflops", type=float, default=None)
    parser.add_argument("--smoke", action="store_true", help="check the script on CPU: 1 layer, 64 tokens")
    options = parser.parse_args()
    global DEVICE, SEQ
    if options.smoke:
        DEVICE, SEQ = "cpu", 64
        peak, name = 1e12, "CPU smoke check (FLOP shares meaningless)"
    elif not torch.cuda.is_available():
        raise SystemExit("needs a CUDA GPU")
    else:
        peak, name = peak_flops(options.peak_tflops * 1e12 if options.peak_tflops else None)
    model = with_lora(phi3_mini(1 if options.smoke else 32))
    data = examples(4 * (options.steps + 3))
    per_token = flops_per_token(model)
    print(f"{name}: peak bf16 {peak / 1e12:.0f} TFLOP/s; {per_token / 1e9:.2f} GFLOP per token", flush=True)
    rates = {"Trainer": trainer_rate(model, data, options.steps)}
    from peft.tuners.lora import LoraLayer

    torch.manual_seed(0)
    for module in model.modules():
        if isinstance(module, LoraLayer):
            module.reset_lora_parameters("default", True)
    if DEVICE == "cuda":
        torch.cuda.empty_cache()
    rates["olivine"] = olivine_rate(model, data, options.steps)
    for label, rate in rates.items():
        print(f"{label:8} {rate:9.0f} tok/s  {100 * rate * per_token / peak:5.1f}% of peak bf16", flush=True)
    print(f"olivine / Trainer: {rates['olivine'] / rates['Trainer']:.2f}x (targets: >= 40% of peak, >= 2.5x)")
    if DEVICE == "cuda":
        print(f"peak memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")


if __name__ == "__main__":
    main()
