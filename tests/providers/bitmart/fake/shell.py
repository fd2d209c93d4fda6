"""The two ways to reach the fake: an in-process httpx transport and a local HTTP server."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import httpx

from .wire import Reply

Handle = Callable[[str, str, Mapping[str, str], Mapping[str, str], bytes, str], Reply]


def mock_transport(handle: Handle) -> httpx.MockTransport:
    """In-process: a timeout raises `httpx.ReadTimeout` at once, a dropped connection
    `httpx.RemoteProtocolError` (a mock transport has no real timeout to wait for)."""

    def respond(request: httpx.Request) -> httpx.Response:
        body = request.read()
        reply = handle(
            request.method,
            request.url.path,
            dict(request.url.params),
            dict(request.headers),
            body,
            "127.0.0.1",
        )
        if reply.drop:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        if reply.delay > 0:
            raise httpx.ReadTimeout("The read operation timed out", request=request)
        return httpx.Response(reply.status, headers=reply.headers, content=reply.body)

    return httpx.MockTransport(respond)


@contextmanager
def serve(handle: Handle, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve on `host` (loopback by default) on a free port in a background thread; yields
    the base URL.

    A delayed answer waits in its own thread (until the server stops), a dropped one closes
    the connection without a byte.
    """
    stopping = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def do_DELETE(self) -> None:
            self._answer()

        def do_PUT(self) -> None:
            self._answer()

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            url = urlsplit(self.path)
            reply = handle(
                self.command,
                url.path,
                dict(parse_qsl(url.query, keep_blank_values=True)),
                {k: v for k, v in self.headers.items()},
                body,
                self.client_address[0],
            )
            if reply.drop:
                self.close_connection = True
                return
            if reply.delay > 0 and stopping.wait(reply.delay):
                self.close_connection = True
                return
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):
                # The client gave up waiting (a delayed answer): nothing left to tell it.
                self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="fake-bitmart",
        daemon=True,
    )
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield f"http://{host!s}:{port}"
    finally:
        stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
