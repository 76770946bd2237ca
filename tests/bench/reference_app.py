"""The reference server: what this machine can do for a webhook with no storage at all.

It does the request-side work pmhub's PagerDuty intake does (read the raw body,
check the V3 `v1=` HMAC-SHA256 signature in constant time, parse the JSON and find
the event and a delivery id) and answers 202, storing nothing. Same aiohttp, same
event loop policy, no middlewares, no access log: the ceiling pmhub is compared to.

    python -m tests.bench.reference_app --port 8099 --secret S
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json

from aiohttp import web

SECRET = web.AppKey("secret", bytes)


async def webhook(request: web.Request) -> web.Response:
    body = await request.read()
    expected = b"v1=" + hmac.new(request.app[SECRET], body, hashlib.sha256).hexdigest().encode()
    header = request.headers.get("X-PagerDuty-Signature", "")
    matched = False
    for part in header.split(","):
        matched |= hmac.compare_digest(part.strip().encode(), expected)
    if not matched:
        return web.json_response({"error": {"code": "bad_signature"}}, status=401)
    try:
        event = json.loads(body)["event"]
        delivery_id = request.headers.get("X-Webhook-Id") or event["id"]
    except (ValueError, KeyError, TypeError):
        return web.json_response({"error": {"code": "malformed_body"}}, status=400)
    return web.json_response({"status": "accepted", "delivery_id": delivery_id}, status=202)


async def ready(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ready"})


def create_app(secret: str) -> web.Application:
    app = web.Application()
    app[SECRET] = secret.encode()
    app.router.add_post("/webhooks/pagerduty", webhook)
    app.router.add_get("/readyz", ready)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args(argv)
    # SIGTERM/SIGINT end run_app cleanly (exit 0), like `pmhub serve`.
    web.run_app(
        create_app(args.secret), host=args.host, port=args.port, access_log=None, print=None
    )


if __name__ == "__main__":
    main()
