"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions streaming protocol, and the
audio endpoints (`audio/transcriptions`, multipart; `audio/speech`, JSON in, audio bytes out).

Tests script what it does for each request (stream pieces with pauses, fail with a status, or hang) and
read back the requests it received. It runs in a thread; nothing about `openai` is mocked.
"""

import contextlib
import email.parser
import email.policy
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Stream:
    """Answer with these pieces, pausing `delay` seconds before each.

    `fail_after`: send only that many pieces, then close the connection mid-reply (no finish, no [DONE]),
    as a model server that crashes or a network that drops does.
    """

    pieces: list[str] = field(default_factory=lambda: ["Hello", ", learner", "!"])
    delay: float = 0.0
    fail_after: int | None = None


@dataclass
class Fail:
    """Answer with an HTTP error status."""

    status: int = 500


@dataclass
class Reply:
    """Answer a non-streamed request (e.g. one with a json_schema `response_format`) with this content.

    `content` is sent as the message text as it is: valid JSON, invalid JSON, or anything a model says.
    A non-streamed request answered by a `Stream` gets its pieces joined.
    """

    content: str = "{}"


@dataclass
class Hang:
    """Say nothing for `seconds` (longer than the client's timeout), then close."""

    seconds: float = 3.0


@dataclass
class Transcript:
    """Answer a transcription request with this text."""

    text: str = "The learner's spoken answer."


class FakeTutorServer:
    def __init__(self) -> None:
        self.script: deque[Stream | Reply | Fail | Hang] = deque()
        # audio/transcriptions: what to answer (default Transcript()) and what arrived (fields and the file).
        self.transcripts: deque[Transcript | Fail | Hang] = deque()
        self.transcription_requests: list[dict] = []
        self.speech_requests: list[dict] = []
        # audio/speech: what to answer (default: fake MP3 bytes naming the input; bytes: those; Fail: an error).
        self.speeches: deque[bytes | Fail] = deque()
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        # Called in the server thread with the request body, before answering (e.g. to look at the database).
        self.on_request: Callable[[dict], None] | None = None
        self.errors: list[BaseException] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def start(self) -> "FakeTutorServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == "/v1/audio/transcriptions":
                    self.transcription(raw)
                    return
                if self.path == "/v1/audio/speech":
                    self.speech(json.loads(raw or b"{}"))
                    return
                if self.path != "/v1/chat/completions":
                    self.send_error(404)
                    return
                body = json.loads(raw or b"{}")
                server.requests.append(body)
                server.headers.append({name.lower(): value for name, value in self.headers.items()})
                if server.on_request is not None:
                    try:
                        server.on_request(body)
                    except BaseException as error:  # reported to the test, which asserts on it
                        server.errors.append(error)
                action = server.script.popleft() if server.script else Stream()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
                    self.answer(action, body)

            def transcription(self, raw):
                message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                    f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode() + raw
                )
                fields = {}
                for part in message.iter_parts():
                    name = part.get_param("name", header="content-disposition")
                    if part.get_filename():
                        fields[name] = {
                            "filename": part.get_filename(),
                            "content_type": part.get_content_type(),
                            "data": part.get_payload(decode=True),
                        }
                    else:
                        fields[name] = part.get_payload(decode=True).decode()
                server.transcription_requests.append(fields)
                action = server.transcripts.popleft() if server.transcripts else Transcript()
                if isinstance(action, Transcript):
                    self.json(200, {"text": action.text})
                elif isinstance(action, Hang):
                    time.sleep(action.seconds)
                else:
                    self.json(action.status, {"error": {"message": "fake failure", "type": "server_error"}})

            def speech(self, body):
                server.speech_requests.append(body)
                action = server.speeches.popleft() if server.speeches else None
                if isinstance(action, Fail):
                    self.json(action.status, {"error": {"message": "fake failure", "type": "server_error"}})
                    return
                audio = action if action is not None else b"ID3FAKE-MP3:" + body.get("input", "").encode()
                self.send_response(200)
                self.send_header("Content-Type", "audio/mpeg")
                self.send_header("Content-Length", str(len(audio)))
                self.end_headers()
                self.wfile.write(audio)

            def json(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def answer(self, action, body):
                if isinstance(action, Fail):
                    payload = json.dumps({"error": {"message": "fake failure", "type": "server_error"}}).encode()
                    self.send_response(action.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if isinstance(action, Hang):
                    time.sleep(action.seconds)
                    return
                if not body.get("stream"):
                    content = action.content if isinstance(action, Reply) else "".join(action.pieces)
                    self.completion(content, body)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                for number, piece in enumerate(action.pieces):
                    if action.fail_after is not None and number >= action.fail_after:
                        self.close_connection = True
                        return
                    time.sleep(action.delay)
                    self.event({"delta": {"content": piece}, "finish_reason": None}, body)
                self.event({"delta": {}, "finish_reason": "stop"}, body)
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def completion(self, content, body):
                payload = json.dumps(
                    {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", "fake"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": content},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def event(self, choice, body):
                chunk = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": body.get("model", "fake"),
                    "choices": [{"index": 0, **choice}],
                }
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()

        return Handler
