"""Which service errors are retried, and how long olivine waits between tries."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError
from olivine_azureml.retry import with_retries


def flaky(errors):
    calls = []

    def call():
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return "done"

    return call, calls


def http_error(status: int) -> HttpResponseError:
    error = HttpResponseError(f"status {status}")
    error.status_code = status
    return error


def test_transient_errors_are_retried_with_exponential_backoff():
    call, calls = flaky([ServiceRequestError("connection refused"), http_error(429), http_error(503)])
    sleeps = []

    assert with_retries(call, "submit", retries=3, interval=2.0, sleep=sleeps.append) == "done"
    assert sleeps == [2.0, 4.0, 8.0]
    assert len(calls) == 4


@pytest.mark.parametrize("error", [http_error(400), http_error(403), ResourceNotFoundError("no such job"),
                                   ValueError("bad")])
def test_other_errors_are_raised_at_once(error):
    call, calls = flaky([error])

    with pytest.raises(type(error)):
        with_retries(call, "submit", retries=3, interval=0, sleep=lambda s: None)
    assert len(calls) == 1
