"""RFC 9457 problem details: the one error shape of every StockWiz service."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aiohttp import web

from stockwiz_runtime.jsonio import dumps
from stockwiz_runtime.request_context import current_request_id

PROBLEM_CONTENT_TYPE = "application/problem+json"
_TYPE_PREFIX = "urn:stockwiz:problem:"


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str
    type: str = "invalid"

    def as_json(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "type": self.type}


class ProblemError(Exception):
    """Raised anywhere in a service to answer with a problem+json response."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        title: str | None = None,
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind
        self.title = title or HTTPStatus(status).phrase
        self.errors = list(errors)
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


def not_found(detail: str) -> ProblemError:
    return ProblemError(404, detail, kind="not-found")


def conflict(detail: str, kind: str = "conflict", **extra: Any) -> ProblemError:
    return ProblemError(409, detail, kind=kind, extra=extra)


def validation_failed(
    errors: Sequence[FieldError], detail: str = "The request is not valid."
) -> ProblemError:
    return ProblemError(422, detail, kind="validation-error", title="Validation failed", errors=errors)


def problem_body(request: web.Request, problem: ProblemError) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"{_TYPE_PREFIX}{problem.kind}" if problem.kind else "about:blank",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.path,
        "request_id": current_request_id(),
    }
    if problem.errors:
        body["errors"] = [error.as_json() for error in problem.errors]
    body.update(problem.extra)
    return body


def problem_response(request: web.Request, problem: ProblemError) -> web.Response:
    return web.Response(
        status=problem.status,
        body=dumps(problem_body(request, problem)),
        content_type=PROBLEM_CONTENT_TYPE,
        headers=problem.headers,
    )
