"""Google's OAuth 2.0 token endpoint, as a service account with domain-wide delegation meets it.

The flow is Google's "Using OAuth 2.0 for Server to Server Applications" (the JWT bearer
grant of RFC 7523): the client POSTs `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`
and `assertion=<JWT signed with the service account's private key>`, whose claims name
the service account (`iss`), the scopes (`scope`, space-separated), the token endpoint
(`aud`, always Google's token URL) and, with domain-wide delegation, the user acted as
(`sub`). Google answers
`{"access_token", "token_type": "Bearer", "expires_in"}`, or 400 `invalid_grant` for a bad
signature or claims, and 401 `unauthorized_client` when the Workspace admin has not
authorised the client for the scopes asked.

A server of its own (Google's is another host than the APIs'): point a key file's
`token_uri` at it. The signature is checked with the service account's public key (by
google-auth, the library the client signs with), and each grant is recorded, so a test
can see which scopes and which subject pmhub asked for.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from google.auth import exceptions as auth_exceptions
from google.auth import jwt

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# "When making an access token request this value is always
# https://oauth2.googleapis.com/token", whichever address the request goes to.
AUDIENCE = "https://oauth2.googleapis.com/token"
TOKEN_LIFETIME_SECONDS = 3599


@dataclass
class FakeGoogleOAuth:
    """Service accounts' keys it knows (the key file's `private_key_id` → PEM public key),
    and what it granted. `access_token`: the token to issue (give the calendar fake the
    same, as its `token`); a fresh one per grant when unset."""

    public_keys: dict[str, str] = field(default_factory=dict)
    access_token: str | None = None
    # Scopes the Workspace admin authorised per service account; None: any.
    authorised_scopes: dict[str, set[str]] | None = None
    grants: list[dict[str, Any]] = field(default_factory=list)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/token", self._token)
        return app

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("grant_type") != JWT_BEARER:
            return _error(400, "unsupported_grant_type", "Invalid grant_type.")
        assertion = form.get("assertion")
        if not isinstance(assertion, str):
            return _error(400, "invalid_request", "Missing required parameter: assertion")
        try:
            claims = jwt.decode(assertion, certs=self.public_keys, audience=AUDIENCE)  # type: ignore[no-untyped-call]
        except (ValueError, auth_exceptions.GoogleAuthError):
            return _error(400, "invalid_grant", "Invalid JWT Signature.")
        scopes = set(str(claims.get("scope", "")).split())
        allowed = (self.authorised_scopes or {}).get(str(claims.get("iss")))
        if not scopes or (self.authorised_scopes is not None and not scopes <= (allowed or set())):
            return _error(
                401,
                "unauthorized_client",
                "Client is unauthorized to retrieve access tokens using this method, or "
                "client not authorized for any of the scopes requested.",
            )
        token = self.access_token or "ya29." + secrets.token_urlsafe(24)
        self.grants.append(claims)
        self.tokens[token] = claims
        return web.json_response(
            {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME_SECONDS}
        )


def _error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)
