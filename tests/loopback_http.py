"""A loopback HTTP file server for tests: Range support and a one-shot connection cut."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        server: LoopbackServer = self.server  # type: ignore[assignment]
        data = server.payload
        rng = self.headers.get("Range")
        server.requests.append(rng)
        start = 0
        if rng and server.honour_range:
            start = int(rng.split("=", 1)[1].split("-", 1)[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if server.cut_after is not None:  # send part of the body, then drop the connection
            self.wfile.write(body[: server.cut_after])
            self.wfile.flush()
            server.cut_after = None
            self.close_connection = True
            return
        self.wfile.write(body)
        server.bytes_sent += len(body)


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, payload: bytes):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.payload = payload
        self.honour_range = True
        self.cut_after: int | None = None
        self.requests: list[str | None] = []
        self.bytes_sent = 0
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/model.onnx"

    def __enter__(self) -> "LoopbackServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
