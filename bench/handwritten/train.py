"""Step 1 of 4 by hand: fine-tune a LoRA adapter with peft and a plain PyTorch loop.

Completion-only loss (the prompt's tokens are masked with -100), AdamW, linear decay without warm-up,
micro-batches of one sample with gradient accumulation, gradient clipping at --max-grad-norm
(1.0 by default, as the Trainer does).

    python bench/handwritten/train.py --model TINY_PHI3 --data train.jsonl --output adapter
"""

import time

started = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402

import torch  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer, get_linear_schedule_with_warmup  # noqa: E402

PROMPT = "<|user|>\n{phrase}<|end|>\n<|assistant|>\n"
COMPLETION = "{tone}<|end|>"


def examples(path, tokenizer, max_seq_len):
    """(input_ids, labels) per row: loss only on the completion's tokens."""
    rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    out = []
    for row in rows:
        prompt = tokenizer(PROMPT.format(**row), add_special_tokens=False)["input_ids"]
        completion = tokenizer(COMPLETION.format(**row), add_special_tokens=False)["input_ids"]
        ids = (prompt + completion)[:max_seq_len]
        labels = ([-100] * len(prompt) + completion)[:max_seq_len]
        out.append((torch.tensor([ids]), torch.tensor([labels])))
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--steps", type=int, default=800, help="optimizer steps")
    p.add_argument("--grad-accum", type=int, default=4)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--max-grad-norm", type=float, default=1.0, help="0: no clipping")
    p.add_argument("--r", type=int, default=16)
    p.add_argument("--alpha", type=float, default=32)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--target-modules", nargs="+", default=["qkv_proj", "o_proj", "gate_up_proj", "down_proj"])
    p.add_argument("--target-modules-regex", help="a pattern peft matches against whole module names instead")
    p.add_argument("--modules-to-save", nargs="*", default=[])
    p.add_argument("--max-seq-len", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
    targets = args.target_modules_regex or args.target_modules
    lora = LoraConfig(r=args.r, lora_alpha=args.alpha, lora_dropout=args.dropout, target_modules=targets,
                      modules_to_save=args.modules_to_save or None, task_type="CAUSAL_LM")
    model = get_peft_model(model, lora)
    model.train()

    data = examples(args.data, tokenizer, args.max_seq_len)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
    schedule = get_linear_schedule_with_warmup(optimizer, 0, args.steps)

    order, rng = [], random.Random(args.seed)
    recent = []  # loss of each optimizer step since the last print
    tokens, loop_began = 0, time.perf_counter()  # training tokens/s: the optimizer steps only, as olivine reports
    for step in range(1, args.steps + 1):
        step_loss = 0.0
        for _ in range(args.grad_accum):
            if not order:
                order = list(range(len(data)))
                rng.shuffle(order)
            ids, labels = data[order.pop()]
            loss = model(input_ids=ids, labels=labels).loss / args.grad_accum
            tokens += ids.shape[1]
            loss.backward()
            step_loss += loss.item()
        if args.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(params, args.max_grad_norm)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        recent.append(step_loss)
        if step % 100 == 0 or step == args.steps:
            print(f"step {step}/{args.steps}  loss {sum(recent) / len(recent):.4f}")
            recent = []

    loop_seconds = time.perf_counter() - loop_began
    print(f"train: {tokens} tokens in {loop_seconds:.2f} s of optimizer steps, "
          f"train_tokens_per_second {tokens / loop_seconds:.1f}")
    model.save_pretrained(args.output)
    tokenizer.save_pretrained(args.output)
    print(f"train: wall time {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
