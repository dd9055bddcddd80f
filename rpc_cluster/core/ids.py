"""The one rule for the ids a caller may choose: a ``request_id`` (exactly once) and a trace id (``X-Trace-Id``).

Both are 1-64 characters of ``[A-Za-z0-9._:-]``: safe in a header, a log line,
a URL and a database key without escaping, and long enough for a UUID or a
W3C trace id.
"""

from __future__ import annotations

import re

#: A request_id or a trace id, whole (use ``fullmatch``).
CALLER_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def is_caller_id(value: object) -> bool:
    """True for a str that is a valid request_id or trace id."""
    return isinstance(value, str) and CALLER_ID.fullmatch(value) is not None
