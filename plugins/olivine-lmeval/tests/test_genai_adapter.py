"""olivine's lm-eval model over onnxruntime-genai scores and generates as lm-eval's own HFLM does on the same
weights: an fp32 build of the tiny Phi-3 against the transformers model it was built from."""

from __future__ import annotations

import pytest
from olivine import Accelerator, ModelRef, get_plugins
from olivine_lmeval.genai_lm import GenaiLM

pytestmark = pytest.mark.slow

CONTEXT = "<|user|>\nI finally got the job I wanted<|end|>\n<|assistant|>\n"


def _requests(kind: str, args_list: list[tuple]) -> list:
    from lm_eval.api.instance import Instance

    return [Instance(request_type=kind, doc={}, arguments=args, idx=i) for i, args in enumerate(args_list)]


@pytest.fixture(scope="module")
def both(tiny, genai_build):
    """(HFLM on the transformers folder, GenaiLM on its fp32 onnx-genai build), both on the CPU."""
    from lm_eval.models.huggingface import HFLM

    runtimes = get_plugins().runtimes
    hf = runtimes.get("hf")(ModelRef(format="hf", path=tiny), Accelerator(), {})
    genai = runtimes.get("onnx-genai")(genai_build("fp32"), Accelerator(), {})
    return HFLM(pretrained=hf.model, tokenizer=hf.tokenizer, batch_size=4), GenaiLM(genai)


def test_loglikelihoods_match_transformers(both):
    hflm, genai = both
    pairs = [(CONTEXT, tone) for tone in ("joy", "sadness", "fear", "surprise<|end|>")] + [("", "joy and fear")]
    expected = hflm.loglikelihood(_requests("loglikelihood", pairs))
    got = genai.loglikelihood(_requests("loglikelihood", pairs))
    assert [g for _, g in got] == [g for _, g in expected]
    assert [lp for lp, _ in got] == pytest.approx([lp for lp, _ in expected], abs=1e-3)
    assert len({round(lp, 3) for lp, _ in got}) == len(pairs)  # the scores tell the answers apart


def test_rolling_loglikelihood_matches_transformers_across_windows(both):
    hflm, genai = both
    text = "I finally got the job I wanted and I am so happy about it " * 3
    genai._max_length = hflm._max_length = 16  # several windows, each token scored once
    try:
        expected = hflm.loglikelihood_rolling(_requests("loglikelihood_rolling", [(text,)]))
        got = genai.loglikelihood_rolling(_requests("loglikelihood_rolling", [(text,)]))
    finally:
        genai._max_length, hflm._max_length = 2048, None
    assert got == pytest.approx(expected, abs=1e-2)


def test_greedy_generation_matches_transformers(both):
    hflm, genai = both
    # Contexts whose greedy tokens decode to valid text (a random model's bytes may not, and the two
    # tokenizer libraries render broken UTF-8 differently).
    requests = [("I am", {"until": ["<|end|>"], "max_gen_toks": 6, "do_sample": False}),
                ("<|user|>\nfear<|end|>\n<|assistant|>\n", {"until": ["pr"], "max_gen_toks": 8})]
    expected = hflm.generate_until(_requests("generate_until", requests))
    got = genai.generate_until(_requests("generate_until", requests))
    assert got == expected
    assert got[0] and got[1] and "pr" not in got[1]
