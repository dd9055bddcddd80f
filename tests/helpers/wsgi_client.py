"""Drive a WSGI app in-process, with a cookie jar: the portal's route tests use it."""

from __future__ import annotations

import io
import re
import secrets
import urllib.parse
from http.cookies import SimpleCookie


class Response:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes):
        self.status = int(status.split()[0])
        self.headers = headers
        self.body = body
        self.text = body.decode("utf-8", "replace")

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def csrf(self) -> str:
        match = re.search(r'name="csrf_token" value="([^"]+)"', self.text)
        assert match, "no CSRF field in the page"
        return match.group(1)

    def request_ids(self) -> list[str]:
        """The request_id of each form on the page, in order."""
        return re.findall(r'name="request_id" value="([^"]+)"', self.text)


class WsgiClient:
    def __init__(self, app):
        self.app = app
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        form: dict | None = None,
        raw_body: bytes | None = None,
        headers: dict[str, str] | None = None,
        content_type: str = "application/x-www-form-urlencoded",
    ) -> Response:
        """``headers``: extra request headers by HTTP name (``{"X-Forwarded-Host": "evil.test"}``)."""
        body = raw_body if raw_body is not None else urllib.parse.urlencode(form or {}).encode()
        path, _, query = path.partition("?")
        # As a real server does: PATH_INFO is the percent-decoded bytes, read as latin-1 (PEP 3333).
        path = urllib.parse.unquote_to_bytes(path).decode("latin-1")
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "portal.test",
            "SERVER_PORT": "80",
            "HTTP_HOST": "portal.test",
            "wsgi.url_scheme": "http",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.errors": io.StringIO(),
            "CONTENT_TYPE": content_type,
            "wsgi.version": (1, 0),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        if self.cookies:
            environ["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        captured = {}

        def start_response(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers

        chunks = self.app(environ, start_response)
        try:
            data = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        for name, value in captured["headers"]:
            if name.lower() == "set-cookie":
                for key, morsel in SimpleCookie(value).items():
                    if (morsel["expires"] and "1970" in morsel["expires"]) or morsel["max-age"] == "0":
                        self.cookies.pop(key, None)
                    else:
                        self.cookies[key] = morsel.value
        return Response(captured["status"], captured["headers"], data)

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, form: dict) -> Response:
        return self.request("POST", path, form)

    def upload(self, path: str, form: dict, files: dict[str, tuple[str, bytes]]) -> Response:
        """POST ``form`` and ``files`` ({field: (file name, content)}) as multipart/form-data, as a browser does."""
        boundary = "----form" + secrets.token_hex(12)
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in form.items()
        ]
        for name, (filename, content) in files.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: text/csv\r\n\r\n".encode()
                + content
                + b"\r\n"
            )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.request("POST", path, raw_body=body, content_type=f"multipart/form-data; boundary={boundary}")
