"""How much a run says: ``-v``/``-q`` and Olive's ``--log_level``, and the library output hidden by default.

By default the user sees what they can act on: olivine's own progress, notes, warnings and the summary.
Libraries' loading bars and warnings about their own internals are hidden; ``-v`` shows everything.
The choice travels in the environment so that ``olivine run-pass`` processes (PythonEnvironment, AzureML)
follow it.
"""

from __future__ import annotations

import logging
import os

import click

from olivine.noise import apply_hidden_warnings

VERBOSITY = "OLIVINE_VERBOSITY"  # -1 quiet, 0 default, 1 library output too, 2 debug logs too
LOG_LEVEL = "OLIVINE_LOG_LEVEL"  # set by the command line; wins over the workflow's log_severity_level
# Olive's --log_level numbers.
OLIVE_LEVELS = {0: logging.DEBUG, 1: logging.INFO, 2: logging.WARNING, 3: logging.ERROR, 4: logging.CRITICAL}


def verbosity() -> int:
    return int(os.environ.get(VERBOSITY, "0") or 0)


def set_verbosity(value: int, level: int | None = None) -> None:
    level = level if level is not None else {-1: logging.WARNING, 2: logging.DEBUG}.get(value, logging.INFO)
    os.environ[VERBOSITY] = str(value)
    os.environ[LOG_LEVEL] = str(level)
    logging.getLogger("olivine").setLevel(level)
    if value < 0:
        os.environ["TQDM_DISABLE"] = "1"  # libraries' bars too (downloads), as olivine's are off


def _on_verbose(ctx: click.Context, param: click.Parameter, count: int) -> None:
    if count:
        set_verbosity(min(count, 2))


def _on_quiet(ctx: click.Context, param: click.Parameter, quiet: bool) -> None:
    if quiet:
        set_verbosity(-1)


def _on_log_level(ctx: click.Context, param: click.Parameter, value: int | None) -> None:
    if value is not None:
        set_verbosity({0: 2, 1: 0}.get(value, -1), OLIVE_LEVELS[value])


def verbosity_options(command):
    """``-v``/``-vv``, ``-q`` and ``--log_level N`` (Olive's 0 debug .. 4 critical) on a command."""
    command = click.option("--log_level", "--log-level", type=click.IntRange(0, 4), expose_value=False,
                           callback=_on_log_level,
                           help="Olive's log level: 0 debug, 1 info (default), 2 warning, 3 error, 4 critical.")(
        command)
    command = click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_on_quiet,
                           help="Only warnings, errors and the summary: no progress bars.")(command)
    return click.option("-v", "--verbose", count=True, expose_value=False, callback=_on_verbose,
                        help="Also show libraries' output (loading bars, their warnings); -vv adds debug logs.")(
        command)


def quiet_libraries() -> None:
    """Hide library output nobody can act on, unless -v. Call before transformers or datasets are imported."""
    if verbosity() >= 1:
        return
    apply_hidden_warnings()  # what plugins registered about their libraries (hide_library_warning)
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")  # split generation and map bars
    try:
        from huggingface_hub.utils import disable_progress_bars, enable_progress_bars
    except ImportError:
        return
    if os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS") is not None:
        return  # the user's own switch; huggingface_hub refuses (with a warning) to override it
    # transformers' "Loading weights" bar follows the global switch; downloads
    # (huggingface_hub's own groups) keep their bars: a download can take minutes.
    disable_progress_bars()
    enable_progress_bars("huggingface_hub")
