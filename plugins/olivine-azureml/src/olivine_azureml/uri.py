"""``azureml://`` URIs: datastore paths, workspace models and registry models."""

from __future__ import annotations

import re
from dataclasses import dataclass

from olivine import ConfigError

_WS = r"subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)/(?:providers/[^/]+/)?workspaces/(?P<ws>[^/]+)/"
_DATASTORE = re.compile(r"^azureml://(?:" + _WS + r")?datastores/(?P<ds>[^/]+)/paths/(?P<path>.+)$", re.I)
_REGISTRY_MODEL = re.compile(r"^azureml://registries/(?P<reg>[^/]+)/models/(?P<name>[^/]+)/versions/(?P<ver>[^/]+)/?$",
                             re.I)
_WORKSPACE_MODEL = re.compile(r"^azureml://(?:locations/[^/]+/workspaces/[^/]+/|" + _WS + r")?"
                              r"models/(?P<name>[^/]+)/versions/(?P<ver>[^/]+)/?$", re.I)


@dataclass(frozen=True)
class DatastorePath:
    datastore: str
    path: str
    subscription_id: str | None = None
    resource_group: str | None = None
    workspace_name: str | None = None


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: str
    registry: str | None = None
    subscription_id: str | None = None
    resource_group: str | None = None
    workspace_name: str | None = None


def parse(uri: str, path: str) -> DatastorePath | ModelVersion:
    match = _DATASTORE.match(uri)
    if match:
        return DatastorePath(match["ds"], match["path"], match["sub"], match["rg"], match["ws"])
    match = _REGISTRY_MODEL.match(uri)
    if match:
        return ModelVersion(match["name"], match["ver"], registry=match["reg"])
    match = _WORKSPACE_MODEL.match(uri)
    if match:
        groups = match.groupdict()
        return ModelVersion(match["name"], match["ver"], None, groups.get("sub"), groups.get("rg"), groups.get("ws"))
    raise ConfigError(path, f"unrecognized AzureML URI {uri!r}",
                      "use azureml://datastores/NAME/paths/PATH, azureml://registries/REG/models/NAME/versions/V "
                      "or azureml://subscriptions/.../workspaces/WS/datastores/NAME/paths/PATH")
