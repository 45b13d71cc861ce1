"""HTTP conventions shared by the services: pagination headers, ETags and If-Match, path ids."""

from __future__ import annotations

from aiohttp import web
from yarl import URL

from stockwiz_runtime.problems import ProblemError, not_found
from stockwiz_runtime.validation import MAX_ID


def path_id(request: web.Request, name: str = "id", what: str = "resource") -> int:
    """The integer id in the path; routes match digits only, and an id beyond the column range is a 404."""
    value = int(request.match_info[name])
    if not 1 <= value <= MAX_ID:
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


def if_match_version(request: web.Request) -> int | None:
    """The version an If-Match header asks for; None when absent or `*` (an unconditional write)."""
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    candidates = [tag.strip() for tag in raw.split(",")]
    for tag in candidates:
        tag = tag.removeprefix("W/")
        if len(tag) >= 3 and tag.startswith('"') and tag.endswith('"') and tag[1:-1].isdigit():
            return int(tag[1:-1])
    raise ProblemError(
        412, "If-Match matches no current version of this resource.", kind="precondition-failed"
    )


def precondition_failed(current_version: int) -> ProblemError:
    return ProblemError(
        412,
        "The resource changed since you read it; read it again and retry with the new ETag.",
        kind="precondition-failed",
        headers={"ETag": etag_for(current_version)},
    )
