"""Step 4 of 4 by hand: greedy accuracy of the int4 model on the held-out phrases, with onnxruntime-genai.

    python bench/handwritten/evaluate.py --model int4 --data test.jsonl
"""

import time

started = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402

import numpy as np  # noqa: E402
import onnxruntime_genai as og  # noqa: E402

PROMPT = "<|user|>\n{phrase}<|end|>\n<|assistant|>\n"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True, help="the onnxruntime-genai model folder")
    p.add_argument("--data", required=True)
    p.add_argument("--max-new-tokens", type=int, default=8)
    args = p.parse_args()

    config = og.Config(args.model)
    config.clear_providers()  # CPU
    model = og.Model(config)
    tokenizer = og.Tokenizer(model)
    end = int(tokenizer.encode("<|end|>")[-1])
    rows = [json.loads(line) for line in open(args.data, encoding="utf-8") if line.strip()]

    correct = 0
    for row in rows:
        prompt = tokenizer.encode(PROMPT.format(**row))
        params = og.GeneratorParams(model)
        params.set_search_options(max_length=len(prompt) + args.max_new_tokens, do_sample=False)
        generator = og.Generator(model, params)
        generator.append_tokens(np.asarray([prompt], dtype=np.int32))
        answer = []
        while not generator.is_done():
            generator.generate_next_token()
            token = int(generator.get_next_tokens()[0])
            if token == end:
                break
            answer.append(token)
        text = tokenizer.decode(np.asarray(answer, dtype=np.int32)) if answer else ""
        correct += text.strip() == row["tone"]

    print(f"accuracy: {correct / len(rows):.4f} ({correct}/{len(rows)})")
    print(f"evaluate: wall time {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
