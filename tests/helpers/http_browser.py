"""A teacher's browser without the browser: the portal's pages over real HTTP(S), with a cookie jar.

For tests that reach the portal across the test network, where Chromium
does not go. Answers are ``wsgi_client.Response`` objects, as in-process.
"""

from __future__ import annotations

import http.client
import ssl
import urllib.parse
from http.cookies import SimpleCookie

from helpers.wsgi_client import Response


class HttpBrowser:
    def __init__(self, base: str, *, ca: str | None = None, timeout: float = 10.0):
        parts = urllib.parse.urlsplit(base)
        self.secure = parts.scheme == "https"
        self.host, self.port = parts.hostname, parts.port
        self.context = ssl.create_default_context(cafile=ca) if self.secure else None
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    def _connection(self) -> http.client.HTTPConnection:
        if self.secure:
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=self.context)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def request(self, method: str, path: str, form: dict | None = None) -> Response:
        """One request on a new connection (as after a browser's idle pause); OSError when it fails."""
        headers = {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn = self._connection()
        try:
            conn.request(method, path, body, headers)
            answer = conn.getresponse()
            data = answer.read()
        except http.client.HTTPException as exc:
            raise OSError(f"{method} {path}: {exc!r}") from None
        finally:
            conn.close()
        for value in answer.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(value).items():
                if (morsel["expires"] and "1970" in morsel["expires"]) or morsel["max-age"] == "0":
                    self.cookies.pop(name, None)  # deleted, as a browser would
                else:
                    self.cookies[name] = morsel.value
        return Response(f"{answer.status} {answer.reason}", list(answer.headers.items()), data)

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, form: dict) -> Response:
        return self.request("POST", path, form)
