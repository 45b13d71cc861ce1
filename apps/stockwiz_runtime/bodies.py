"""Request bodies: JSON only where JSON is expected, validated into pydantic models."""

from __future__ import annotations

from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from stockwiz_runtime.jsonio import JSON_CONTENT_TYPE, loads_untrusted
from stockwiz_runtime.problems import FieldError, ProblemError, validation_failed
from stockwiz_runtime.timeouts import read_body
from stockwiz_runtime.validation import FieldRuleError

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


CSV_CONTENT_TYPES = frozenset({"text/csv", "application/csv", "application/vnd.ms-excel", "text/plain"})


async def read_csv(request: web.Request) -> bytes:
    """An uploaded CSV file, whole (bounded by MAX_BODY_BYTES, 413 beyond): 415 unless it says it is CSV
    (browsers on Windows call a .csv file application/vnd.ms-excel)."""
    if request.content_type not in CSV_CONTENT_TYPES:
        raise ProblemError(
            415,
            f"Send the file as text/csv (got {request.content_type or 'no Content-Type'}).",
            kind="unsupported-media-type",
        )
    return await read_body(request)


def field_error(error: ErrorDetails) -> FieldError:
    """One pydantic error as the API reports it: against the field it is about, in our own words.

    A ValueError raised by one of our validators reaches pydantic as "Value error, <message>": the message
    is ours, the prefix is the library's, so the message is taken from the exception itself. A rule over
    several fields (a model validator) raises FieldRuleError naming the field it is about; anything else
    without a location is about the body as a whole."""
    raised = error.get("ctx", {}).get("error")
    field = ".".join(str(part) for part in error["loc"])
    message = error["msg"]
    if isinstance(raised, FieldRuleError):
        field = ".".join(part for part in (field, raised.field) if part)
        message = raised.message
    elif isinstance(raised, ValueError) and error["type"] == "value_error":
        message = str(raised)
    elif error["type"] == "assertion_error":
        message = message.removeprefix("Assertion failed, ")
    return FieldError(field=field or "body", message=message, type=error["type"])


def validate(model: type[ModelT], data: Any) -> ModelT:
    """`model` from decoded JSON, or a 422 problem listing every field error."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_failed([field_error(error) for error in exc.errors()]) from None


async def read_model(request: web.Request, model: type[ModelT]) -> ModelT:
    return validate(model, await read_json(request))
