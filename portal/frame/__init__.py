"""What every page of ``portal.pages`` runs in, one module for each part.

- ``traced``: the ``@traced`` wrapper: a page's trace, its log line, its metrics, its 403, 503 and 500 pages;
- ``session``: the sign-in gate every page passes (grading checks the session with the page's first read,
  ``Sessions.call_as``, or alone, then the page's grading calls act for that user), the session cookie,
  and who is signed in;
- ``render``: a page from its template, with what every template receives;
- ``text``: figures, counts and text as pages show them;
- ``forms``: reading a posted form, its files, the query string, ids in URLs, the form's ``request_id``;
- ``csrf``: the token every form carries (the session's; on the sign-in form, a signed nonce), and its check;
- ``flash``: redirects, and the one-time message one carries to the next page;
- ``calls``: calling grading from a page (``Unavailable`` when it cannot answer), and what it answers;
- ``errors``: the pages for HTTP errors (400, 403, 404, 405, 413, 500).

Every page request runs in a new trace whose id the footer shows, for the signed-in
user. Forms carry the session's CSRF token (the sign-in form: an HMAC of the
browser's cookie nonce, signed by the portal), answer
a valid POST with 303 (post/redirect/get) to a relative ``Location`` and an
invalid one with the form, its errors and status 400, storing nothing.
"""
