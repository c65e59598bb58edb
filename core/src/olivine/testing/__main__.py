"""`python -m olivine.testing make-tiny-phi3 --output DIR`: write the tiny Phi-3 used by the example."""

from __future__ import annotations

import argparse
import sys

from olivine.testing.tiny_model import make_tiny_phi3, tone_texts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m olivine.testing")
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser(
        "make-tiny-phi3", help="write a random-init Phi-3 with a tokenizer trained on the tone data"
    )
    make.add_argument("--output", required=True, help="folder to write the Hugging Face model into")
    make.add_argument("--seed", type=int, default=0, help="weight initialisation seed (default 0)")
    make.add_argument("--data", help="folder with the tone data's train.jsonl and test.jsonl (default: "
                                     "$OLIVINE_TONE_DATA, else the copy shipped with olivine.testing)")
    args = parser.parse_args(argv)
    try:
        out = make_tiny_phi3(args.output, tone_texts(args.data), seed=args.seed)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
