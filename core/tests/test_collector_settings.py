"""A real olivine process leaves full garbage collections to pass boundaries; olivine called from Python
(tests, notebooks) leaves its caller's collector alone."""

from __future__ import annotations

import gc
import subprocess
import sys

from olivine.memory import DEFERRED_FULL_COLLECTIONS, defer_full_collections


def test_a_real_process_defers_full_collections_and_still_collects_young_cycles():
    code = ("import gc, sys\n"
            "from olivine.cli import main\n"
            "import olivine.cli as cli\n"
            "cli._exit_without_teardown = lambda: None\n"  # stay alive to report the thresholds
            "sys.argv = ['olivine', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "class Cycle:\n    pass\n"
            "for _ in range(5000):\n    a = Cycle(); a.me = a\n"
            "print(gc.get_threshold()[2], gc.get_count()[0] < 5000)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-2:] == [str(DEFERRED_FULL_COLLECTIONS), "True"]


def test_main_called_from_python_keeps_the_callers_collector(capsys):
    from olivine.cli import main

    before = gc.get_threshold()
    try:
        main(["--help"])
    except SystemExit:
        pass
    assert gc.get_threshold() == before


def test_defer_keeps_the_young_generations_thresholds():
    before = gc.get_threshold()
    try:
        defer_full_collections()
        assert gc.get_threshold() == (before[0], before[1], DEFERRED_FULL_COLLECTIONS)
    finally:
        gc.set_threshold(*before)
