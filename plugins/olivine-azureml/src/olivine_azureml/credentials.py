"""Your side's Azure sign-in: azure-identity's DefaultAzureCredential, and one line when it finds nothing.

DefaultAzureCredential fails at the first token request with a 40-line ClientAuthenticationError
listing every credential type it tried. The user needs one line saying how to sign in; the list is
for ``--debug`` (logged at debug level, and chained to the error that the debug traceback shows).
"""

from __future__ import annotations

import logging

from olivine import OlivineError

log = logging.getLogger("olivine.azureml")
HOW_TO_SIGN_IN = ("run `az login`, or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET for a service "
                  "principal, or use a managed identity; --debug lists the credential types tried")


class NoAzureCredentials(OlivineError):
    """No Azure credential could sign in (nothing configured on this machine, or every one refused)."""


def no_credentials(exc: BaseException) -> NoAzureCredentials:
    log.debug("Azure sign-in failed; credential types tried:\n%s", exc)
    return NoAzureCredentials(f"no Azure credentials were found: {HOW_TO_SIGN_IN}")


def credential(config):
    """``DefaultAzureCredential(**default_auth_params)`` whose failure to sign in is NoAzureCredentials."""
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import DefaultAzureCredential

    class _Credential(DefaultAzureCredential):
        def get_token(self, *scopes, **kwargs):
            try:
                return super().get_token(*scopes, **kwargs)
            except ClientAuthenticationError as exc:
                raise no_credentials(exc) from exc

        def get_token_info(self, *scopes, **kwargs):
            try:
                return super().get_token_info(*scopes, **kwargs)
            except ClientAuthenticationError as exc:
                raise no_credentials(exc) from exc

    return _Credential(**config.default_auth_params.kwargs())


def as_credential_error(exc: BaseException) -> NoAzureCredentials | None:
    """The one-line error when ``exc`` is a failed sign-in, or wraps one (azure-ai-ml re-raises some), else None."""
    from azure.identity import CredentialUnavailableError

    seen: BaseException | None = exc
    for _ in range(10):  # a cause chain is short; a cycle must not hang us
        if seen is None:
            return None
        if isinstance(seen, NoAzureCredentials):
            return seen
        if isinstance(seen, CredentialUnavailableError):
            return no_credentials(seen)
        seen = seen.__cause__ or seen.__context__
    return None
