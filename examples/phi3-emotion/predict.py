"""Ask the int4 tone model about a few phrases: `python predict.py out/model ["phrase" ...]`.

Without phrases, it takes two held-out phrases per tone from data/test.jsonl and shows the label too.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

PROMPT = "<|user|>\n{phrase}<|end|>\n<|assistant|>\n"
HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="onnxruntime-genai model folder (the workflow's out/model)")
    parser.add_argument("phrases", nargs="*", help="phrases to classify (default: held-out examples)")
    args = parser.parse_args()

    import onnxruntime_genai as og

    model = og.Model(args.model)
    tokenizer = og.Tokenizer(model)
    rows = [{"phrase": p, "tone": None} for p in args.phrases] or held_out_examples(per_tone=2)
    for row in rows:
        predicted = classify(model, tokenizer, row["phrase"])
        mark = "" if row["tone"] is None else ("  ok" if predicted == row["tone"] else f"  (label: {row['tone']})")
        print(f"{predicted:<9} {row['phrase']}{mark}")


def classify(model, tokenizer, phrase: str) -> str:
    import onnxruntime_genai as og

    params = og.GeneratorParams(model)
    params.set_search_options(max_length=128, do_sample=False)
    generator = og.Generator(model, params)
    generator.append_tokens(tokenizer.encode(PROMPT.format(phrase=phrase)))
    new_tokens = []
    # Generation stops at <|end|>, which genai_config.json lists among the end-of-sequence tokens.
    while not generator.is_done() and len(new_tokens) < 8:
        generator.generate_next_token()
        new_tokens.append(generator.get_next_tokens()[0])
    return tokenizer.decode(new_tokens).strip()


def held_out_examples(per_tone: int) -> list[dict]:
    rows = [json.loads(line) for line in (HERE / "data" / "test.jsonl").read_text(encoding="utf-8").splitlines()]
    picked, seen = [], {}
    for row in rows:
        if seen.get(row["tone"], 0) < per_tone:
            seen[row["tone"]] = seen.get(row["tone"], 0) + 1
            picked.append(row)
    return picked


if __name__ == "__main__":
    main()
