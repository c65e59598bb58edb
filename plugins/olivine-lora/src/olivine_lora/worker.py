"""One process of a distributed LoRA/QLoRA run: ``python -m olivine_lora.worker spec.json``.

Started by ``olivine_lora.launch`` through torch's elastic launcher, which sets RANK, WORLD_SIZE and the
rendezvous in the environment. Rank 0 writes the adapter and ``result.json``; a worker that fails writes
``error-rank<n>.json`` so the launching process can say why in one line.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from pathlib import Path


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    launch, rank = Path(spec["launch"]), int(os.environ["RANK"])
    _exit_with_launcher()
    if rank != 0:
        _redirect(Path(spec["logs"]) / f"rank-{rank}.log")
    (launch / f"rank-{rank}.pid").write_text(f"{os.getpid()} {os.environ.get('WORLD_SIZE', '?')}\n")
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", level=logging.INFO if rank == 0 else
                        logging.WARNING, stream=sys.stderr)
    try:
        _train(spec, rank)
    except BaseException as exc:  # noqa: BLE001 - every failure is told to the launching process
        from olivine import OlivineError

        user = isinstance(exc, OlivineError)
        if not user:
            traceback.print_exc()
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        _write(launch / f"error-rank{rank}.json", {"user": user, "message": message,
                                                   "exit_code": getattr(exc, "exit_code", 1)})
        return int(getattr(exc, "exit_code", 1)) or 1
    return 0


def _train(spec: dict, rank: int) -> None:
    import torch
    from olivine import DataConfig, ModelRef, PassContext

    from olivine_lora import parallel
    from olivine_lora.passes import LoRA, QLoRA
    from olivine_lora.run import train_adapter

    if "OMP_NUM_THREADS" not in os.environ:  # the node's cores shared among its processes
        local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local))
    cls = QLoRA if spec["type"] == QLoRA.name else LoRA
    config = cls.parse_config(spec["config"], spec["path"])
    ctx = PassContext(
        output_dir=Path(spec["output_dir"]), workflow_dir=Path(spec["workflow_dir"]), pass_key=spec["pass_key"],
        path=spec["path"], checkpoint_dir=Path(spec["checkpoint_dir"]) if spec["checkpoint_dir"] else None,
        data_configs={d["name"]: DataConfig.model_validate(d) for d in spec["data_configs"]},
        logger=logging.getLogger(f"olivine.pass.{spec['pass_key'] or 'lora'}"),
        show_progress=bool(spec["show_progress"]) and rank == 0)
    world = parallel.init(spec["backend"], spec["timeout"])
    try:
        ref, _ = train_adapter(config, ModelRef.from_json(spec["model"]), ctx, cls is QLoRA, world)
        if ref is not None:
            _write(Path(spec["launch"]) / "result.json", {"report": ctx.report, "ref": ref.to_json()})
    finally:
        parallel.close()


def _redirect(log: Path) -> None:
    """This process's stdout and stderr (its own and its libraries') go to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def _write(path: Path, data: dict) -> None:
    staging = path.with_suffix(".tmp")
    staging.write_text(json.dumps(data))
    os.replace(staging, path)


def _exit_with_launcher(interval: float = 1.0) -> None:
    """Stop when the process that launched this one is gone (``olivine run`` killed with SIGKILL gets no say):
    a worker left alone would hold its GPU and the rendezvous port until someone finds it."""
    import threading
    import time

    launcher = os.getppid()

    def watch() -> None:
        while os.getppid() == launcher:
            time.sleep(interval)
        print(f"the launching process {launcher} is gone: stopping", file=sys.stderr, flush=True)
        os._exit(1)

    threading.Thread(target=watch, name="olivine-launcher-watch", daemon=True).start()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
