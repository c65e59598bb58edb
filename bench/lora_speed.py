"""LoRA training speed: olivine-lora's loop against the Hugging Face Trainer, measured in the same run.

Both train the same LoRA (the Phi-3 cookbook's: r 64, alpha 64, dropout 0.1 on qkv_proj and o_proj)
on the same completion-only tone examples with the cookbook's training args (batch 1 x accumulation
4, lr 1e-4, max_grad_norm 0.3) and the same loss (summed over the effective batch's target tokens,
divided by their count). Speed is real (unpadded) tokens per second over the training steps.

Models: the tiny Phi-3 on 1 thread, and Phi-3-mini widths with 2 layers (random init, 233 M
parameters) on 2 threads. Targets from the LoRA issue: >= 1.3x on tiny, >= 1.5x at mini widths.
Run on an idle machine: ``python bench/lora_speed.py`` (``--tiny-steps`` / ``--mini-steps`` to shorten).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

LORA = {"r": 64, "alpha": 64, "lora_dropout": 0.1, "target_modules": ["qkv_proj", "o_proj"]}
SEED_ARGS = {"per_device_train_batch_size": 1, "gradient_accumulation_steps": 4, "learning_rate": 1e-4,
             "max_grad_norm": 0.3, "adam_beta2": 0.999, "seed": 0, "data_seed": 42}
TARGETS = {"tiny": 1.3, "mini-2": 1.5}


def tone_examples(tokenizer) -> list[dict]:
    from olivine.config.schema import DataConfig
    from olivine.data import training_examples
    from olivine.testing import COMPLETION_TEMPLATE, PROMPT_TEMPLATE, tone_data_dir

    config = DataConfig(name="tone", load_dataset_config={
        "data_name": "json", "data_files": str(tone_data_dir() / "train.jsonl"), "split": "train"},
        pre_process_data_config={"prompt_template": PROMPT_TEMPLATE, "completion_template": COMPLETION_TEMPLATE,
                                 "max_seq_len": 64, "pad_to_max_len": False})
    return training_examples(config, tokenizer)[0]


def tiny_model():
    from olivine.testing import tiny_phi3
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = tiny_phi3()
    return AutoModelForCausalLM.from_pretrained(path, attn_implementation="sdpa"), AutoTokenizer.from_pretrained(path)


def mini2_model():
    """Phi-3-mini's widths (hidden 3072, 32 heads, MLP 8192, vocab 32064) with 2 layers, random weights."""
    from olivine.testing import tiny_phi3
    from transformers import AutoTokenizer, Phi3Config, Phi3ForCausalLM

    config = Phi3Config(hidden_size=3072, intermediate_size=8192, num_hidden_layers=2, num_attention_heads=32,
                        num_key_value_heads=32, vocab_size=32064, max_position_embeddings=4096, pad_token_id=0,
                        bos_token_id=1, eos_token_id=1, attn_implementation="sdpa")
    torch.manual_seed(0)
    # the tiny model's tokenizer: its ids (< 1024) are valid in the larger vocabulary
    return Phi3ForCausalLM(config), AutoTokenizer.from_pretrained(tiny_phi3())


def with_lora(base):
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    for param in base.parameters():
        param.requires_grad_(False)
    return get_peft_model(base, LoraConfig(r=LORA["r"], lora_alpha=LORA["alpha"], lora_dropout=LORA["lora_dropout"],
                                           target_modules=LORA["target_modules"], task_type="CAUSAL_LM"))


def reset_lora(model) -> None:
    torch.manual_seed(0)
    for module in model.modules():
        if hasattr(module, "reset_lora_parameters"):
            module.reset_lora_parameters("default", True)


def olivine_tokens_per_second(model, examples, steps: int, device: str, pad_id: int) -> float:
    from olivine.progress import Progress
    from olivine_lora import loop, optim, precision, settings
    from olivine_lora.batching import to_samples
    from olivine_lora.run import fast_cpu_lora, fast_cpu_matmul, undo_fast_cpu
    from olivine_lora.step import Stepper, token_budget
    from olivine_lora.training_args import TrainingArgs

    args = TrainingArgs.model_validate({**SEED_ARGS, "max_steps": steps, "logging_steps": steps})
    notes: list[str] = []
    samples = to_samples(examples)
    plan = settings.resolve(args, len(samples), False, notes)
    prec = precision.resolve("auto", device, False, False, notes)
    opt = optim.optimizer(model, args, device, notes)
    sched = optim.scheduler(opt, args, plan.warmup_steps, plan.total_steps, notes)
    stepper = Stepper(model, opt, sched, prec, device, pad_id, args, token_budget(model, device, False), notes)
    io = loop.LoopIO(lambda total, desc: Progress(total, desc, enabled=False), None, None)
    # as the pass does: oneDNN where it times faster, the lean LoRA forward, dropout masks from 16-bit slices
    fast_cpu_matmul(model, device, prec, quantized=False)
    fast_cpu_lora(model, device)
    try:
        outcome = loop.train(stepper, samples, [], plan, args, io, "bench")
    finally:
        undo_fast_cpu(model)
    return outcome.tokens / outcome.seconds


def trainer_tokens_per_second(model, examples, steps: int, device: str, pad_id: int) -> float:
    from transformers import Trainer, TrainerCallback, TrainingArguments

    seen = {"tokens": 0}
    marks: dict[str, float] = {}

    def collate(batch):
        width = max(len(ex["input_ids"]) for ex in batch)
        seen["tokens"] += sum(len(ex["input_ids"]) for ex in batch)

        def pad(values, fill):
            return torch.tensor([v + [fill] * (width - len(v)) for v in values])

        return {"input_ids": pad([ex["input_ids"] for ex in batch], pad_id),
                "labels": pad([ex["labels"] for ex in batch], -100),
                "attention_mask": pad([[1] * len(ex["input_ids"]) for ex in batch], 0)}

    class Clock(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            marks.setdefault("begin", time.perf_counter())

        def on_step_end(self, args, state, control, **kwargs):
            marks["end"], marks["tokens_end"] = time.perf_counter(), seen["tokens"]

    unpadded = [{"input_ids": _unpad(ex)[0], "labels": _unpad(ex)[1]} for ex in examples]
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(output_dir=out, max_steps=steps, logging_steps=10**6, save_strategy="no",
                                 report_to=[], disable_tqdm=True, use_cpu=device == "cpu", bf16=device == "cuda",
                                 dataloader_num_workers=0, remove_unused_columns=False, **SEED_ARGS)
        trainer = Trainer(model=model, args=args, train_dataset=unpadded, data_collator=collate, callbacks=[Clock()])
        trainer.train()
    # tokens of every step (the dataloader's one-batch lookahead is within 1/(4 x steps))
    return marks["tokens_end"] / (marks["end"] - marks["begin"])


def _unpad(example: dict) -> tuple[list[int], list[int]]:
    keep = sum(example["attention_mask"])
    return example["input_ids"][:keep], example["labels"][:keep]


def measure(name: str, build, steps: int, threads: int) -> tuple[float, float]:
    torch.set_num_threads(threads)
    base, tokenizer = build()
    model = with_lora(base)
    examples = tone_examples(tokenizer)
    pad_id = tokenizer.pad_token_id or 0
    trainer = trainer_tokens_per_second(model, examples, steps, "cpu", pad_id)
    reset_lora(model)
    ours = olivine_tokens_per_second(model, examples, steps, "cpu", pad_id)
    print(f"{name:8} {threads} thr {steps:5} steps   Trainer {trainer:9.0f} tok/s   olivine {ours:9.0f} tok/s   "
          f"{ours / trainer:5.2f}x (target {TARGETS[name]}x)", flush=True)
    return trainer, ours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny-steps", type=int, default=400)
    parser.add_argument("--mini-steps", type=int, default=20)
    parser.add_argument("--only", choices=("tiny", "mini-2"))
    options = parser.parse_args()
    print("same model, data, effective batch (1 x 4) and loss; real tokens per second over the training steps")
    if options.only in (None, "tiny"):
        measure("tiny", tiny_model, options.tiny_steps, 1)
    if options.only in (None, "mini-2"):
        measure("mini-2", mini2_model, options.mini_steps, 2)


if __name__ == "__main__":
    main()
