"""One ModelBuilder run: pick the inputs, build with progress, fix genai_config.json, check the result."""

from __future__ import annotations

from pathlib import Path

from olivine import ConfigError, ModelRef, PassContext, link_or_copy_tree
from olivine_runtimes import providers

from olivine_modelbuilder import verify
from olivine_modelbuilder.build import BuildRequest, run_builder, step_count
from olivine_modelbuilder.genai_config import end_token_ids, set_end_tokens

LOG_NAME = "builder.log"


def build(config, model: ModelRef, provider: str, options: dict[str, str], ctx: PassContext,
          path: str) -> ModelRef:
    out = ctx.output_dir / "model"
    out.mkdir(parents=True, exist_ok=True)
    hf_dir, options = _inputs(config, model, options, out, path)
    request = BuildRequest(hf_dir, out, config.precision, provider, options, config.search)
    log_file = ctx.output_dir / LOG_NAME
    with ctx.progress(step_count(request), f"ModelBuilder {config.precision} for {provider}") as bar:
        try:
            run_builder(request, log_file, ctx.logger.getChild("builder"), bar)
        except Exception:
            _log_tail(log_file, ctx)
            raise
    found = {} if config.metadata_only else verify.check_weights(out / options.get("filename", "model.onnx"),
                                                                 config.precision, options)
    eos = _fix_end_tokens(config, hf_dir, out, path)
    verify.check_search(out / "genai_config.json", config.search)
    _report(ctx, config, provider, options, found, eos)
    metadata = {"precision": config.precision, "execution_provider": provider, "eos_token_id": eos,
                "onnxruntime_genai": providers.installed_version(providers.GENAI), **found}
    return ModelRef(format="onnx-genai", path=out, metadata=metadata)


def _inputs(config, model: ModelRef, options: dict[str, str], out: Path, path: str) -> tuple[Path, dict[str, str]]:
    """The Hugging Face folder the builder reads, and options that depend on the input format."""
    options = dict(options)
    if model.format == "onnx" or config.metadata_only:
        if model.format != "onnx" or not config.metadata_only:
            raise ConfigError(f"{path}.metadata_only", "metadata_only needs an onnx model and an onnx model needs "
                              f"metadata_only (got a {model.format} model, metadata_only={config.metadata_only})")
        options["filename"] = _copy_onnx(model.path, out)
        return _hf_source(model, onnx_folder=out), options
    if model.format == "hf+adapter":
        if not (Path(model.path) / "adapter_config.json").is_file():
            raise ConfigError("input_model", f"no adapter_config.json in the adapter folder {model.path}")
        options["adapter_path"] = str(model.path)
        return _hf_source(model), options
    return Path(model.path), options


def _hf_source(model: ModelRef, onnx_folder: Path | None = None) -> Path:
    """The base model folder; for an ONNX model without one, its own folder when it holds config.json
    and the tokenizer (as Olive's ONNX outputs do)."""
    if model.base_model is None and onnx_folder is not None and (onnx_folder / "config.json").is_file():
        return onnx_folder
    if model.base_model is None or not (Path(model.base_model) / "config.json").is_file():
        raise ConfigError("input_model", f"a {model.format} model needs its Hugging Face base folder "
                          f"(config.json, tokenizer) as base_model; got {model.base_model}")
    return Path(model.base_model)


def _copy_onnx(path: Path, out: Path) -> str:
    path = Path(path)
    folder = path.parent if path.is_file() else path
    models = [path] if path.is_file() else sorted(folder.glob("*.onnx"))
    if len(models) != 1:
        raise ConfigError("input_model", f"expected one .onnx file in {folder}, found {len(models)}")
    link_or_copy_tree(folder, out)
    return models[0].name


def _fix_end_tokens(config, hf_dir: Path, out: Path, path: str) -> list[int]:
    ids, missing = end_token_ids(hf_dir, out, config.end_of_turn_tokens)
    if missing:
        raise ConfigError(f"{path}.end_of_turn_tokens", f"not in the tokenizer: {', '.join(missing)}")
    return set_end_tokens(out / "genai_config.json", ids)


def _report(ctx: PassContext, config, provider: str, options: dict[str, str], found: dict, eos: list[int]) -> None:
    shown = {k: v for k, v in options.items() if k not in ("hf_token", "adapter_path")}
    ctx.report.update({"precision": config.precision, "execution_provider": provider, "builder_options": shown,
                       "eos_token_id": eos, **found})
    ctx.report["artifacts"] = {LOG_NAME: LOG_NAME}
    what = f"{found['matmulnbits_nodes']} MatMulNBits nodes, block {found['block_size']}, " if found else ""
    ctx.note(f"{config.precision} model for {provider}: {what}generation stops at token ids {eos}")


def _log_tail(log_file: Path, ctx: PassContext, lines: int = 20) -> None:
    if log_file.is_file():
        tail = log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        ctx.logger.error("onnxruntime-genai builder output (last %d lines):\n%s", len(tail), "\n".join(tail))

