"""Retry calls to Azure services that failed for a transient reason (network, throttling, 5xx)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}
MAX_SLEEP_S = 120.0
log = logging.getLogger("olivine.azureml")


def is_transient(exc: BaseException) -> bool:
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    if isinstance(exc, (ServiceRequestError, ServiceResponseError, ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, HttpResponseError):
        return getattr(exc, "status_code", None) in TRANSIENT_STATUS
    return False


def with_retries(call: Callable[[], T], what: str, retries: int, interval: float,
                 sleep: Callable[[float], None] = time.sleep) -> T:
    """``call()``; on a transient error wait ``interval * 2**attempt`` seconds and try again, ``retries`` times."""
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:
            signed_out = _credential_error(exc)
            if signed_out is exc:
                raise
            if signed_out is not None:
                raise signed_out from exc
            if attempt >= retries or not is_transient(exc):
                raise
            delay = min(interval * 2 ** attempt, MAX_SLEEP_S)
            attempt += 1
            log.warning("%s: %s (retry %d of %d in %.0fs)", what, _short(exc), attempt, retries, delay)
            sleep(delay)


def _credential_error(exc: BaseException):
    from olivine_azureml.credentials import as_credential_error

    return as_credential_error(exc)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
