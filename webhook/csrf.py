"""Cross-site request forgery on `/ack` and `/ingest`: a page on another site can make a browser
that holds the webhook's Basic credentials post a form (or a simple fetch) to it. Such a request
carries a form's Content-Type, or an Origin header that names the other site; both are refused
before the credentials are looked at (docs/security.md).

- `Origin`, when sent, must name this host (the Host header, port included): browsers send it
  with every cross-site POST, and "null" from sandboxed pages.
- A body must be `application/json`, which no form can send and no fetch can send across sites
  without a CORS preflight the webhook never grants.
"""

from urllib.parse import urlsplit

from flask import request

JSON = "application/json"


def cross_site_problem(body_required):
    """(status, reason, counter suffix) when the request may come from another site's page, or
    None. Without `body_required`, a request with no body and no Content-Type is fine."""
    origin = request.headers.get("Origin")
    if origin is not None and not _same_host(origin):
        return (403, f"Origin {origin!r} is not this site ({request.host}): cross-site requests "
                "are refused", "foreign_origin")
    has_body = bool(request.content_length) or request.headers.get("Transfer-Encoding")
    if request.mimetype != JSON and (body_required or has_body or request.content_type):
        return (415, f"send the request with Content-Type: {JSON} (got "
                f"{request.content_type or 'none'})", "not_json")
    return None


def _same_host(origin):
    try:
        netloc = urlsplit(origin).netloc
    except ValueError:
        return False
    return bool(netloc) and netloc.lower() == request.host.lower()
