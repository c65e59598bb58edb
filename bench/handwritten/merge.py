"""Step 2 of 4 by hand: merge the LoRA adapter into its base model and save a plain Hugging Face model.

    python bench/handwritten/merge.py --model TINY_PHI3 --adapter adapter --output merged
"""

import time

started = time.perf_counter()

import argparse  # noqa: E402

import torch  # noqa: E402
from peft import PeftModel  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True, help="the base model the adapter was trained on")
    p.add_argument("--adapter", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    base = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
    merged = PeftModel.from_pretrained(base, args.adapter).merge_and_unload()
    merged.save_pretrained(args.output)
    AutoTokenizer.from_pretrained(args.adapter).save_pretrained(args.output)
    print(f"merge: wall time {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
