"""The JSON API, versioned under /api/v1/ (OpenAPI at /api/v1/openapi.json)."""

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from madoguchi.desk.api import agent_router, visits_router
from madoguchi.incidents.api import incidents_router

api = NinjaAPI(
    title="madoguchi API",
    version="1",
    urls_namespace="api-v1",
    description="Desk page and card agent API. Errors: {code, message (English), message_ja}.",
)
api.add_router("/visits", visits_router)
api.add_router("/agent", agent_router)
api.add_router("/incidents", incidents_router)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return api.create_response(
        request,
        {
            "code": "malformed_request",
            "message": "The request body is not valid: "
            + "; ".join(
                f"{'.'.join(str(p) for p in e.get('loc', []))}: {e.get('msg')}" for e in exc.errors
            ),
            "message_ja": "リクエストの形式が正しくありません。",
        },
        status=422,
    )


@api.exception_handler(AuthenticationError)
def auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request,
        {
            "code": "unauthenticated",
            "message": "Sign in on a registered terminal (or present a valid terminal credential).",
            "message_ja": "登録された端末でサインインしてください。",
        },
        status=401,
    )


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 403 and "CSRF" in str(exc):
        body = {
            "code": "csrf_failed",
            "message": "CSRF check failed: send the csrftoken cookie's value in X-CSRFToken "
            "from the same origin.",
            "message_ja": "画面を再読み込みしてから、もう一度操作してください。",
        }
    else:
        body = {"code": "http_error", "message": str(exc), "message_ja": "操作できませんでした。"}
    return api.create_response(request, body, status=exc.status_code)
