"""Step 3 of 4 by hand: onnxruntime-genai's model builder, int4 for CPU, as its documentation runs it.

    python bench/handwritten/build.py --model merged --output int4
"""

import time

started = time.perf_counter()

import argparse  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True, help="the merged Hugging Face model folder")
    p.add_argument("--output", required=True)
    p.add_argument("--cache", help="the builder's scratch folder (default: OUTPUT/../builder-cache)")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()

    cache = args.cache or os.path.join(os.path.dirname(os.path.abspath(args.output)), "builder-cache")
    command = [sys.executable, "-m", "onnxruntime_genai.models.builder", "-i", args.model, "-o", args.output,
               "-p", "int4", "-e", "cpu", "-c", cache, "--extra_options", "hf_token=false"]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    subprocess.run(command, check=True, env=env)
    print(f"build: wall time {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
