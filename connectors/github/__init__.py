"""GitHub: post-mortems proposed as Markdown files in pull requests (PostHog's flow).

config.py settings (repository, base branch, folder, token or GitHub App) · client.py
githubkit, async, no auto-retry or HTTP cache, errors mapped to hub.errors ·
document.py the file's text, sections and pmhub's draft (pure) · connector.py
`hub.ports.Documents` (branch from the effect key; each step finds an earlier
attempt's result first) · fake/ a GitHub REST double (git refs, contents, pulls,
commits, App installation tokens).
"""

from connectors.github.config import GitHubConfig
from connectors.github.connector import GitHubDocuments

__all__ = ["GitHubConfig", "GitHubDocuments"]
