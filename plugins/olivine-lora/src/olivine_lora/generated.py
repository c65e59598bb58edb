"""Write the modules that hold names read from transformers (``hf_fields.py``, ``model_types.py``).

Validation must not import transformers (seconds, and torch with it), so what it checks against is
generated once into a module; each ``gen_*`` script computes the values and renders them here.
"""

from __future__ import annotations


def render_module(title: str, note: str, values: dict[str, object], collection: str = "") -> str:
    """A module whose docstring is ``title`` and ``note``; each tuple value written one item a line,
    wrapped in ``collection`` (``frozenset``) when given."""
    lines = [f'"""{title}', "", f'{note}"""', ""]
    for name, value in values.items():
        if isinstance(value, tuple):
            lines.append(f"{name} = {collection}(" + ("(" if collection else ""))
            lines.extend(f"    {item!r}," for item in value)
            lines.append(")" + (")" if collection else ""))
        else:
            lines.append(f"{name} = {value!r}")
    return "\n".join(lines) + "\n"
