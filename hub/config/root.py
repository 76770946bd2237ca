"""The whole configuration file."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from hub.config.connectors import ConnectorsSettings, ExistingFile
from hub.config.core import (
    AdminSettings,
    LogSettings,
    ServerSettings,
    StoreSettings,
    WorkerSettings,
)
from hub.config.retention import RetentionSettings
from hub.config.sources import SourcesSettings
from hub.config.teams import DigestSettings, TeamName
from hub.config.types import SectionsModel
from hub.policy.teams import TeamSpec

DEFAULT_CONFIG_PATH = Path("config/pmhub.yaml")

# Fields the loader fills in; a file that sets them is wrong.
LOADER_FIELDS = frozenset({"config_path"})


class Settings(SectionsModel):
    """pmhub's configuration, as loaded from `config/pmhub.yaml`."""

    server: ServerSettings = Field(default_factory=ServerSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    admin: AdminSettings = Field(default_factory=AdminSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)  # issue 12
    sources: SourcesSettings = Field(default_factory=SourcesSettings)
    connectors: ConnectorsSettings = Field(default_factory=ConnectorsSettings)
    policies: list[ExistingFile] = Field(
        default_factory=list,
        description="Policy files, relative to this file's directory.",
    )
    # Many teams, one pmhub (issue 15: hub/config/teams.py).
    teams: dict[TeamName, TeamSpec] = Field(
        default_factory=dict,
        description="Team name -> which incidents are the team's (`when`, first match wins) "
        "and its targets (Slack channel, calendar, Jira project, …); policies override them.",
    )
    digest: DigestSettings | None = Field(
        default=None, description="The weekly digest per team; absent: no digest."
    )
    # Absolute path of the file these settings came from; relative paths in
    # it were resolved against its directory.
    config_path: SkipJsonSchema[Path] = Field(default=DEFAULT_CONFIG_PATH, exclude=True)
