"""Write docs/reference/{passes,systems,evaluators,resources}.md from the registered classes' Config schemas.

Only classes from this repository's distributions (core and every plugins/*) are documented, loaded the way
`make setup` installs them: OLIVINE_LOAD_PLUGINS and OLIVINE_PLUGIN_MODULES are ignored for the run.

    .venv/bin/python scripts/gen_reference_docs.py           # rewrite the pages
    .venv/bin/python scripts/gen_reference_docs.py --check   # exit 1 listing stale pages
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import types
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "docs" / "reference"
REGENERATE = "python scripts/gen_reference_docs.py"
# Environment variables that change which plugins load; the reference always shows the full repo set.
PLUGIN_SELECTION_ENV = ("OLIVINE_LOAD_PLUGINS", "OLIVINE_PLUGIN_MODULES")

KINDS = {
    "passes": ("Passes", "pass", "a pass entry of `passes` (`{\"type\": NAME, ...keys}`)"),
    "systems": ("Systems", "system", "a system entry of `systems` (`{\"type\": NAME, ...keys}`, or the old "
                "`config` wrapper)"),
    "evaluators": ("Evaluators (metric types)", "metric type",
                   "a metric's `user_config` (the metric's `type` is NAME)"),
    "resources": ("Resources", "resource type", "a resource reference (`{\"type\": NAME, \"config\": {...keys}}`)"),
    "runtimes": ("Model runtimes", "model runtime", "no workflow key: the model format is its name"),
    "doctor_checks": ("Doctor checks", "doctor check", "no workflow key: its name is its section of "
                      "`olivine doctor --json`"),
}
# Kinds that have no config of their own and no listing command.
UNCONFIGURED = {"runtimes": "`olivine evaluators` shows which formats the metric types evaluate with them.",
                "doctor_checks": "`olivine doctor` runs them."}


class PluginSetError(Exception):
    """A distribution of this repository is not installed or failed to load."""


# ---------------------------------------------------------------------------------------------- plugin set

def repo_distributions() -> list[str]:
    """Distribution names of core and every plugins/* package, read from their pyproject.toml."""
    folders = [ROOT / "core", *sorted(p for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").is_file())]
    return [_project_name(folder / "pyproject.toml") for folder in folders]


def _project_name(pyproject: Path) -> str:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        match = re.search(r'^\[project\][^\[]*?^name\s*=\s*"([^"]+)"', pyproject.read_text(), re.M | re.S)
        if not match:
            raise PluginSetError(f"{pyproject}: no [project] name") from None
        return match.group(1)
    return tomllib.loads(pyproject.read_text())["project"]["name"]


@contextmanager
def _full_plugin_set() -> Iterator[None]:
    saved = {name: os.environ.pop(name) for name in PLUGIN_SELECTION_ENV if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def load_repo_plugins():
    """A fresh plugin set (the process-wide one is left alone), checked to hold every repo distribution."""
    from olivine.plugins import load_plugins

    with _full_plugin_set():
        plugins = load_plugins()
    wanted = repo_distributions()
    problems = [f"{info.distribution}: {info.error}" for info in plugins.infos
                if info.error and info.distribution in wanted]
    loaded = {info.distribution for info in plugins.infos}
    problems += [f"{dist}: not installed" for dist in wanted if dist not in loaded]
    if problems:
        raise PluginSetError("the reference needs every package of this repository installed (scripts/setup.sh); "
                             + "; ".join(problems))
    return plugins, set(wanted)


# ---------------------------------------------------------------------------------------------- rendering

def render_all(out_dir: Path = OUT_DIR) -> dict[Path, str]:
    plugins, distributions = load_repo_plugins()
    return {out_dir / f"{kind}.md": render_page(kind, entries)
            for kind, entries in documented_entries(plugins, distributions).items()}


def documented_entries(plugins: Any, distributions: set[str]) -> dict[str, list[tuple[str, Any]]]:
    """Registered classes by kind, only those from ``distributions``, sorted by name."""
    found = {}
    for kind in KINDS:
        registry = plugins.registry(kind)
        found[kind] = [(name, registry.entry(name)) for name in registry
                       if registry.entry(name).distribution in distributions]
    return found


def render_page(kind: str, entries: list[tuple[str, Any]]) -> str:
    title, noun, where = KINDS[kind]
    lines = [
        f"# {title}",
        "",
        f"<!-- Generated by {REGENERATE} from the Config classes; edit those, then re-run it. -->",
        "",
        _intro(kind, noun, where),
        "",
        *_summary_table(kind, entries),
    ]
    for name, entry in entries:
        lines += ["", *render_class(kind, name, entry)]
    return "\n".join(lines).rstrip() + "\n"


def _intro(kind: str, noun: str, where: str) -> str:
    if kind in UNCONFIGURED:
        return f"Every {noun} of the packages in this repository ({where}). {UNCONFIGURED[kind]}"
    return (f"Every {noun} of the packages in this repository, with each key it accepts in {where}. "
            "Unknown keys are errors. `olivine " + kind + "` lists what is installed on your machine"
            + (" and `olivine passes show NAME` prints a pass's config as JSON Schema." if kind == "passes" else "."))


def _summary_table(kind: str, entries: list[tuple[str, Any]]) -> list[str]:
    if kind == "passes":
        return _table(["name", "accepts", "produces", "distribution"], [
            [_link(name), _codes(e.cls.accepts), _codes([e.cls.produces]), f"`{e.distribution}`"]
            for name, e in entries])
    return _table(["name", "distribution", "description"], [
        [_link(name), f"`{e.distribution}`", _cell(e.cls.description())] for name, e in entries])


def render_class(kind: str, name: str, entry: Any) -> list[str]:
    cls = entry.cls
    lines = [f"## {name}", "", _inline(cls.description()) or "(no description)", "",
             f"- Distribution: `{entry.distribution}`"]
    if kind == "passes":
        lines.append(f"- Accepts: {_codes(cls.accepts)}; produces: {_codes([cls.produces])}")
    if kind == "evaluators":
        lines.append(f"- Sub types: {_codes(cls.sub_types) or '(none)'}")
        lines.append(f"- Model formats: {_codes(_evaluated_formats(cls))}")
    if kind == "resources" and getattr(cls, "schemes", ()):
        lines.append(f"- URI schemes: {_codes(s + '://' for s in cls.schemes)}")
    lines.append("")
    if kind not in UNCONFIGURED:
        lines += render_model(cls.Config, prefix="")
    return lines


def _evaluated_formats(cls: Any) -> list[str]:
    """The formats a metric type evaluates with this repository's runtimes installed."""
    from olivine.cli.inspect_cmds import evaluated_formats

    with _full_plugin_set():
        return evaluated_formats(cls)


def render_model(model: type[BaseModel], prefix: str) -> list[str]:
    """The key table of one pydantic model, then one sub-table per nested model (keys written `a.b`)."""
    schema = model.model_json_schema(by_alias=False)
    props, defs = schema.get("properties", {}), schema.get("$defs", {})
    rows, loose, nested = [], [], []
    for field_name, field in model.model_fields.items():
        if _is_loose(field):
            loose.append(field_name)
            continue
        key, sub = prefix + field_name, _nested_model(field.annotation)
        rows.append([f"`{key}`", _codes(_aliases(field_name, field)), _cell(_type_of(props.get(field_name, {}), defs)),
                     _cell(_default_of(field)), _cell(_description(field, sub))])
        if sub is not None:
            nested.append((key + ("[]" if _is_list(field.annotation) else ""), sub))
    if not rows and not loose:
        return ["No config keys."]
    lines = _table(["key", "aliases", "type", "default", "description"], rows) if rows else []
    if loose:
        lines += ["", "Also accepted, any value: " + ", ".join(f"`{prefix}{name}`" for name in loose) + "."]
    for key, sub in nested:
        lines += ["", f"### `{key}` keys", ""]
        doc = _first_paragraph(sub.__doc__)
        if doc:
            lines += [_inline(doc), ""]
        lines += render_model(sub, prefix=key + ".")
    return lines


def undescribed_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Keys that get a table row but have no ``Field(description=...)``, nested models included."""
    missing = []
    for field_name, field in model.model_fields.items():
        if _is_loose(field):
            continue
        if not field.description:
            missing.append(prefix + field_name)
        sub = _nested_model(field.annotation)
        if sub is not None:
            missing += undescribed_keys(sub, prefix + field_name + ".")
    return missing


def _is_loose(field: Any) -> bool:
    """A pass-through key (typed Any, no description): listed by name only, not given a row."""
    return field.annotation is Any and not field.description


# ---------------------------------------------------------------------------------------------- field helpers

def _aliases(name: str, field: Any) -> list[str]:
    found: list[str] = []
    for alias in (field.alias, field.validation_alias):
        if isinstance(alias, str):
            found.append(alias)
        elif isinstance(alias, AliasChoices):
            found += [choice for choice in alias.choices if isinstance(choice, str)]
    return [a for i, a in enumerate(found) if a != name and a not in found[:i]]


def _default_of(field: Any) -> str:
    if field.is_required():
        return "required"
    from pydantic_core import to_jsonable_python

    value = field.get_default(call_default_factory=True, validated_data={})
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", exclude_unset=True) or {}
    return f"`{json.dumps(to_jsonable_python(value))}`"


def _description(field: Any, sub: type[BaseModel] | None) -> str:
    text = field.description or ""
    if sub is not None and not text:
        text = _first_paragraph(sub.__doc__)
    return " ".join(text.split())


def _first_paragraph(doc: str | None) -> str:
    return " ".join((doc or "").strip().split("\n\n")[0].split())


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def _is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_is_list(arg) for arg in typing.get_args(annotation))
    return origin is list


def _type_of(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    if "x-doc-values" in prop:  # a library's enum that grows between releases: named, not listed
        return prop["x-doc-values"]
    if "$ref" in prop:
        return "object"
    if "anyOf" in prop:
        options = [o for o in prop["anyOf"] if o.get("type") != "null"]
        text = " or ".join(dict.fromkeys(_type_of(o, defs) for o in options))
        return text + (" or null" if len(options) < len(prop["anyOf"]) else "")
    if "enum" in prop:
        return "one of " + ", ".join(f"`{json.dumps(v)}`" for v in prop["enum"])
    if "const" in prop:
        return f"`{json.dumps(prop['const'])}`"
    kind = prop.get("type")
    if kind == "array":
        items = prop.get("items")
        return f"list of {_type_of(items, defs)}" if items else "list"
    if kind == "object":
        values = prop.get("additionalProperties")
        return f"object of {_type_of(values, defs)}" if isinstance(values, dict) and values else "object"
    if kind is None:
        return "any"
    return kind + _bounds(prop)


def _bounds(prop: dict[str, Any]) -> str:
    marks = {"minimum": "≥", "exclusiveMinimum": ">", "maximum": "≤", "exclusiveMaximum": "<"}
    found = [f"{sign} {prop[key]}" for key, sign in marks.items() if key in prop]
    return f" ({', '.join(found)})" if found else ""


# ---------------------------------------------------------------------------------------------- markdown

def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head),
            *("| " + " | ".join(row) + " |" for row in rows)]


def _cell(text: str) -> str:
    return _inline(text).replace("|", "\\|").replace("\n", " ")


def _inline(text: str) -> str:
    """Docstring text as Markdown: ``x`` becomes `x`; a bare <tag> outside code stays visible."""
    parts = text.replace("``", "`").split("`")
    return "`".join(part if i % 2 else part.replace("<", "&lt;") for i, part in enumerate(parts))


def _codes(values) -> str:
    return ", ".join(f"`{v}`" for v in values)


def _link(name: str) -> str:
    return f"[{name}](#{re.sub(r'[^a-z0-9_-]', '', name.lower())})"


# ---------------------------------------------------------------------------------------------- entry point

def stale_pages(pages: dict[Path, str]) -> list[Path]:
    """Pages whose text on disk differs from what the installed Config classes give."""
    return [path for path, text in pages.items() if not path.is_file() or path.read_text() != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="list stale pages and exit 1 instead of writing")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR, help="folder of the pages (default: docs/reference)")
    args = parser.parse_args(argv)
    try:
        pages = render_all(args.out_dir)
    except PluginSetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stale = stale_pages(pages)
    if args.check:
        for path in stale:
            print(f"stale: {_shown(path)}")
        if stale:
            print(f"regenerate with: {REGENERATE}")
        return 1 if stale else 0
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for path in stale:
        path.write_text(pages[path])
        print(f"wrote {_shown(path)}")
    return 0


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


if __name__ == "__main__":
    sys.exit(main())
