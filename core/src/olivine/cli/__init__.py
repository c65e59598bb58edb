"""The ``olivine`` command line. Plugins are loaded in ``main()``, never at import of this module."""

from __future__ import annotations

import logging
import os
import sys

import click

from olivine.cli.cache_cmds import cache_group
from olivine.cli.config_cmds import config_group
from olivine.cli.doctor_cmd import doctor_command
from olivine.cli.inspect_cmds import evaluators_cmd, passes_group, plugins_cmd, resources_cmd, systems_cmd
from olivine.cli.run_cmds import run_cmd, run_pass_cmd
from olivine.cli.verbosity import LOG_LEVEL, verbosity_options


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="olivine")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@verbosity_options
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """olivine: fine-tune, convert and quantize language models from one workflow config."""
    if debug:
        os.environ["OLIVINE_DEBUG"] = "1"
        logging.getLogger("olivine").setLevel(logging.DEBUG)


for command in (run_cmd, run_pass_cmd, passes_group, systems_cmd, evaluators_cmd, resources_cmd, plugins_cmd,
                config_group, doctor_command, cache_group):
    cli.add_command(command)


def debug_enabled() -> bool:
    return os.environ.get("OLIVINE_DEBUG", "") not in ("", "0") or "--debug" in sys.argv


def main(argv: list[str] | None = None) -> None:
    from olivine.errors import OlivineError

    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", level=logging.WARNING)
    # Plugins load before click parses --debug: set the level now so their load tracebacks show.
    inherited = os.environ.get(LOG_LEVEL)  # a run-pass process follows the run that started it
    logging.getLogger("olivine").setLevel(logging.DEBUG if debug_enabled() else int(inherited or logging.INFO))
    if argv is None:  # a real process: tests calling main() keep their interpreter's collector as it was
        from olivine.memory import defer_full_collections

        defer_full_collections()
    try:
        from olivine.plugins import get_plugins

        get_plugins().call_register_commands(cli)
        cli.main(args=argv, prog_name="olivine", standalone_mode=False)
        if argv is None:  # a real process, not a caller in this interpreter (tests, run_olivine_here)
            _exit_without_teardown()
    except OlivineError as exc:
        if debug_enabled():
            raise
        # One line per error; a message may itself contain "; ", so the errors are not split from the text.
        for line in [e.line() for e in exc.errors] if hasattr(exc, "errors") else [str(exc)]:
            click.echo(f"error: {line}", err=True)
        sys.exit(exc.exit_code)
    except OSError as exc:  # a full disk, a read-only cache, a missing permission: one line naming the path
        if debug_enabled():
            raise
        where = ": ".join(str(f) for f in (exc.filename, exc.filename2) if f)
        click.echo(f"error: {where + ': ' if where else ''}{exc.strerror or exc}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted; finished passes stay in the cache and a re-run resumes", err=True)
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)


# Once a run has imported these, the interpreter's own teardown at exit (clearing every module's dict,
# freeing hundreds of thousands of objects one by one, the libraries' static destructors) took 0.5-2 s
# of a `olivine run` (bench/head_to_head.py). Every file a command writes is closed before it returns.
_HEAVY = ("torch", "onnxruntime", "transformers")


def _exit_without_teardown() -> None:
    """After a successful command that imported a heavy library: exit status 0 now, skipping the teardown.

    Everything exit normally does that matters still runs first: atexit callbacks (logging's flush and
    close, temporary folders, trackers) and stdout/stderr flushes. Falls back to a normal exit while a
    non-daemon thread is still running, since a normal exit would wait for it.
    """
    import threading

    if not any(name in sys.modules for name in _HEAVY):
        return
    if any(t is not threading.main_thread() and not t.daemon and t.is_alive() for t in threading.enumerate()):
        return
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing left to deliver
            pass
    os._exit(0)
