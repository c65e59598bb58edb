"""Progress as a user sees it: a tqdm bar with rate and ETA on a terminal, a log line every 10 s elsewhere;
and the end-of-run summary within 100 columns."""

from __future__ import annotations

import io
import logging

from core_helpers import olivine_cli, touch_workflow, write_workflow
from olivine import progress
from olivine.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_bar_shows_rate_and_eta():
    screen = Terminal()
    with Progress(50, "training", stream=screen) as bar:
        for _ in range(20):
            bar.update(1, loss=0.5)

    drawn = screen.getvalue()
    assert "training" in drawn and "20/50" in drawn and "50/50" not in drawn
    assert "/s" in drawn and "<" in drawn  # tqdm's rate and elapsed<remaining
    assert "loss=0.5" in drawn


def test_off_a_terminal_it_logs_a_line_per_interval_and_at_the_end(caplog, monkeypatch):
    monkeypatch.setattr(progress, "LOG_INTERVAL_S", 0.0)
    log_file = io.StringIO()
    with caplog.at_level(logging.INFO, logger="olivine"), Progress(3, "merging", stream=log_file) as bar:
        for _ in range(3):
            bar.update(1)

    assert log_file.getvalue() == ""  # no bar drawn into a file
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("merging 1/3") and lines[-1].startswith("merging 3/3")
    assert "/s" in lines[0] and "eta" in lines[0]


def test_quiet_turns_bars_off(monkeypatch):
    monkeypatch.setenv("OLIVINE_VERBOSITY", "-1")
    screen = Terminal()
    with Progress(5, "training", stream=screen) as bar:
        bar.update(5)

    assert screen.getvalue() == ""


def test_a_run_with_many_metrics_keeps_its_summary_within_100_columns(tmp_path, fake_hf_model, test_plugins):
    config = touch_workflow(fake_hf_model, labels=("first-touch-pass", "second-touch-pass"))
    metrics = [{"name": f"folder_size_{i}", "type": "size", "sub_types": [{"name": "bytes"}]} for i in range(12)]
    config["evaluators"] = {"many": {"metrics": metrics}}
    config["engine"]["evaluator"] = "many"

    result = olivine_cli("run", str(write_workflow(tmp_path, config)), "--no-progress")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert sum(line.startswith("stage ") for line in lines) >= 2  # split into tables, not wider lines
    assert lines[-2] == f"model: {tmp_path / 'out' / 'model'}"
