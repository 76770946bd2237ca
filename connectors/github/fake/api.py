"""The GitHub fake's endpoints: what each answers, shaped as GitHub shapes it."""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any

import jwt
from aiohttp import web

from connectors.github.fake import STATE, Commit, FakeGitHub, json_response
from connectors.github.fake.objects import (
    API,
    EPOCH,
    WEB,
    Json,
    error,
    node_id,
    repository,
    validation_error,
)

REPO = "/repos/{owner}/{repo}"


def _not_found() -> web.Response:
    return json_response(404, error("Not Found", 404))


def _repo_url(state: FakeGitHub) -> str:
    return f"{API}/repos/{state.owner}/{state.repo}"


def _repository(state: FakeGitHub) -> Json:
    return repository(state.user(state.owner), state.repo, 7007, state.default_branch)


def git_ref(state: FakeGitHub, branch: str) -> Json:
    sha = state.branches[branch]
    return {
        "ref": f"refs/heads/{branch}",
        "node_id": node_id("Ref", len(branch)),
        "url": f"{_repo_url(state)}/git/refs/heads/{branch}",
        "object": {"type": "commit", "sha": sha, "url": f"{_repo_url(state)}/git/commits/{sha}"},
    }


def content_file(state: FakeGitHub, path: str, sha: str, branch: str, *, body: bool) -> Json:
    data = state.blobs[sha]
    url = f"{_repo_url(state)}/contents/{path}?ref={branch}"
    html = f"{WEB}/{state.owner}/{state.repo}/blob/{branch}/{path}"
    git = f"{_repo_url(state)}/git/blobs/{sha}"
    found: Json = {
        "type": "file",
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": sha,
        "size": len(data),
        "url": url,
        "html_url": html,
        "git_url": git,
        "download_url": f"https://raw.githubusercontent.com/{state.owner}/{state.repo}/{branch}/{path}",
        "_links": {"self": url, "git": git, "html": html},
    }
    if body:
        # GitHub wraps the base64 text at 60 characters.
        encoded = base64.b64encode(data).decode()
        found["content"] = "\n".join(encoded[i : i + 60] for i in range(0, len(encoded), 60))
        found["encoding"] = "base64"
    return found


def _person(commit: Commit) -> Json:
    login = commit.author["login"]
    return {"name": login, "email": f"{login}@users.noreply.github.com", "date": commit.date}


def commit_item(state: FakeGitHub, commit: Commit) -> Json:
    url = f"{_repo_url(state)}/commits/{commit.sha}"
    return {
        "url": url,
        "sha": commit.sha,
        "node_id": node_id("Commit", int(commit.sha, 16)),
        "html_url": f"{WEB}/{state.owner}/{state.repo}/commit/{commit.sha}",
        "comments_url": f"{url}/comments",
        "commit": {
            "url": f"{_repo_url(state)}/git/commits/{commit.sha}",
            "author": _person(commit),
            "committer": _person(commit),
            "message": commit.message,
            "comment_count": 0,
            "tree": {"sha": f"{int(commit.sha, 16) + 1:040x}", "url": f"{url}/tree"},
        },
        "author": commit.author,
        "committer": commit.author,
        "parents": [
            {"sha": p, "url": f"{_repo_url(state)}/commits/{p}", "html_url": f"{WEB}/commit/{p}"}
            for p in commit.parents
        ],
    }


def _branch_ref(state: FakeGitHub, branch: str) -> Json:
    sha = state.branches.get(branch, "0" * 40)
    return {
        "label": f"{state.owner}:{branch}",
        "ref": branch,
        "sha": sha,
        "user": state.user(state.owner),
        "repo": _repository(state),
    }


def pull_request(state: FakeGitHub, number: int, body: Json, author: Json) -> Json:
    url = f"{_repo_url(state)}/pulls/{number}"
    issue = f"{_repo_url(state)}/issues/{number}"
    html = f"{WEB}/{state.owner}/{state.repo}/pull/{number}"
    return {
        "url": url,
        "id": 900_000 + number,
        "node_id": node_id("PullRequest", number),
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": issue,
        "commits_url": f"{url}/commits",
        "review_comments_url": f"{url}/comments",
        "review_comment_url": f"{_repo_url(state)}/pulls/comments{{/number}}",
        "comments_url": f"{issue}/comments",
        "statuses_url": f"{_repo_url(state)}/statuses/{state.branches[body['head']]}",
        "number": number,
        "state": "open",
        "locked": False,
        "title": body["title"],
        "user": author,
        "body": body.get("body"),
        "labels": [],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": EPOCH,
        "updated_at": EPOCH,
        "closed_at": None,
        "merged_at": None,
        "merge_commit_sha": None,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": _branch_ref(state, body["head"]),
        "base": _branch_ref(state, body["base"]),
        "_links": {
            name: {"href": href}
            for name, href in {
                "self": url,
                "html": html,
                "issue": issue,
                "comments": f"{issue}/comments",
                "review_comments": f"{url}/comments",
                "review_comment": f"{_repo_url(state)}/pulls/comments{{/number}}",
                "commits": f"{url}/commits",
                "statuses": f"{_repo_url(state)}/statuses/{state.branches[body['head']]}",
            }.items()
        },
        "author_association": "NONE",
        "auto_merge": None,
        "draft": bool(body.get("draft")),
        "merged": False,
        "mergeable": None,
        "rebaseable": None,
        "mergeable_state": "unknown",
        "merged_by": None,
        "comments": 0,
        "review_comments": 0,
        "maintainer_can_modify": False,
        "commits": 1,
        "additions": 1,
        "deletions": 0,
        "changed_files": 1,
    }


def _own_repo(request: web.Request) -> FakeGitHub | None:
    state = request.app[STATE]
    info = request.match_info
    if (info["owner"].lower(), info["repo"].lower()) != (state.owner.lower(), state.repo.lower()):
        return None
    return state


async def _json_body(request: web.Request) -> Json | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _problems_json() -> web.Response:
    return json_response(400, error("Problems parsing JSON", 400))


def _actor(state: FakeGitHub, request: web.Request) -> Json:
    credential = request.headers.get("Authorization", "").partition(" ")[2]
    if credential in state.installation_tokens:
        return state.user(f"{state.bot_login}[bot]")
    return state.user(state.bot_login)


async def get_ref(request: web.Request) -> web.Response:
    state = _own_repo(request)
    ref = request.match_info["ref"]
    if state is None or not ref.startswith("heads/"):
        return _not_found()
    branch = ref.removeprefix("heads/")
    if branch not in state.branches:
        return _not_found()
    return json_response(200, git_ref(state, branch))


async def create_ref(request: web.Request) -> web.Response:
    state = _own_repo(request)
    if state is None:
        return _not_found()
    body = await _json_body(request)
    if body is None:
        return _problems_json()
    ref, sha = str(body.get("ref") or ""), str(body.get("sha") or "")
    if not ref.startswith("refs/") or ref.count("/") < 2:  # noqa: PLR2004
        return json_response(422, error("Reference name is not well-formed", 422))
    if sha not in state.commits:
        return json_response(422, error("Object does not exist", 422))
    branch = ref.removeprefix("refs/heads/")
    if branch in state.branches:
        return json_response(422, error("Reference already exists", 422))
    state.branches[branch] = sha
    return json_response(201, git_ref(state, branch))


async def get_contents(request: web.Request) -> web.Response:
    state = _own_repo(request)
    if state is None:
        return _not_found()
    branch = request.query.get("ref", state.default_branch)
    path = request.match_info["path"]
    head = state.branches.get(branch)
    if head is None:
        return json_response(404, error(f"No commit found for the ref {branch}", 404))
    sha = state.commits[head].tree.get(path)
    if sha is None:
        return _not_found()
    return json_response(200, content_file(state, path, sha, branch, body=True))


async def put_contents(request: web.Request) -> web.Response:  # noqa: PLR0911
    state = _own_repo(request)
    if state is None:
        return _not_found()
    body = await _json_body(request)
    if body is None:
        return _problems_json()
    path = request.match_info["path"]
    branch = str(body.get("branch") or state.default_branch)
    if not isinstance(body.get("message"), str) or not isinstance(body.get("content"), str):
        return json_response(
            422, error('Invalid request.\n\n"message", "content" wasn\'t supplied.', 422)
        )
    try:
        content = base64.b64decode(body["content"], validate=True)
    except binascii.Error:
        return json_response(422, error("content is not valid Base64", 422))
    while state.pending_edits:
        state.commit_as(*state.pending_edits.pop(0))
    head = state.branches.get(branch)
    if head is None:
        return json_response(404, error(f"Branch {branch} not found", 404))
    current = state.commits[head].tree.get(path)
    if current is not None and "sha" not in body:
        return json_response(422, error('Invalid request.\n\n"sha" wasn\'t supplied.', 422))
    if current is not None and body["sha"] != current:
        return json_response(409, error(f"{path} does not match {body['sha']}", 409))
    actor = _actor(state, request)
    made = state.commit(branch, {path: content}, body["message"], actor["login"])
    answer = {
        "content": content_file(state, path, made.tree[path], branch, body=False),
        "commit": _file_commit(state, made),
    }
    return json_response(201 if current is None else 200, answer)


def _file_commit(state: FakeGitHub, commit: Commit) -> Json:
    item = commit_item(state, commit)
    return {
        "sha": commit.sha,
        "node_id": item["node_id"],
        "url": item["commit"]["url"],
        "html_url": item["html_url"],
        "author": item["commit"]["author"],
        "committer": item["commit"]["committer"],
        "message": commit.message,
        "tree": item["commit"]["tree"],
        "parents": item["parents"],
        "verification": {
            "verified": False,
            "reason": "unsigned",
            "signature": None,
            "payload": None,
            "verified_at": None,
        },
    }


async def list_pulls(request: web.Request) -> web.Response:
    state = _own_repo(request)
    if state is None:
        return _not_found()
    wanted_state = request.query.get("state", "open")
    head = request.query.get("head")
    pulls = [
        p
        for p in reversed(state.pulls)
        if (wanted_state == "all" or p["state"] == wanted_state)
        and (head is None or p["head"]["label"] == head)
    ]
    return json_response(200, pulls)


async def create_pull(request: web.Request) -> web.Response:  # noqa: PLR0911
    state = _own_repo(request)
    if state is None:
        return _not_found()
    body = await _json_body(request)
    if body is None:
        return _problems_json()
    head, base = str(body.get("head") or ""), str(body.get("base") or "")
    head = head.split(":", 1)[-1]
    if not body.get("title"):
        return json_response(
            422, validation_error("title is missing", "PullRequest", "missing_field")
        )
    if head not in state.branches:
        return json_response(422, validation_error("head is invalid", "PullRequest", "invalid"))
    if base not in state.branches:
        return json_response(422, validation_error("base is invalid", "PullRequest", "invalid"))
    if any(p["head"]["ref"] == head and p["base"]["ref"] == base for p in state.open_pulls()):
        message = f"A pull request already exists for {state.owner}:{head}."
        return json_response(422, validation_error(message, "PullRequest"))
    if state.branches[head] == state.branches[base]:
        message = f"No commits between {base} and {head}"
        return json_response(422, validation_error(message, "PullRequest"))
    number = len(state.pulls) + 1
    pull = pull_request(state, number, {**body, "head": head}, _actor(state, request))
    state.pulls.append(pull)
    return json_response(201, pull)


async def list_commits(request: web.Request) -> web.Response:
    state = _own_repo(request)
    if state is None:
        return _not_found()
    branch = request.query.get("sha", state.default_branch)
    if branch not in state.branches:
        return json_response(404, error(f"No commit found for SHA: {branch}", 404))
    path = request.query.get("path", "")
    try:
        per_page = max(1, min(100, int(request.query.get("per_page", 30))))
    except ValueError:
        return json_response(400, error("per_page is not a number", 400))
    found = state.history(branch, path)[:per_page]
    return json_response(200, [commit_item(state, c) for c in found])


async def installation_token(request: web.Request) -> web.Response:
    state = request.app[STATE]
    credential = request.headers.get("Authorization", "").partition(" ")[2]
    try:
        claims: dict[str, Any] = jwt.decode(
            credential,
            state.app_public_key or "",
            algorithms=["RS256"],
            options={"require": ["iat", "exp", "iss"]},
        )
    except (jwt.InvalidTokenError, ValueError):
        return json_response(401, error("A JSON web token could not be decoded", 401))
    if state.app_id is None or str(claims["iss"]) != str(state.app_id):
        return json_response(401, error("Integration not found", 401))
    if str(request.match_info["installation_id"]) != str(state.installation_id):
        return _not_found()
    token = f"ghs_{secrets.token_hex(18)}"
    state.installation_tokens.add(token)
    return json_response(
        201,
        {
            "token": token,
            "expires_at": "2099-01-01T00:00:00Z",
            "permissions": {"contents": "write", "pull_requests": "write"},
            "repository_selection": "selected",
        },
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get(REPO + "/git/ref/{ref:.+}", get_ref)
    app.router.add_post(REPO + "/git/refs", create_ref)
    app.router.add_get(REPO + "/contents/{path:.+}", get_contents)
    app.router.add_put(REPO + "/contents/{path:.+}", put_contents)
    app.router.add_get(REPO + "/pulls", list_pulls)
    app.router.add_post(REPO + "/pulls", create_pull)
    app.router.add_get(REPO + "/commits", list_commits)
    app.router.add_post("/app/installations/{installation_id}/access_tokens", installation_token)
