"""Google Docs (with Drive): post-mortems as Google Docs in a shared-drive folder.

config.py settings (folder, shared drive, the same delegated service account as the
calendar) · client.py Drive v3 + Docs v1 through the shared Google transport
(connectors/common/google.py: google-api-python-client, static discovery, errors mapped)
· document.py the Doc's structure as sections and pmhub's draft written back (pure) ·
connector.py `hub.ports.Documents` (created once by an appProperties marker; the draft
rewritten only at the revision read, only while untouched) · fake/ a Drive + Docs double.
"""

from connectors.google_docs.config import GoogleDocsConfig
from connectors.google_docs.connector import GoogleDocsDocuments, key_marker

__all__ = ["GoogleDocsConfig", "GoogleDocsDocuments", "key_marker"]
