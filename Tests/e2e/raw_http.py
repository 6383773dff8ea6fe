"""HTTP/1.1 over TLS byte for byte, for requests that `requests` would refuse to send or would
tidy up: a NUL or invalid UTF-8 in the request line, duplicated or absurd headers, a
Content-Length that lies. One connection per request (`Connection: close`)."""
from __future__ import annotations

import http.client
import socket
import ssl
import urllib.parse
from dataclasses import dataclass, field


@dataclass
class RawResponse:
    status: int
    headers: dict[str, list[str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None


@dataclass
class RawRequest:
    """What goes on the wire: `target` is the request-target exactly as sent (bytes may be
    anything), `headers` in order (duplicates allowed). Content-Length is added from the body
    unless a header of that name is given."""
    method: bytes
    target: bytes
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    version: bytes = b"HTTP/1.1"

    def encode(self, host: bytes) -> bytes:
        lines = [self.method + b" " + self.target + b" " + self.version]
        names = {name.lower() for name, _ in self.headers}
        if b"host" not in names:
            lines.append(b"Host: " + host)
        lines.extend(name + b": " + value for name, value in self.headers)
        if b"content-length" not in names and b"transfer-encoding" not in names and (self.body or self.method in (b"POST", b"PUT")):
            lines.append(b"Content-Length: " + str(len(self.body)).encode())
        if b"connection" not in names:
            lines.append(b"Connection: close")
        return b"\r\n".join(lines) + b"\r\n\r\n" + self.body


class Wire:
    def __init__(self, base_url: str, ca_file: str, timeout: float = 20.0):
        parts = urllib.parse.urlsplit(base_url)
        self.host = parts.hostname or "localhost"
        self.port = parts.port or 443
        self.timeout = timeout
        self.context = ssl.create_default_context(cafile=ca_file)

    def send(self, request: RawRequest) -> RawResponse:
        """Raises `ConnectionError`/`ssl.SSLError` on a reset and `TimeoutError` on a hang."""
        with socket.create_connection((self.host, self.port), timeout=self.timeout) as plain:
            with self.context.wrap_socket(plain, server_hostname=self.host) as tls:
                tls.sendall(request.encode(f"{self.host}:{self.port}".encode()))
                response = http.client.HTTPResponse(tls, method=request.method.decode("latin-1"))
                response.begin()
                body = response.read()
                headers: dict[str, list[str]] = {}
                for name, value in response.getheaders():
                    headers.setdefault(name.lower(), []).append(value)
                return RawResponse(response.status, headers, body)
