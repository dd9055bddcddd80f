"""What every portal page shares: the per-app ``Portal`` context, ``render``,
the ``traced`` wrapper, CSRF tokens, flash messages, redirects, ids, ``call``
and the error pages.

Every page request runs in a new trace whose id the footer shows. Forms carry
a CSRF token the portal signed (an HMAC of the browser's cookie nonce), answer
a valid POST with 303 (post/redirect/get) to a relative ``Location`` and an
invalid one with the form, its errors and status 400, storing nothing.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import html
import logging
import math
import re
import secrets
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import bottle

from rpc_cluster import (
    Conflict,
    InvalidParams,
    ServiceUnavailable,
    StoreFull,
    TransportError,
    current_trace_id,
    new_trace_id,
)
from rpc_cluster.core import tracing
from rpc_cluster.core.ids import is_caller_id
from rpc_cluster.grading.search import unprintable

from .grades_csv import score_text

log = logging.getLogger("portal")

HERE = Path(__file__).resolve().parent
VIEWS = (str(HERE / "views"),)
CSRF_COOKIE = "portal_csrf"
# The cookie's nonce: secrets.token_urlsafe(32).
_NONCE = re.compile(r"[A-Za-z0-9_-]{43}")
# Ids and page numbers: ASCII digits only. str.isdigit() and int() also take '²', Arabic-Indic digits or ' 1'.
_NUMBER = re.compile(r"[0-9]{1,18}")
FLASH_COOKIE = "portal_flash"
# The longest flash message shown, in characters (a longer one ends in "…"), and the most bytes its
# cookie may hold percent-encoded: Bottle refuses a cookie whose name and value pass 3,800 bytes with a
# ValueError, raised after the change the message reports was stored.
FLASH_CHARS = 300
FLASH_BYTES = 3000
# The flash cookie is "<signature>.<message>": the signature's 43 characters and the dot.
_FLASH_SIGNATURE = 44
_FLASH_PURPOSE = b"portal flash message"
_UNAVAILABLE = (TransportError, ServiceUnavailable)
_CONTEXT_KEY = "portal.context"
# How an Unavailable names grading on the 503 page.
GRADING = "the grading service"


@dataclass(frozen=True)
class Portal:
    """One app's clients and settings, stored in its ``app.config``.

    ``grading``: a client for GradingService (``grading.Grades.get_student(1)``);
    ``registry`` and ``logs``: clients for the /cluster page (optional);
    ``csrf_secret``: the key that signs CSRF tokens; random for each app unless
    given (portals behind one balancer must share it).
    """

    grading: Any
    registry: Any = None
    logs: Any = None
    secure_cookies: bool = False
    #: Each instance's last minute from its /metrics (``cluster_stats.ClusterWatch``), for /cluster.
    watch: Any = None
    #: Where each page is counted and timed (``page_metrics.PageMetrics``), if anywhere.
    pages: Any = None
    csrf_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    def attach(self, app: bottle.Bottle) -> None:
        app.config[_CONTEXT_KEY] = self


def context() -> Portal:
    """The ``Portal`` of the app serving the current request."""
    return bottle.request.app.config[_CONTEXT_KEY]


class Unavailable(Exception):
    """A service the page needs has no healthy instance, or (``reason``) cannot store anything now."""

    def __init__(self, service: str, reason: str | None = None):
        super().__init__(service)
        self.service = service
        #: Why, when the service answered: "the store is out of space" (StoreFull).
        self.reason = reason


def one_decimal(value: float | None) -> str:
    return figure(value)


def figure(value: float | None, digits: int = 1, unit: str = "") -> str:
    """``value`` with ``digits`` decimals and `` unit``; "—" for None, NaN or an infinity (nothing known)."""
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.{digits}f} {unit}" if unit else f"{value:.{digits}f}"


def count(value: int) -> str:
    """A count as every page shows one: ``29,871`` (thousands separated, also in flash messages)."""
    return f"{value:,}"


def shorten(text: str, longest: int) -> str:
    """``text``, or its first ``longest - 1`` characters and "…" when it is longer."""
    return text if len(text) <= longest else text[: longest - 1] + "…"


def has_control_characters(text: str) -> bool:
    """True if ``text`` holds a control character (NUL, C0/C1) or a lone surrogate: no name has one.

    Grading's own rule for a search (it refuses such a query), so the portal refuses exactly what it would.
    """
    return unprintable(text)


def visible(text: str) -> str:
    """``text`` with each control character or lone surrogate replaced by U+FFFD, fit for a page."""
    return "".join("\ufffd" if unprintable(c) else c for c in text)


def printable(text: str) -> str:
    """``text`` without its control characters and lone surrogates."""
    return "".join(c for c in text if not unprintable(c))


_NEEDS_ESCAPING = re.compile(r"[&<>\"']")


def _escape(value: Any) -> str:
    """``{{value}}`` in a template: the text HTML-escaped; a whole number as its digits."""
    if type(value) is str:
        return html.escape(value) if _NEEDS_ESCAPING.search(value) else value
    if type(value) is int:
        return str(value)
    return html.escape("" if value is None else str(value))


class _Template(bottle.SimpleTemplate):
    """Bottle's template with a cheaper escape. A page of 50 students escapes about 280 values and one
    of 20 grades 230; Bottle's own escape (a lambda, ``touni``, five replaces) measured 0.6-0.9 µs a
    value here, this one 0.2-0.4 µs for text without special characters and for numbers."""

    def prepare(self, **options: Any) -> None:
        super().prepare(**options)
        self._escape = _escape


def render(name: str, status: int = 200, **values: Any) -> str:
    """A page; its forms get the CSRF token and a fresh ``request_id`` (a page with several forms
    makes one for each from it: ``{{request_id}}.{{grade_id}}``).

    Sent with ``Cache-Control: no-store``: every page shows grades that can change and forms that
    carry what they were opened with, so Back must fetch the page again, never show a copy whose
    form would put old values back or reuse a spent ``request_id``.
    """
    bottle.response.status = status
    bottle.response.set_header("Cache-Control", "no-store")
    return bottle.template(
        name,
        template_adapter=_Template,
        template_lookup=VIEWS,
        trace_id=_trace_id(),
        csrf=_csrf_token(),
        request_id=secrets.token_urlsafe(16),
        flash=_take_flash(),
        one_decimal=one_decimal,
        figure=figure,
        score_text=score_text,
        count=count,
        path=bottle.request.path,
        **values,
    )


def form_request_id() -> str | None:
    """The posted form's ``request_id``, if it is one we could have issued.

    Grading stores a write once per request_id, so a double-click, or the
    portal's client sending the call again after a lost connection, stores
    one grade. A form without one (an old page, a script) is still served.
    """
    value = form_field("request_id")
    return value if is_caller_id(value) else None


def _trace_id() -> str:
    # Error pages render after the page's trace block has closed: keep its id.
    return current_trace_id() or bottle.request.environ.setdefault("portal.trace_id", new_trace_id())


def traced(handler: Callable | None = None, *, log_level: int = logging.INFO) -> Callable:
    """Run ``handler`` in its own trace, log the request, show 503 or 500 pages for its failures.

    A new trace for each page, unless the request carries a valid W3C
    ``traceparent`` (a caller instrumented with OpenTelemetry): then the page
    joins that trace. ``@traced(log_level=logging.DEBUG)`` logs the request
    line at that level (a page that refreshes itself).
    """
    if handler is None:
        return functools.partial(traced, log_level=log_level)

    @functools.wraps(handler)
    def page(*args: Any, **kwargs: Any) -> Any:
        environ = bottle.request.environ
        joined = tracing.accept(None, environ.get("HTTP_TRACEPARENT"), environ.get("HTTP_TRACESTATE"))
        with tracing.within(joined) as trace_id:
            bottle.request.environ["portal.trace_id"] = trace_id
            started = time.perf_counter()
            bottle.response.set_header("X-Trace-Id", trace_id)
            raised: bottle.HTTPResponse | None = None
            try:
                return handler(*args, **kwargs)
            except Unavailable as exc:
                log.warning(
                    "%s %s: %s unavailable%s",
                    bottle.request.method,
                    bottle.request.path,
                    exc.service,
                    f" ({exc.reason})" if exc.reason else "",
                )
                bottle.response.set_header("Retry-After", "2")
                return render("unavailable.tpl", 503, service=exc.service, reason=exc.reason)
            except bottle.HTTPResponse as response:  # a redirect, or an error page by abort()
                raised = response
                raise
            except Exception:
                log.exception("%s %s failed", bottle.request.method, bottle.request.path)
                return render(
                    "error.tpl",
                    500,
                    title="Something went wrong",
                    message="The page could not be shown. The details are in the log.",
                )
            finally:
                seconds = time.perf_counter() - started
                status = (raised or bottle.response).status_code
                log.log(
                    log_level, "%s %s %s in %.1f ms", bottle.request.method, bottle.request.path, status, seconds * 1000
                )
                pages = context().pages
                if pages is not None:
                    pages.observe(bottle.request.route.rule, status, seconds)

    return page


# -- CSRF and flash messages ---------------------------------------------------------------------

# The cookie holds a random nonce and the form the HMAC of it. Any page of the same site (127.0.0.1
# on another port: cookies ignore ports, and SameSite sees one site) can set the cookie, so a form
# field that merely equals it proves nothing; a valid HMAC needs the portal's secret.


# The flash cookie is signed the same way: another page of the same site could otherwise make the
# portal show any message it likes ("Saved.", "Session expired: log in at ...").


def _sign(nonce: str, purpose: bytes = b"portal csrf token") -> str:
    """The HMAC of ``nonce`` for ``purpose`` with the portal's secret, URL-safe base64 (43 characters)."""
    digest = hmac.new(context().csrf_secret, purpose + b"\0" + nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _csrf_token() -> str:
    """The form field for this browser, setting its nonce cookie when it has none."""
    token = bottle.request.environ.get("portal.csrf")
    if token is None:
        nonce = bottle.request.get_cookie(CSRF_COOKIE) or ""
        if not _NONCE.fullmatch(nonce):
            nonce = secrets.token_urlsafe(32)
            bottle.response.set_cookie(
                CSRF_COOKIE, nonce, path="/", httponly=True, samesite="strict", secure=context().secure_cookies
            )
        token = bottle.request.environ["portal.csrf"] = _sign(nonce)
    return token


def check_csrf() -> None:
    """403 unless the form's token is the portal's signature of the browser's cookie."""
    nonce = bottle.request.get_cookie(CSRF_COOKIE) or ""
    token = form_field("csrf_token")
    if not _NONCE.fullmatch(nonce) or not hmac.compare_digest(_sign(nonce).encode(), token.encode()):
        bottle.abort(403, "The form has expired or did not come from this portal. Reload the page and try again.")


def _take_flash() -> str | None:
    """The flash message this portal set, once; None for none, or for one it did not sign (dropped)."""
    value = bottle.request.get_cookie(FLASH_COOKIE)
    if not value:
        return None
    bottle.response.delete_cookie(FLASH_COOKIE, path="/")
    signature, _, quoted = value.partition(".")
    if not hmac.compare_digest(_sign(quoted, _FLASH_PURPOSE).encode(), signature.encode("utf-8", "replace")):
        return None
    # Signed, so ours; still shown without control characters, whatever a message once held.
    return printable(urllib.parse.unquote(quoted))[:FLASH_CHARS] or None


def flash_cookie_value(message: str) -> str:
    """``message`` as the flash cookie holds it after its signature: at most FLASH_CHARS characters, and
    FLASH_BYTES bytes with the signature.

    The one place a flash message meets the cookie's size limit: callers pass text a user
    chose (a file name, a title), and a redirect after a stored change must never fail on it.
    """
    text = shorten(message, FLASH_CHARS)
    value = urllib.parse.quote(text)
    while len(value) > FLASH_BYTES - _FLASH_SIGNATURE:  # a character takes 3 to 12 bytes once percent-encoded
        text = shorten(text, len(text) - 1)
        value = urllib.parse.quote(text)
    return value


def redirect_with_flash(path: str, message: str) -> NoReturn:
    value = flash_cookie_value(message)
    bottle.response.set_cookie(
        FLASH_COOKIE,
        f"{_sign(value, _FLASH_PURPOSE)}.{value}",
        path="/",
        httponly=True,
        samesite="strict",
        secure=context().secure_cookies,
    )
    redirect(path)


def redirect(path: str, code: int = 303) -> NoReturn:
    """Redirect to ``path`` on this portal, keeping the cookies set so far.

    ``Location`` stays relative (RFC 9110 allows it): ``bottle.redirect`` would
    make it absolute from the request's ``Host``/``X-Forwarded-Host``, which the
    client chooses, so a forged header would send the teacher to another site.
    """
    response = bottle.response.copy(cls=bottle.HTTPResponse)
    response.status = code
    response.body = ""
    response.set_header("Location", path)
    raise response


# -- ids and page numbers ------------------------------------------------------------------------


def number(text: str) -> int | None:
    """``text`` as a whole number from 1 up, if it is 1 to 18 ASCII digits (and not 0); else None."""
    if not _NUMBER.fullmatch(text):
        return None
    return int(text) or None


# -- services and forms --------------------------------------------------------------------------


def call(client: Any, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
    """``client.call(method, ...)``, raising ``Unavailable(service)`` when it cannot be reached."""
    try:
        return client.call(method, *args, **kwargs)
    except StoreFull as exc:
        raise Unavailable(service, exc.message) from None
    except _UNAVAILABLE:
        raise Unavailable(service) from None


def grading(method: str, *args: Any, **kwargs: Any) -> Any:
    """One call to the grading service (``grading("Grades.get_student", 3)``); 503 page when it is down."""
    return call(context().grading, GRADING, method, *args, **kwargs)


def posted() -> bottle.FormsDict:
    """The posted form, its fields and files (read once); the 400 page when it cannot be read.

    Every form is read through here, before its CSRF check. Bottle decodes a multipart part's
    headers (its field and file names) and its text as UTF-8 and raises UnicodeDecodeError for
    anything else (a file name in Latin-1 from an old browser or a script), MultipartError or
    ValueError for a broken body: a 400 that stores nothing, never a 500 with a traceback.
    """
    try:
        return bottle.request.POST
    except UnicodeDecodeError:
        bottle.abort(
            400, "The form could not be read: a field, or a field or file name, is not UTF-8 text. Nothing was stored."
        )
    except (bottle.MultipartError, ValueError):
        bottle.abort(400, "The form could not be read. Reload the page and try again. Nothing was stored.")
    raise AssertionError("unreachable")  # abort() raises


def form_field(name: str) -> str:
    """The posted text field ``name`` ("" when it is missing); the 400 page naming it when it is not UTF-8.

    Bottle's ``getunicode`` answers its default for bytes that are not UTF-8, which would make
    ``first_name=%E9`` an empty name: what was sent is refused instead, by name.
    """
    posted()
    forms = bottle.request.forms
    if name not in forms:
        return ""
    value = forms.getunicode(name)
    if value is None:
        bottle.abort(400, f"The field {name} is not valid text (UTF-8). Nothing was stored.")
    return str(value)


def form_values(*names: str) -> dict[str, str]:
    """The posted form's text fields ``names`` ("" for a missing one); see ``form_field``."""
    return {name: form_field(name) for name in names}


def uploaded(name: str) -> bottle.FileUpload | None:
    """The posted file ``name`` (None when the form has no such file); see ``posted``."""
    posted()
    return bottle.request.files.get(name)


def query_text(name: str) -> str | None:
    """The query parameter ``name`` as text ("" when it is missing); None when it is not UTF-8.

    ``getunicode`` would answer "" for ``q=%FF%FE``, and a search for nothing lists everyone.
    """
    query = bottle.request.query
    if name not in query:
        return ""
    value = query.getunicode(name)
    return None if value is None else str(value)


def link(path: str, **params: Any) -> str:
    """``path`` with the query ``params`` that are not None or "" (``link("/students", q="ada", page=2)``)."""
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{path}?{query}" if query else path


def first_use(exc: Conflict) -> dict | None:
    """If ``exc`` is grading refusing a ``request_id`` already used with other values (a form sent
    again after Back, with other values typed): what the first use stored (``{}`` when grading did
    not say). None for any other conflict."""
    data = exc.data if isinstance(exc.data, dict) else {}
    if "request_id" not in data:
        return None
    return data.get("result") if isinstance(data.get("result"), dict) else {}


def field_error(exc: InvalidParams) -> dict[str, str]:
    """The form errors (field name -> problem) for a service's InvalidParams."""
    data = exc.data if isinstance(exc.data, dict) else {}
    field = data.get("field") or "form"
    return {field: data.get("problem") or exc.message}


# -- static files and error pages ---------------------------------------------------------------


def static(name: str) -> Any:
    return bottle.static_file(name, root=str(HERE / "static"))


def error_page(title: str) -> Callable[[bottle.HTTPError], str]:
    """The handler that shows an HTTP error with ``title``."""

    def handler(error: bottle.HTTPError) -> str:
        message = error.body if isinstance(error.body, str) and error.body else title
        if error.status_code == 500:
            # Bottle's own 500 carries the exception: log it, never show it.
            if error.traceback:
                log.error("%s %s: %s", bottle.request.method, bottle.request.path, error.traceback)
            message = "The page could not be shown. The details are in the log."
        return render("error.tpl", error.status_code, title=title, message=message)

    return handler
