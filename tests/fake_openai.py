"""A fake OpenAI-compatible chat server on 127.0.0.1: scripted replies, plain JSON or SSE streaming.

`FakeOpenAI().reply(content=...)` or `.reply(tool_calls=[("name", {"arg": 1})])` queues an answer; each
POST /v1/chat/completions takes the next one (the last repeats). Streaming requests get
`chat.completion.chunk` deltas, tool-call arguments cut into fragments, then `data: [DONE]`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from loopback import LoopbackServer


@dataclass
class Reply:
    content: str | None = None
    tool_calls: list[tuple[str, dict | str]] = field(default_factory=list)
    delay: float = 0.0
    status: int = 200
    raw: bytes | None = None  # sent as the body as-is (broken answers)


class FakeOpenAI(LoopbackServer):
    def __init__(self):
        self.replies: list[Reply] = []
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(body)
                reply = fake.next_reply()
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.raw is not None or reply.status != 200:
                    error = json.dumps({"error": {"message": "boom"}}).encode()
                    payload = reply.raw if reply.raw is not None else error
                    self._send(reply.status, payload, "application/json")
                elif body.get("stream"):
                    self._stream(reply, body.get("model", "fake"))
                else:
                    self._send(200, json.dumps(fake.completion(reply, body.get("model", "fake"))).encode(),
                               "application/json")  # fmt: skip

            def _send(self, status, payload: bytes, kind: str):
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _stream(self, reply: Reply, model: str):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                for chunk in fake.chunks(reply, model):
                    self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

            def do_GET(self):  # noqa: N802
                self._send(200, json.dumps({"data": [{"id": "fake", "object": "model"}]}).encode(), "application/json")

        super().__init__(Handler)
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def next_reply(self) -> Reply:
        if not self.replies:
            return Reply("")
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    def reply(self, content: str | None = None, tool_calls=None, **kwargs) -> FakeOpenAI:
        self.replies.append(Reply(content, list(tool_calls or []), **kwargs))
        return self

    @staticmethod
    def _calls(reply: Reply):
        return [
            {"id": f"call_{n}", "type": "function",
             "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)}}
            for n, (name, args) in enumerate(reply.tool_calls)
        ]  # fmt: skip

    def completion(self, reply: Reply, model: str) -> dict:
        message = {"role": "assistant", "content": reply.content}
        if reply.tool_calls:
            message["tool_calls"] = self._calls(reply)
        return {
            "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": message,
                         "finish_reason": "tool_calls" if reply.tool_calls else "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }  # fmt: skip

    def chunks(self, reply: Reply, model: str):
        def chunk(delta, finish=None):
            return {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip

        yield chunk({"role": "assistant", "content": ""})
        text = reply.content or ""
        for start in range(0, len(text), 7):
            yield chunk({"content": text[start : start + 7]})
        for n, call in enumerate(self._calls(reply)):
            args = call["function"]["arguments"]
            opening = {"index": n, "id": call["id"], "type": "function",
                       "function": {"name": call["function"]["name"], "arguments": ""}}  # fmt: skip
            yield chunk({"tool_calls": [opening]})
            for start in range(0, len(args), 5):  # arguments arrive in fragments
                yield chunk({"tool_calls": [{"index": n, "function": {"arguments": args[start : start + 5]}}]})
        yield chunk({}, "tool_calls" if reply.tool_calls else "stop")
