"""(prompt, label) pairs for generation evaluators, from either text form of a data config."""

from __future__ import annotations

from olivine.data.container import container_for
from olivine.data.options import PreProcessOptions, placeholders, render
from olivine.errors import ConfigError


def prompt_label_pairs(data_config) -> list[tuple[str, str]]:
    """Completion-only form: (prompt, completion). Corpus form: the text template cut before its last
    placeholder, so ``"Text: {phrase}\\nTone: {tone}"`` gives ("Text: ...\\nTone: ", "joy")."""
    container = container_for(data_config)
    prompt_t, label_t = split_templates(container.pre, container.name)
    pairs = [(render(prompt_t, row), render(label_t, row)) for row in container.records()]
    if container.pre.max_samples is not None:
        pairs = pairs[:container.pre.max_samples]
    return pairs


def split_templates(pre: PreProcessOptions, name: str) -> tuple[str, str]:
    """The prompt and label templates a data config implies (light: used by validation too)."""
    if pre.completion_only:
        prompt, completion = pre.prompt_text(), pre.completion_text()
        assert prompt is not None and completion is not None  # completion_only is validated to have both
        return prompt, completion
    template = pre.text_template
    if template is None and pre.text_cols and len(pre.text_cols) > 1:
        template = " ".join("{" + col + "}" for col in pre.text_cols)
    if template is None or not placeholders(template):
        raise ConfigError(f"data config {name!r}", "cannot tell prompts from labels",
                          "give prompt_template + completion_template, or a text_template ending in the label "
                          "placeholder")
    last = template.rfind("{" + placeholders(template)[-1])
    return template[:last], template[last:]
