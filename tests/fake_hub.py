"""A fake Hugging Face Hub on 127.0.0.1 that speaks just enough of the API for the real client.

Each path has a script: a list of answers served in order (the last one repeats), so a test can say
"429 with Retry-After, then the record" or "500 forever".
"""

from __future__ import annotations

import json
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


def not_found(code="RepoNotFound") -> Answer:
    return json_answer({"error": "Repository not found"}, status=404, **{"X-Error-Code": code})


def gated() -> Answer:
    return json_answer({"error": "Access to this model is restricted"}, status=403, **{"X-Error-Code": "GatedRepo"})


class FakeHub(LoopbackServer):
    """Start with `with FakeHub() as hub:`; `hub.url` is the endpoint; `hub.script(path, *answers)`."""

    def __init__(self):
        self.scripts: dict[str, list[Answer]] = {}
        self.requests: list[tuple[str, str]] = []
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
                if answer.delay:
                    time.sleep(answer.delay)
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                if "Content-Length" not in answer.headers:
                    self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if not head:
                    self.wfile.write(answer.body)

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
