"""Request bodies: JSON only where JSON is expected, validated into pydantic models."""

from __future__ import annotations

from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from stockwiz_runtime.jsonio import JSON_CONTENT_TYPE, loads_untrusted
from stockwiz_runtime.problems import FieldError, ProblemError, validation_failed
from stockwiz_runtime.timeouts import read_body

ModelT = TypeVar("ModelT", bound=BaseModel)


async def read_json(request: web.Request) -> Any:
    """The request body as JSON: 415 unless it says JSON, 400 when it is not JSON."""
    content_type = request.content_type
    if content_type != JSON_CONTENT_TYPE and not content_type.endswith("+json"):
        raise ProblemError(
            415,
            f"Send the body as {JSON_CONTENT_TYPE} (got {content_type or 'no Content-Type'}).",
            kind="unsupported-media-type",
        )
    raw = await read_body(request)
    try:
        return loads_untrusted(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProblemError(400, f"The body is not valid JSON: {exc}", kind="malformed-json") from None


def validate(model: type[ModelT], data: Any) -> ModelT:
    """`model` from decoded JSON, or a 422 problem listing every field error."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            FieldError(
                field=".".join(str(part) for part in error["loc"]) or "body",
                message=error["msg"],
                type=error["type"],
            )
            for error in exc.errors()
        ]
        raise validation_failed(errors) from None


async def read_model(request: web.Request, model: type[ModelT]) -> ModelT:
    return validate(model, await read_json(request))
