"""A small byte-level BPE tokenizer with Phi-3's chat tokens, trained on given texts."""

from __future__ import annotations

from collections.abc import Iterable

PAD = "<|pad|>"
ENDOFTEXT = "<|endoftext|>"
SYSTEM, USER, ASSISTANT, END = "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"
SPECIAL_TOKENS = (PAD, ENDOFTEXT, SYSTEM, USER, ASSISTANT, END)

# Phi-3-mini-instruct's template, so chat-formatted prompts match what the real model expects.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ '<|system|>\\n' + message['content'] + '<|end|>\\n' }}"
    "{% elif message['role'] == 'user' %}{{ '<|user|>\\n' + message['content'] + '<|end|>\\n' }}"
    "{% elif message['role'] == 'assistant' %}{{ '<|assistant|>\\n' + message['content'] + '<|end|>\\n' }}"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}"
)


def train_tokenizer(texts: Iterable[str], vocab_size: int, model_max_length: int):
    """A `PreTrainedTokenizerFast` whose BPE merges are learned from `texts`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_without_special_tokens(texts), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=ENDOFTEXT,
        eos_token=ENDOFTEXT,
        pad_token=PAD,
        unk_token=ENDOFTEXT,
        additional_special_tokens=[SYSTEM, USER, ASSISTANT, END],
        chat_template=CHAT_TEMPLATE,
        model_max_length=model_max_length,
        clean_up_tokenization_spaces=False,
    )


def _without_special_tokens(texts: Iterable[str]) -> list[str]:
    # Merges should be learned from words only: a chat token is always one token of its own.
    cleaned = []
    for text in texts:
        for token in SPECIAL_TOKENS:
            text = text.replace(token, "\n")
        cleaned.append(text)
    return sorted(cleaned)
