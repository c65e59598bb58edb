"""A real HTTP server on the loopback that answers the part of the Hugging Face hub API that
huggingface_hub and datasets use: repo info by revision, file tree, paths-info, and file resolve with
ETag and commit headers. Point ``HF_ENDPOINT`` at ``hub.url`` and the real clients talk to it.

Repos are folders on disk, committed with ``add_repo``; a repo may be gated (by token) and a file may
stall mid-body (``stall``) to test what a client does when the hub stops answering.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse


@dataclass
class Repo:
    kind: str  # "model" or "dataset"
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    gated_tokens: set[str] | None = None  # None: public; else the tokens allowed in


class LocalHub:
    """``with LocalHub() as hub: hub.add_repo("org/tiny", folder)``; ``hub.requests`` logs every request."""

    def __init__(self):
        self.repos: dict[tuple[str, str], Repo] = {}
        self.requests: list[str] = []
        self.stalled: set[str] = set()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> LocalHub:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add_repo(self, repo_id: str, folder: Path, kind: str = "model", ref: str = "main",
                 gated_tokens: set[str] | None = None) -> str:
        """Commit every file under ``folder`` as a new revision of ``repo_id``; returns the commit sha."""
        files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(Path(folder).rglob("*"))
                 if p.is_file()}
        repo = self.repos.setdefault((kind, repo_id), Repo(kind))
        digest = hashlib.sha1(json.dumps(sorted((k, hashlib.sha256(v).hexdigest()) for k, v in files.items()))
                              .encode() + str(len(repo.commits)).encode())
        sha = digest.hexdigest()
        repo.commits[sha] = files
        repo.refs[ref] = sha
        if gated_tokens is not None:
            repo.gated_tokens = gated_tokens
        return sha

    def stall(self, repo_id: str, filename: str) -> None:
        """From now on, ``filename`` sends half its bytes and then nothing (the connection stays open)."""
        self.stalled.add(f"{repo_id}/{filename}")


def _handler(hub: LocalHub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet: tests read hub.requests instead
            pass

        def do_HEAD(self) -> None:
            self._route(body=False)

        def do_GET(self) -> None:
            self._route(body=True)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode()) if length else {}
            self._route(body=True, form=form)

        # routing ----------------------------------------------------------------------------
        def _route(self, body: bool, form: dict | None = None) -> None:
            url = urlparse(self.path)
            hub.requests.append(f"{self.command} {url.path}")
            parts = [unquote(p) for p in url.path.strip("/").split("/")]
            try:
                if parts[0] == "api" and parts[1] in ("models", "datasets"):
                    self._api("model" if parts[1] == "models" else "dataset", parts[2:], form)
                elif parts[0] == "datasets" and "resolve" in parts:
                    self._resolve("dataset", parts[1:], body)
                elif "resolve" in parts:
                    self._resolve("model", parts, body)
                else:
                    self._fail(404, "EntryNotFound", "no such route")
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _repo(self, kind: str, repo_id: str) -> Repo | None:
            repo = hub.repos.get((kind, repo_id))
            if repo is None:
                self._fail(404, "RepoNotFound", f"Repository Not Found for url: {self.path}")
                return None
            if repo.gated_tokens is not None:
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
                if not token:
                    self._fail(401, "GatedRepo", f"Access to {repo_id} is restricted. You must be authenticated.")
                    return None
                if token not in repo.gated_tokens:
                    self._fail(403, "GatedRepo", f"Access to {repo_id} is restricted and you are not in the "
                               "authorized list.")
                    return None
            return repo

        def _commit(self, repo: Repo, revision: str) -> str | None:
            sha = repo.refs.get(revision, revision if revision in repo.commits else None)
            if sha is None:
                self._fail(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            return sha

        def _api(self, kind: str, parts: list[str], form: dict | None) -> None:
            repo_id, rest = "/".join(parts[:2]), parts[2:]
            repo = self._repo(kind, repo_id)
            if repo is None:
                return
            action = rest[0] if rest else "revision"
            revision = rest[1] if len(rest) > 1 else "main"
            sha = self._commit(repo, revision)
            if sha is None:
                return
            files = repo.commits[sha]
            if action == "revision":
                siblings = [{"rfilename": name, "size": len(data)} for name, data in files.items()]
                self._json({"id": repo_id, "sha": sha, "siblings": siblings, "private": False,
                            "gated": "manual" if repo.gated_tokens is not None else False,
                            "lastModified": "2025-01-01T00:00:00.000Z", "tags": [], "downloads": 0,
                            "likes": 0, "disabled": False, "cardData": {}})
            elif action == "tree":
                prefix = "/".join(rest[2:])
                recursive = "recursive=true" in (urlparse(self.path).query or "").lower()
                self._json(_tree(files, prefix, recursive))
            elif action == "paths-info":
                wanted = (form or {}).get("paths", [])
                self._json([e for e in _tree(files, "", True) if e["path"] in wanted])
            else:
                self._fail(404, "EntryNotFound", f"unknown api {action}")

        def _resolve(self, kind: str, parts: list[str], body: bool) -> None:
            at = parts.index("resolve")
            repo_id, revision, filename = "/".join(parts[:at]), parts[at + 1], "/".join(parts[at + 2:])
            repo = self._repo(kind, repo_id)
            if repo is None:
                return
            sha = self._commit(repo, revision)
            if sha is None:
                return
            data = repo.commits[sha].get(filename)
            if data is None:
                self._fail(404, "EntryNotFound", f"{filename} not found", commit=sha)
                return
            etag = hashlib.sha256(data).hexdigest()
            start = _range_start(self.headers.get("Range"))
            self.send_response(206 if start else 200)
            self.send_header("X-Repo-Commit", sha)
            self.send_header("ETag", f'"{etag}"')
            self.send_header("Content-Length", str(len(data) - start))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            if not body:
                return
            if f"{repo_id}/{filename}" in hub.stalled:
                self.wfile.write(data[start:start + max(1, (len(data) - start) // 2)])
                self.wfile.flush()
                time.sleep(30)  # the hub stops answering; the client must give up on its own
                return
            self.wfile.write(data[start:])

        # replies ---------------------------------------------------------------------------
        def _json(self, value) -> None:
            data = json.dumps(value).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _fail(self, status: int, code: str, message: str, commit: str | None = None) -> None:
            data = json.dumps({"error": message}).encode()
            self.send_response(status)
            self.send_header("X-Error-Code", code)
            self.send_header("X-Error-Message", message)
            if commit:
                self.send_header("X-Repo-Commit", commit)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

    return Handler


def _tree(files: dict[str, bytes], prefix: str, recursive: bool) -> list[dict]:
    prefix = prefix.strip("/")
    entries: dict[str, dict] = {}
    for name, data in files.items():
        if prefix and not name.startswith(prefix + "/"):
            continue
        rest = name[len(prefix) + 1:] if prefix else name
        pieces = rest.split("/")
        for depth in range(1, len(pieces)):
            folder = "/".join(filter(None, [prefix, *pieces[:depth]]))
            if recursive or depth == 1:
                entries.setdefault(folder, {"type": "directory", "path": folder, "oid": "0" * 40, "size": 0})
        if recursive or len(pieces) == 1:
            entries[name] = {"type": "file", "path": name, "size": len(data),
                             "oid": hashlib.sha1(data).hexdigest()}
    return list(entries.values())


def _range_start(header: str | None) -> int:
    if not header or not header.startswith("bytes="):
        return 0
    return int(header[len("bytes="):].split("-", 1)[0] or 0)
