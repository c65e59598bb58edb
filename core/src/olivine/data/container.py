"""HuggingfaceContainer: a data config's local files read through ``datasets``."""

from __future__ import annotations

import logging
from typing import Any, NoReturn

from olivine.config.schema import DataConfig
from olivine.data import encoding
from olivine.data.json_rows import read_json_rows
from olivine.data.options import LoadOptions, PreProcessOptions
from olivine.errors import ConfigError

log = logging.getLogger("olivine.data")


class HuggingfaceContainer:
    """One data config: its rows (``datasets.Dataset``) and its text pre-processing options."""

    def __init__(self, data_config: DataConfig):
        self.config = data_config
        self.name = data_config.name
        self.load = LoadOptions.model_validate(data_config.load_dataset_config)
        self.pre = PreProcessOptions.model_validate(data_config.pre_process_data_config)

    def rows(self):
        """The selected split as a ``datasets.Dataset``, with ``col_filters`` applied."""
        import datasets

        datasets.utils.logging.set_verbosity_error()
        datasets.disable_progress_bars()
        kwargs: dict[str, Any] = {"split": self.load.split}
        for key, value in (("data_files", self.load.data_files), ("data_dir", self.load.data_dir),
                           ("name", self.load.subset), ("revision", self.load.revision),
                           ("trust_remote_code", self.load.trust_remote_code)):
            if value is not None:
                kwargs[key] = value
        try:
            dataset = datasets.load_dataset(self.load.builder(), **kwargs)
        except Exception as exc:
            self._raise_if_not_utf8()
            self._load_error(exc)
        if self.load.col_filters:
            dataset = dataset.filter(self._selected)
        if len(dataset) == 0:
            raise self._no_rows()
        return dataset

    def _load_error(self, exc: Exception) -> NoReturn:
        if isinstance(exc, (ValueError, FileNotFoundError, KeyError)):
            if self.load.is_hub() and not isinstance(exc, ValueError | KeyError):
                raise self._hub_error(exc) from None
            raise ConfigError(f"data config {self.name!r}", f"cannot load its data: {exc}") from exc
        if not self.load.is_hub():
            raise exc
        raise self._hub_error(exc) from None  # hub datasets: gated, missing, unreachable -> one line

    def _raise_if_not_utf8(self) -> None:
        """A decode failure names no file: find the local data file that is not UTF-8 and name it."""
        if self.load.is_hub() or self.load.builder() not in encoding.TEXT_BUILDERS:
            return
        found = encoding.non_utf8_file(self.load.data_files, limit=None)
        if found is not None:
            raise ConfigError(f"data config {self.name!r}", encoding.message(*found), encoding.HINT) from None

    def records(self) -> list[dict[str, Any]]:
        """The selected rows as dicts; plain local JSON is read without importing ``datasets``."""
        try:
            rows = read_json_rows(self.load)
        except UnicodeDecodeError:
            self._raise_if_not_utf8()
            raise
        if rows is None:
            return self.rows().to_list()
        rows = [row for row in rows if self._selected(row)]
        if not rows:
            raise self._no_rows()
        return rows

    def _hub_error(self, exc: Exception) -> ConfigError:
        from olivine.data.hub import hub_error

        return hub_error(exc, self.load.data_name or "", self.load.revision, f"data config {self.name!r}")

    def _selected(self, row: dict[str, Any]) -> bool:
        """``col_filters``: a row is kept when every named column holds the given value."""
        return all(row.get(column) == value for column, value in self.load.col_filters.items())

    def _no_rows(self) -> ConfigError:
        return ConfigError(f"data config {self.name!r}", f"split {self.load.split!r} has no rows")


def container_for(data_config: DataConfig | HuggingfaceContainer) -> HuggingfaceContainer:
    return data_config if isinstance(data_config, HuggingfaceContainer) else HuggingfaceContainer(data_config)


def load_rows(data_config: DataConfig):
    """The rows a data config selects, as a ``datasets.Dataset``."""
    return container_for(data_config).rows()
