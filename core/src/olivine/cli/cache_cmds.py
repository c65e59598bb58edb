"""``olivine cache ls|verify|prune``: what a cache dir holds, whether it is intact, and making it smaller."""

from __future__ import annotations

import re
import time
from pathlib import Path

import click

UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
SPANS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def _cache_root(cache_dir: Path | None, config_file: Path | None) -> Path:
    from olivine.errors import ConfigError

    if cache_dir is None and config_file is not None:
        from olivine.config.loader import load_workflow
        from olivine.paths import resolve_path

        loaded = load_workflow(config_file)
        cache_dir = resolve_path(loaded.config.engine.cache_dir, loaded.workflow_dir)
    root = (cache_dir or Path(".olivine-cache")).resolve()
    if not (root / "models").is_dir():
        raise ConfigError("", f"{root} is not an olivine cache dir (no models/ folder)",
                          "pass --cache-dir or --config")
    return root


def _where(func):
    func = click.option("--config", "config_file", type=click.Path(exists=True, path_type=Path),
                        help="Use this workflow's engine.cache_dir.")(func)
    return click.option("--cache-dir", type=click.Path(path_type=Path),
                        help="The cache dir (default: ./.olivine-cache).")(func)


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024
    return str(n)


def parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", text.upper())
    if not match:
        raise click.BadParameter(f"{text!r}: expected a size such as 500M or 20G")
    return int(float(match.group(1)) * UNITS[match.group(2)])


def parse_age(text: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text.lower())
    if not match:
        raise click.BadParameter(f"{text!r}: expected an age such as 12h, 30d or 2w")
    return float(match.group(1)) * SPANS[match.group(2)]


@click.group("cache")
def cache_group() -> None:
    """Inspect, verify and prune a cache dir (safe while runs use it)."""


@cache_group.command("ls")
@_where
def ls_cmd(cache_dir: Path | None, config_file: Path | None) -> None:
    """Entries with their pass, size, last use and state (sizes checked, not hashes)."""
    from olivine.cache_admin import entries

    root = _cache_root(cache_dir, config_file)
    click.echo(f"{'key':<32}  {'pass':<20}  {'size':>9}  {'used':>9}  state")
    for entry in entries(root):
        age = _human_age(time.time() - entry.used)
        click.echo(f"{entry.key:<32}  {entry.producer:<20}  {_human(entry.size):>9}  {age:>9}  {entry.state}")
    evals = list((root / "evals").glob("*.json"))
    set_aside = list((root / "corrupt").iterdir()) if (root / "corrupt").is_dir() else []
    click.echo(f"{len(evals)} evaluation(s); {len(set_aside)} damaged entr(y/ies) set aside in {root / 'corrupt'}")


def _human_age(seconds: float) -> str:
    for unit, span in (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= span:
            return f"{seconds / span:.0f}{unit} ago"
    return "just now"


@cache_group.command("verify")
@_where
def verify_cmd(cache_dir: Path | None, config_file: Path | None) -> None:
    """Read every byte of every entry against its manifest; damaged entries are set aside (re-run next time)."""
    from olivine.cache_admin import verify

    root = _cache_root(cache_dir, config_file)
    checked, damaged = verify(root)
    for path, reason in damaged:
        click.echo(f"corrupt: {path}: {reason} (set aside; the next run re-runs it)")
    click.echo(f"{checked} entr(y/ies) checked, {len(damaged)} damaged")
    if damaged:
        raise SystemExit(1)


@cache_group.command("prune")
@_where
@click.option("--older-than", "older_than", help="Remove entries and evaluations unused for this long (30d, 12h).")
@click.option("--max-size", "max_size", help="Then remove least recently used entries until the cache fits (20G).")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
def prune_cmd(cache_dir: Path | None, config_file: Path | None, older_than: str | None, max_size: str | None,
              dry_run: bool) -> None:
    """Remove leftovers of dead runs (work dirs, killed checkpoint saves, set-aside entries), then old or
    least recently used entries. Entries another run holds are never touched."""
    from olivine.cache_admin import prune

    root = _cache_root(cache_dir, config_file)
    removed = prune(root, parse_age(older_than) if older_than else None,
                    parse_size(max_size) if max_size else None, dry_run)
    total = 0
    for path, size in removed:
        total += size
        click.echo(f"{'would remove' if dry_run else 'removed'} {path} ({_human(size)})")
    click.echo(f"{'would free' if dry_run else 'freed'} {_human(total)} in {len(removed)} item(s)")

