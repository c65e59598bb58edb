"""Summed next-token cross-entropy over labelled positions, for transformers and onnxruntime-genai models.

Both score the same pre-processed examples (ids, attention mask, labels with -100 where no loss is
taken), so perplexity before and after export compares like with like.
"""

from __future__ import annotations

IGNORED = -100


def hf_summed_loss(runtime, batch: list[dict]) -> tuple[float, int]:
    """One padded forward pass of a transformers model; (summed loss, labelled positions)."""
    torch = runtime.torch
    width = max(len(ex["input_ids"]) for ex in batch)

    def padded(key: str, fill: int):
        return torch.tensor([ex[key] + [fill] * (width - len(ex[key])) for ex in batch], device=runtime.device)

    ids, mask, labels = padded("input_ids", 0), padded("attention_mask", 0), padded("labels", IGNORED)
    with torch.inference_mode():
        logits = runtime.model(input_ids=ids, attention_mask=mask).logits.float()
    shifted = labels[:, 1:]
    loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), shifted.reshape(-1),
                                             ignore_index=IGNORED, reduction="sum")
    return float(loss), int((shifted != IGNORED).sum())


def genai_summed_loss(runtime, batch: list[dict]) -> tuple[float, int]:
    """Prefill logits of an onnxruntime-genai model; (summed loss, labelled positions).

    genai batches take no attention mask, so padding is stripped and only examples of equal length
    run together: no example is scored against padding it was not trained with.
    """
    by_length: dict[int, list[tuple[list[int], list[int]]]] = {}
    for ex in batch:
        keep = [i for i, m in enumerate(ex["attention_mask"]) if m]
        ids, labels = [ex["input_ids"][i] for i in keep], [ex["labels"][i] for i in keep]
        by_length.setdefault(len(ids), []).append((ids, labels))
    total, count = 0.0, 0
    for group in by_length.values():
        loss, tokens = _genai_group_loss(runtime, [ids for ids, _ in group], [labels for _, labels in group])
        total, count = total + loss, count + tokens
    return total, count


def _genai_group_loss(runtime, ids: list[list[int]], labels: list[list[int]]) -> tuple[float, int]:
    import numpy as np

    og = runtime.og
    params = og.GeneratorParams(runtime.model)
    params.set_search_options(max_length=len(ids[0]), batch_size=len(ids))
    generator = og.Generator(runtime.model, params)
    generator.append_tokens(np.asarray(ids, dtype=np.int32))
    logits = np.asarray(generator.get_output("logits"), dtype=np.float64)
    if logits.shape[1] != len(ids[0]):
        raise ValueError(f"the model returns logits for {logits.shape[1]} of {len(ids[0])} positions; perplexity "
                         "needs every position's (build it without slicing logits to the last token)")
    logits = logits[:, :-1]
    targets = np.asarray(labels, dtype=np.int64)[:, 1:]
    scored = targets != IGNORED
    peak = logits.max(axis=-1, keepdims=True)
    log_norm = np.log(np.exp(logits - peak).sum(axis=-1)) + peak[..., 0]
    picked = np.take_along_axis(logits, np.where(scored, targets, 0)[..., None], axis=-1)[..., 0]
    return float(((log_norm - picked) * scored).sum()), int(scored.sum())
