"""pmhub's configuration (`config/pmhub.yaml`): the models, the YAML loader and its errors.

    settings = load_settings("config/pmhub.yaml")   # raises ConfigError

Every problem in the file is reported at once, one line each, as
`file:line:column: message`. Secrets are `SecretStr` and never appear in a
repr, a JSON dump or an error message; `secret_values()` hands their plain
values to the log redactor. Import from here; the submodules are the implementation.
"""

from __future__ import annotations

from hub.config.connectors import ConnectorsSettings
from hub.config.core import (
    AdminSettings,
    LogSettings,
    ServerSettings,
    StoreSettings,
    WorkerSettings,
)
from hub.config.loader import (
    load_settings,
    secret_values,
    settings_from_text,
    settings_json_schema,
)
from hub.config.problems import ConfigError, ConfigProblem
from hub.config.root import DEFAULT_CONFIG_PATH, Settings
from hub.config.sources import (
    IncidentIoSource,
    JiraSource,
    PagerDutySource,
    SlackSource,
    SourcesSettings,
)

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "AdminSettings",
    "ConfigError",
    "ConfigProblem",
    "ConnectorsSettings",
    "IncidentIoSource",
    "JiraSource",
    "LogSettings",
    "PagerDutySource",
    "ServerSettings",
    "Settings",
    "SlackSource",
    "SourcesSettings",
    "StoreSettings",
    "WorkerSettings",
    "load_settings",
    "secret_values",
    "settings_from_text",
    "settings_json_schema",
]
