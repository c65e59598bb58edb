"""Which lm-eval tasks a config names: registered names, task YAML files, and folders of the user's own.

Paths in the config are relative to the workflow file. lm-eval's own index (all its bundled tasks) is
built only when a name is not among the user's files: it takes seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from olivine import ConfigError, did_you_mean, resolve_path

if TYPE_CHECKING:
    from olivine_lmeval.evaluator import LMEvalConfig

YAML_SUFFIXES = (".yaml", ".yml")


def is_file_spec(task: str) -> bool:
    return task.lower().endswith(YAML_SUFFIXES)


def check_files(cfg: LMEvalConfig, workflow_dir: Path, path: str) -> None:
    """Every task YAML file and include_path folder exists (before any work)."""
    for i, task in enumerate(cfg.tasks):
        if is_file_spec(task) and not resolve_path(task, workflow_dir).is_file():
            raise ConfigError(f"{path}.tasks[{i}]", f"task file not found: {resolve_path(task, workflow_dir)}")
    for folder in cfg.include_paths():
        if not resolve_path(folder, workflow_dir).is_dir():
            raise ConfigError(f"{path}.include_path", f"folder not found: {resolve_path(folder, workflow_dir)}")


def task_specs(cfg: LMEvalConfig, workflow_dir: Path) -> list[str]:
    """Task names as given; task files as absolute paths (lm-eval reads them relative to its working folder)."""
    return [str(resolve_path(t, workflow_dir)) if is_file_spec(t) else t for t in cfg.tasks]


def task_manager(cfg: LMEvalConfig, workflow_dir: Path, path: str) -> Any:
    """An lm-eval TaskManager that knows every name in ``tasks``; a ConfigError naming an unknown one."""
    from lm_eval.tasks import TaskManager

    include = [str(resolve_path(folder, workflow_dir)) for folder in cfg.include_paths()]
    names = [(i, t) for i, t in enumerate(cfg.tasks) if not is_file_spec(t)]
    if include:
        own = TaskManager(include_path=include, include_defaults=False)
        if all(name in own.all_tasks for _, name in names):
            return own
    elif not names:
        return TaskManager(include_defaults=False)
    manager = TaskManager(include_path=include or None)
    for i, name in names:
        if name not in manager.all_tasks:
            raise ConfigError(f"{path}.tasks[{i}]", f"unknown lm-eval task {name!r}",
                              did_you_mean(name, manager.all_tasks)
                              or "see `lm-eval ls tasks`, or give a task YAML file or include_path")
    return manager
