"""The JSON API, versioned under /api/v1/ (OpenAPI at /api/v1/openapi.json).

Every refusal is answered by one handler: a `Refusal` (or one of ninja's own errors, turned
into one) becomes `{code, message (English), message_ja}` with the refusal's HTTP status.
"""

import json
from typing import Any, cast

from django.db import DataError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.schema import OpenAPISchema
from ninja.parser import Parser

from madoguchi.benefits.api import representative_router
from madoguchi.desk.api import agent_router, visits_router
from madoguchi.incidents.api import incidents_router
from madoguchi.refusals import (
    BodyUnreadable,
    ByLanguage,
    CsrfFailed,
    DatabaseConflict,
    DatabaseUnavailable,
    HttpRefused,
    MalformedRequest,
    Refusal,
    Unauthenticated,
    note_refused,
)
from madoguchi.terminals.auth import challenge
from madoguchi.terminals.binding import lost_binding


class ApiDocs(Swagger):
    """/api/v1/docs: Swagger UI in a page of our own (`core/api_docs.html`): ninja's page had
    no `lang` and no main landmark."""

    template = "core/api_docs.html"


# Where BodyParser leaves why a body could not be read: ninja turns any exception of the parser
# into its own HttpError("Cannot parse request body"), which `http_error` answers with this.
_BODY_REFUSAL = "_madoguchi_body_refusal"


class BodyParser(Parser):
    """ninja's JSON parser, keeping why a body could not be read (not UTF-8, not JSON at a
    line and column, nested too deeply) for the refusal."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        try:
            return cast(dict[str, Any], json.loads(request.body))
        except UnicodeDecodeError:
            setattr(request, _BODY_REFUSAL, BodyUnreadable.of("not_text"))
            raise
        except json.JSONDecodeError as exc:
            setattr(
                request,
                _BODY_REFUSAL,
                BodyUnreadable.of("not_json", line=exc.lineno, column=exc.colno),
            )
            raise
        except RecursionError:
            setattr(request, _BODY_REFUSAL, BodyUnreadable.of("too_deep"))
            raise


# Every operation can be stopped by the database (`core.views.server_error`, Django's handler500,
# outside ninja): 503 with Retry-After and the refusal's body, the answer a client retries on.
UNAVAILABLE = {
    "description": (
        f"The database stopped this request and nothing was saved: `{DatabaseConflict.code}` "
        "(it met another request changing the same records at the same moment; Retry-After: "
        f"1) or `{DatabaseUnavailable.code}` (the database cannot be reached; Retry-After: 5). "
        "Send the same request again after Retry-After seconds."
    ),
    "headers": {
        "Retry-After": {
            "description": "Seconds to wait before sending the request again.",
            "required": True,
            "schema": {"type": "integer", "minimum": 0},
        }
    },
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
}


class Api(NinjaAPI):
    """ninja's API, whose description also documents the 503 every operation may answer."""

    def get_openapi_schema(self, **kwargs: Any) -> OpenAPISchema:
        schema = super().get_openapi_schema(**kwargs)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                operation.get("responses", {}).setdefault(503, UNAVAILABLE)
        return schema


api = Api(
    parser=BodyParser(),
    title="madoguchi API",
    docs=ApiDocs(),
    # The description and its page answer GET and HEAD; any other method is a 405 with Allow
    # and the reason (they answered every method with the document).
    docs_decorator=require_safe,
    version="1",
    urls_namespace="api-v1",
    description="Desk page and card agent API. Errors: {code, message (English), message_ja}.",
)
api.add_router("/visits", visits_router)
api.add_router("/visits/current/representative", representative_router)
api.add_router("/agent", agent_router)
api.add_router("/incidents", incidents_router)


@api.exception_handler(Refusal)
def refusal(request: HttpRequest, exc: Refusal) -> HttpResponse:
    note_refused(request, exc.code)
    response = api.create_response(request, exc.as_body(), status=exc.status)
    said = challenge(request)
    if exc.status == 401 and said is not None:
        # RFC 9110 15.5.2: a 401 carries the challenge of the operation's scheme.
        response["WWW-Authenticate"] = said
    return response


# Where ninja says a value came from, before the field's own name (`body.body.kana`).
_SOURCES = frozenset({"body", "query", "path", "header", "cookie", "form", "file"})


# Each problem's kind in Japanese (pydantic's sentences are English): a Japanese page that
# shows the refusal reads no English inside it. A kind not named here is said generally.
_KINDS_JA = {
    "missing": "ありません（必須です）",
    "not_plain": "使えない文字（文字の向きを変える制御文字などの制御文字）が含まれています",
    "not_fingerprint": "証明書のフィンガープリント（16進数64桁）ではありません",
    "string_too_long": "長すぎます",
    "string_too_short": "短すぎます",
    "string_type": "文字列ではありません",
    "int_type": "整数ではありません",
    "int_parsing": "整数ではありません",
    "bool_type": "真偽値ではありません",
    "bool_parsing": "真偽値ではありません",
    "dict_type": "JSON のオブジェクトではありません",
    "model_type": "JSON のオブジェクトではありません",
    "model_attributes_type": "JSON のオブジェクトではありません",
    "list_type": "配列ではありません",
    "literal_error": "使える値ではありません",
    "enum": "使える値ではありません",
}
# The fields a desk page sends as staff typed them, by their labels on the page.
_FIELDS_JA = {"kana": "フリガナ", "relationship": "続柄"}


def _problem(error: dict[str, Any]) -> tuple[str, str]:
    """One validation problem as a client reads it, in English and Japanese: `kana: contains
    the control character …` (pydantic's `loc` without ninja's `body.body.` and its `msg`
    without `Value error, `); a body missing as a whole is said so."""
    loc = [str(p) for p in error.get("loc") or ()]
    while loc and loc[0] in _SOURCES:
        loc.pop(0)
    kind = str(error.get("type", ""))
    if not loc and kind == "missing":
        return (
            "the body is missing: send one JSON object as the operation's schema describes it",
            "本文（JSON）がありません",
        )
    msg = str(error.get("msg", "")).removeprefix("Value error, ").rstrip(".")
    ja = _KINDS_JA.get(kind, "値が正しくありません")
    field = ".".join(loc)
    if not loc:
        return msg, ja
    return f"{field}: {msg}", f"{_FIELDS_JA.get(field, f'項目 {field}')}：{ja}"


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    said = [_problem(e) for e in exc.errors]
    problems = ByLanguage(ja="、".join(ja for _, ja in said), en="; ".join(en for en, _ in said))
    return refusal(request, MalformedRequest(params={"problems": problems}))


@api.exception_handler(AuthenticationError)
def auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    """Not signed in at a desk. A browser that is no longer its terminal is told why (another
    browser enrolled as it, a revoked credential or enrolment, a disabled terminal), as its
    desk pages tell it, not "signed out, or idle too long"."""
    lost = lost_binding(request)
    return refusal(request, lost.refusal() if lost is not None else Unauthenticated())


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 403 and "CSRF" in str(exc):
        return refusal(request, CsrfFailed())
    unreadable = getattr(request, _BODY_REFUSAL, None)
    if exc.status_code == 400 and isinstance(unreadable, BodyUnreadable):
        return refusal(request, unreadable)
    return refusal(request, HttpRefused(params={"problem": str(exc)}, status=exc.status_code))


@api.exception_handler(DataError)
def data_error(request: HttpRequest, exc: DataError) -> HttpResponse:
    """PostgreSQL refuses text with a NUL character (psycopg says so before sending it): a
    request carrying one is malformed, not a server error. The statement never ran; an open
    transaction is rolled back by its atomic block. Any other data error stays a 500."""
    if "NUL" not in str(exc):
        raise exc
    return refusal(
        request, MalformedRequest(params={"problems": "text must not contain NUL characters"})
    )
