"""HTTP conventions shared by the services: pagination headers, ETags and If-Match, path ids."""

from __future__ import annotations

import re

from aiohttp import web
from yarl import URL

from stockwiz_runtime.problems import ProblemError, not_found
from stockwiz_runtime.validation import MAX_ID, MAX_VERSION

# What a path id is: ASCII digits. Routes use it rather than \d, which in Python also matches other
# scripts' digits (`/products/%D9%A1` is an Arabic-Indic one, which int() would read as 1).
ID_SEGMENT = "[0-9]+"


def path_id(request: web.Request, name: str = "id", what: str = "resource") -> int:
    """The integer id in the path. An id beyond the column range names nothing: a 404, decided on its digits
    before int() sees them (Python refuses to convert more than 4,300 digits)."""
    raw = request.match_info[name]
    digits = raw.lstrip("0")
    if not raw.isascii() or not raw.isdigit() or len(digits) > len(str(MAX_ID)) or not digits:
        raise not_found(f"{what} {raw[:40]}{'...' if len(raw) > 40 else ''} does not exist")
    value = int(digits)
    if value > MAX_ID:
        raise not_found(f"{what} {value} does not exist")
    return value


def page_headers(request: web.Request, *, total: int, limit: int, offset: int) -> dict[str, str]:
    """X-Total-Count, and a Link to the next page while there is one. The link is relative (query only) so
    it stays right behind the gateway, which serves the same resource under another path prefix."""
    headers = {"X-Total-Count": str(total)}
    if offset + limit < total:
        query = dict(request.query)
        query.update(limit=str(limit), offset=str(offset + limit))
        headers["Link"] = f'<{URL.build(query=query)}>; rel="next"'
    return headers


def etag_for(version: int) -> str:
    return f'"{version}"'


# One element of an entity-tag list (RFC 9110 section 8.8.3): an optional W/, then a quoted opaque tag
# (which may hold commas), then a comma or the end; list elements may be empty ("a, , b").
_ENTITY_TAG = re.compile(r'[ \t]*(?:(W/)?"([\x21\x23-\x7e\x80-\xff]*)")?[ \t]*(?:,|$)')


def if_match_versions(request: web.Request) -> frozenset[int] | None:
    """The versions an If-Match header accepts (RFC 9110 section 13.1.1); None when it is absent or `*` (an
    unconditional write). The write may go ahead when the current version is one of them: a list matches
    when any of its tags does, and If-Match compares strongly, so a weak tag (W/"1") matches nothing.
    An empty set (only weak or foreign tags, or a header that is not an entity-tag list) always fails."""
    headers = request.headers.getall("If-Match", [])
    if not headers:
        return None
    raw = ", ".join(headers)
    if raw.strip() == "*":
        return None
    versions: set[int] = set()
    position = 0
    while position < len(raw):
        element = _ENTITY_TAG.match(raw, position)
        if element is None or element.end() == position:
            return frozenset()  # not an entity-tag list: nothing it names can be current
        weak, tag = element.groups()
        position = element.end()
        # Only our own tags can match: ASCII digits within the version column's range.
        if tag is not None and weak is None and tag.isascii() and tag.isdigit() and len(tag) <= 10:
            version = int(tag)
            if version <= MAX_VERSION:
                versions.add(version)
    return frozenset(versions)


def precondition_failed(current_version: int) -> ProblemError:
    return ProblemError(
        412,
        "The resource changed since you read it; read it again and retry with the new ETag.",
        kind="precondition-failed",
        headers={"ETag": etag_for(current_version)},
    )
