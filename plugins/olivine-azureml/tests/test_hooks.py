"""Installing olivine-azureml adds the AzureML system and three resources, without importing Azure SDKs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = """
import json, sys
from olivine import get_plugins
plugins = get_plugins()
print(json.dumps({
    "systems": {n: plugins.systems.entry(n).distribution for n in plugins.systems},
    "resources": {n: plugins.resources.entry(n).distribution for n in plugins.resources},
    "schemes": {n: list(plugins.resources.get(n).schemes) for n in plugins.resources},
    "azure_modules": sorted(m for m in sys.modules if m.split(".")[0] == "azure"),
}))
"""


def test_the_entry_point_registers_the_system_and_resources_lazily():
    env = {**os.environ, "OLIVINE_STRICT_PLUGINS": "1"}
    env.pop("OLIVINE_LOAD_PLUGINS", None)
    found = json.loads(subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True,
                                      env=env, timeout=120).stdout)

    assert found["systems"]["AzureML"] == "olivine-azureml"
    assert {n: found["resources"][n] for n in ("azureml_datastore", "azureml_model", "azureml_registry_model")} == {
        "azureml_datastore": "olivine-azureml", "azureml_model": "olivine-azureml",
        "azureml_registry_model": "olivine-azureml"}
    assert [n for n, schemes in found["schemes"].items() if "azureml" in schemes] == ["azureml_datastore"]
    assert found["azure_modules"] == []
