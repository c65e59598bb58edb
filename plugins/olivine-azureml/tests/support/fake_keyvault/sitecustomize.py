"""A fake Azure Key Vault for jobs run on the test machine (no Azure is reachable from it).

Loaded through PYTHONPATH by the emulated job; replaces azure-keyvault-secrets' SecretClient with one
that reads the secrets from the JSON file named by FAKE_KEYVAULT_FILE
(``{"https://VAULT.vault.azure.net": {"secret-name": "value"}}``).
"""

import json
import os

if os.environ.get("FAKE_KEYVAULT_FILE"):
    import azure.keyvault.secrets as _secrets

    class _Secret:
        def __init__(self, name, value):
            self.name, self.value = name, value

    class SecretClient:
        def __init__(self, vault_url, credential, **kwargs):
            self.vault_url = vault_url.rstrip("/")
            self.credential = credential

        def get_secret(self, name, version=None, **kwargs):
            from azure.core.exceptions import ResourceNotFoundError

            vaults = json.loads(open(os.environ["FAKE_KEYVAULT_FILE"]).read())
            try:
                return _Secret(name, vaults[self.vault_url][name])
            except KeyError:
                raise ResourceNotFoundError(f"secret {name} not found in {self.vault_url}") from None

    _secrets.SecretClient = SecretClient
