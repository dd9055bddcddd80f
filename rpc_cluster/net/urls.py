"""The one rule for an ``http://`` or ``https://`` URL the cluster can use.

    >>> target = parse("http://оценки:4000/rpc")
    >>> target.host, target.port, target.path, target.tls
    ('xn--e1agfld2c', 4000, '/rpc', False)

Every place that takes a service's URL checks it here: the registry before it
stores a registration, the client and the registry's heartbeats before they
connect, and each command-line flag as it is parsed. A URL passes when it has

- the scheme ``http`` or ``https``;
- a host that is an IP literal (IPv6 in brackets), an ASCII name, or a name
  of Unicode letters and digits, which is sent as its IDNA form (what DNS,
  TLS and the ``Host`` header see), as a browser does;
- a port from 1 to 65535, or none (the scheme's own);
- no user name or password;
- at most ``MAX_URL_LENGTH`` characters, none of them a control character or
  whitespace, and an ASCII path and query (non-ASCII must be percent-encoded).

Anything else raises ``BadUrl``, a ValueError whose message says why in one
line. The URL itself is never rewritten: the registry keeps it as it was
given, so register, deregister and lookup all speak of the same string.
"""

from __future__ import annotations

import ipaddress
import unicodedata
import urllib.parse
from dataclasses import dataclass
from types import MappingProxyType

#: URL schemes a cluster address may have; ``https`` needs a server with TLS.
SCHEMES = ("http", "https")
DEFAULT_PORTS = MappingProxyType({"http": 80, "https": 443})
#: The longest URL accepted, in characters. Browsers and proxies commonly stop near 2 KiB,
#: and a registration's URL is copied into every lookup, push and listing.
MAX_URL_LENGTH = 2048
# DNS's own limits (RFC 1035), on the ASCII form of a name.
_MAX_NAME = 253
_MAX_LABEL = 63
_ASCII_NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


class BadUrl(ValueError):
    """A URL the cluster cannot use; the message says why, in one line."""


@dataclass(frozen=True)
class HttpUrl:
    """A checked ``http(s)://`` URL, in the forms the wire needs."""

    #: The URL as given.
    url: str
    #: True for ``https``.
    tls: bool
    #: ASCII: an IDNA name (``xn--...``), an ASCII name in lower case, or an IP address without brackets.
    host: str
    #: 1-65535: the URL's own, else the scheme's.
    port: int
    #: The path and query, ASCII, at least ``/``; the fragment is left out (it never goes on the wire).
    path: str

    @property
    def host_header(self) -> str:
        """The ``Host`` header's value: an IPv6 address in brackets, the port unless it is the scheme's own."""
        return host_header(self.host, self.port, self.tls)


def host_header(host: str, port: int, secure: bool) -> str:
    """The ``Host`` header for an ASCII ``host``: IPv6 in brackets, the port unless it is the scheme's own."""
    authority = url_host(host)
    if port != DEFAULT_PORTS["https" if secure else "http"]:
        authority += f":{port}"
    return authority


def url_host(host: str) -> str:
    """``host`` as it goes in a URL's authority: an IPv6 address in brackets, anything else as it is."""
    return f"[{host}]" if ":" in host else host


def check_host(host: str) -> str:
    """``host`` itself once a URL can carry it (an IP literal, an ASCII or IDNA name); raises BadUrl."""
    parse(f"http://{url_host(host)}:1/")
    return host


def parse(url: object) -> HttpUrl:
    """The checked parts of ``url``; raises BadUrl saying what is wrong with it."""
    if not isinstance(url, str):
        raise BadUrl(f"a URL must be a string, not {type(url).__name__}")
    shown = _shown(url)
    if len(url) > MAX_URL_LENGTH:
        raise BadUrl(f"URL {shown} is longer than {MAX_URL_LENGTH:,} characters")
    if any(not char.isprintable() or char.isspace() for char in url):
        raise BadUrl(f"URL {shown} holds a control character or whitespace (percent-encode it)")
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as exc:  # "Invalid IPv6 URL": a bracket left open
        raise BadUrl(f"URL {shown} cannot be parsed: {exc}") from None
    if parts.scheme not in SCHEMES:
        raise BadUrl(f"URL {shown} is not http://host:port/path or https://host:port/path")
    if "@" in parts.netloc:
        raise BadUrl(f"URL {shown} holds a user name or password; the cluster sends its token instead")
    host, port = _authority(parts.netloc, shown)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    if not path.isascii():
        raise BadUrl(f"URL {shown}: its path must be ASCII (percent-encode the rest)")
    return HttpUrl(url, parts.scheme == "https", host, port or DEFAULT_PORTS[parts.scheme], path)


def check(url: object) -> str:
    """``url`` itself once it passes ``parse``; raises BadUrl."""
    return parse(url).url


def _authority(netloc: str, shown: str) -> tuple[str, int | None]:
    """(ASCII host, port or None) of ``host[:port]`` or ``[v6][:port]``."""
    if netloc.startswith("["):
        literal, _, rest = netloc[1:].partition("]")
        host = _ipv6(literal, shown)
    else:
        name, _, rest = netloc.partition(":")
        rest = ":" + rest if _ else ""
        host = _name(name, shown)
    if not rest or rest == ":":
        return host, None
    digits = rest[1:]
    if not rest.startswith(":") or not (digits.isascii() and digits.isdigit()) or not 1 <= int(digits) <= 65535:
        raise BadUrl(f"URL {shown} has a bad port (1-65535)")
    return host, int(digits)


def _ipv6(literal: str, shown: str) -> str:
    try:
        address = ipaddress.IPv6Address(literal)
    except ValueError:
        raise BadUrl(f"URL {shown}: [{_shown(literal)}] is not an IPv6 address") from None
    if address.scope_id:
        raise BadUrl(f"URL {shown}: an IPv6 zone ({_shown('%' + address.scope_id)}) is not supported")
    return str(address)


def _name(name: str, shown: str) -> str:
    """The ASCII form of a host name or IPv4 address."""
    if not name:
        raise BadUrl(f"URL {shown} has no host")
    try:
        return str(ipaddress.IPv4Address(name))
    except ValueError:
        pass
    labels = name.lower().removesuffix(".").split(".")
    ascii_labels = labels if name.isascii() else [_idna_label(label, shown) for label in labels]
    for label in ascii_labels:
        if not label or len(label) > _MAX_LABEL or not set(label) <= _ASCII_NAME_CHARACTERS:
            raise BadUrl(
                f"URL {shown}: {_shown(name)} is not a host name (letters, digits, '-' and '_', "
                f"dot-separated labels of 1-{_MAX_LABEL})"
            )
    ascii_name = ".".join(ascii_labels)
    if len(ascii_name) > _MAX_NAME:
        raise BadUrl(f"URL {shown}: its host is longer than {_MAX_NAME} characters")
    return ascii_name


def _idna_label(label: str, shown: str) -> str:
    """One label's IDNA form (``xn--...``), as a browser sends it.

    Only letters, digits, combining marks and hyphens are taken, as IDNA 2008
    allows: Python's codec (IDNA 2003) would also encode symbols such as
    ``€`` or ``☃``, which no registrar hands out and browsers refuse.
    """
    if label.isascii():
        return label
    if not all(char.isalnum() or char == "-" or unicodedata.category(char).startswith("M") for char in label):
        raise BadUrl(f"URL {shown}: {_shown(label)} is not a host name (only letters, digits and '-')")
    try:
        return label.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise BadUrl(f"URL {shown}: {_shown(label)} has no IDNA form ({exc})") from None


def _shown(text: str, limit: int = 80) -> str:
    """``text`` quoted for a one-line message: escaped, and cut short when long."""
    return repr(text if len(text) <= limit else text[:limit] + "...")
