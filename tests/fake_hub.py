"""A fake Hugging Face Hub on 127.0.0.1 that speaks just enough of the API for the real client.

Each path has a script: a list of answers served in order (the last one repeats), so a test can say
"429 with Retry-After, then the record" or "500 forever". File answers honour HTTP range requests (206), and
an answer can be cut off in the middle of its body (`truncate_at`) to play a dropped connection.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlparse

from loopback import LoopbackServer


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    truncate_at: int | None = None  # send the full Content-Length, then only this many bytes, then close


def json_answer(data, status=200, **headers) -> Answer:
    return Answer(status, json.dumps(data).encode(), {"Content-Type": "application/json", **headers})


def model_record_answer(record: dict) -> Answer:
    return json_answer(record)


def discussions_answer(discussions: int, pulls: int, repo: str) -> Answer:
    items = [
        {"title": f"t{i}", "num": i, "author": {"name": "u"}, "createdAt": "2025-01-01T00:00:00.000Z",
         "status": "open", "repo": {"name": repo, "type": "model"}, "isPullRequest": i >= discussions}
        for i in range(discussions + pulls)
    ]  # fmt: skip
    return json_answer({"discussions": items, "count": len(items), "start": 0, "numItemsPerPage": 50})


def readme_answer(text: str, sha: str = "0" * 40) -> Answer:
    body = text.encode()
    return Answer(200, body, {"ETag": f'"{sha[:20]}"', "X-Repo-Commit": sha, "Content-Length": str(len(body)),
                              "Content-Type": "text/plain"})  # fmt: skip


def file_answer(body: bytes, **kwargs) -> Answer:
    return Answer(200, body, {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes"}, **kwargs)


def sibling(path: str, body: bytes | None = None, size: int | None = None) -> dict:
    """A `siblings` entry as model_info(files_metadata=True) returns it; LFS info when the bytes are given."""
    entry = {"rfilename": path}
    if body is not None:
        size = len(body)
        entry["lfs"] = {"size": size, "sha256": hashlib.sha256(body).hexdigest(), "pointerSize": 134}
    if size is not None:
        entry["size"] = size
    return entry


def security_status(*flagged: tuple[str, str], done: bool = True) -> dict:
    """The Hub's `securityRepoStatus`: (path, level) pairs for the files its scanners flag."""
    return {"scansDone": done, "filesWithIssues": [{"path": p, "level": lvl} for p, lvl in flagged]}


def not_found(code="RepoNotFound") -> Answer:
    return json_answer({"error": "Repository not found"}, status=404, **{"X-Error-Code": code})


def gated() -> Answer:
    return json_answer({"error": "Access to this model is restricted"}, status=403, **{"X-Error-Code": "GatedRepo"})


class FakeHub(LoopbackServer):
    """Start with `with FakeHub() as hub:`; `hub.url` is the endpoint; `hub.script(path, *answers)`."""

    def __init__(self):
        self.scripts: dict[str, list[Answer]] = {}
        self.requests: list[tuple[str, str]] = []
        self.headers: list[tuple[str, dict]] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, head: bool):
                path = urlparse(self.path).path
                hub.requests.append((self.command, path))
                script = hub.scripts.get(path)
                if not script:
                    answer = not_found()
                else:
                    answer = script.pop(0) if len(script) > 1 else script[0]
                hub.headers.append((path, dict(self.headers)))
                if answer.delay:
                    time.sleep(answer.delay)
                status, body, headers = answer.status, answer.body, dict(answer.headers)
                wanted = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
                if wanted and status == 200 and headers.get("Accept-Ranges") == "bytes":
                    start = int(wanted.group(1))
                    end = min(int(wanted.group(2) or len(body) - 1), len(body) - 1)
                    if start >= len(body):
                        status, body = 416, b""
                    else:
                        status, body = 206, body[start : end + 1]
                        headers["Content-Range"] = f"bytes {start}-{end}/{len(answer.body)}"
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body if answer.truncate_at is None else body[: answer.truncate_at])
                if answer.truncate_at is not None:
                    self.close_connection = True

            def do_GET(self):  # noqa: N802
                self._answer(head=False)

            def do_HEAD(self):  # noqa: N802
                self._answer(head=True)

        super().__init__(Handler)
        self.url = f"http://127.0.0.1:{self.port}"

    def script(self, path: str, *answers: Answer) -> None:
        self.scripts[path] = list(answers)

    def serve_model(self, record: dict, readme: str | None = None, discussions=(0, 0)) -> None:
        repo = record["id"]
        self.script(f"/api/models/{repo}", model_record_answer(record))
        self.script(f"/api/models/{repo}/discussions", discussions_answer(*discussions, repo=repo))
        if readme is not None:
            self.script(f"/{repo}/resolve/main/README.md", readme_answer(readme))

    def serve_file(self, repo: str, path: str, *answers: Answer, revision: str = "main") -> None:
        self.script(f"/{repo}/resolve/{revision}/{path}", *answers)

    def file_requests(self, repo: str, path: str) -> list[dict]:
        """The headers of every request made for one repo file (any revision)."""
        return [h for p, h in self.headers if p.startswith(f"/{repo}/resolve/") and p.endswith(f"/{path}")]
