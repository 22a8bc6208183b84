"""The FastAPI application of the public API: its routes, its error shape
(`{"error": {"code", "message", "field"?}}`), the RateLimit headers on every answer, and the
documents: OpenAPI at /api/v1/openapi.json (with its page at /api/v1/docs) and the market-data
feed's AsyncAPI at /api/v1/asyncapi.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sneakers_app.public_api import market, me, schemas
from sneakers_app.public_api.access import ApiError, rate_headers

ROOT = Path(__file__).resolve().parents[2]
ASYNCAPI = ROOT / "docs" / "asyncapi.yaml"
SWAGGER_UI = ROOT / ".tools" / "node_modules" / "swagger-ui-dist"
"""Swagger UI's files, installed by scripts/bootstrap.sh (without them: its CDN)."""

app = FastAPI(
    title="Sneakers Marketplace API",
    version="1.0.0",
    summary="The market of every size: catalog, books, tape and history, and trading.",
    description=(
        "Public market data needs no key. Your own bids, asks and orders need an API key made "
        "on your account page, sent as `Authorization: Bearer snk_…`; a `read` key reads them, "
        "a `trade` key also places, reprices and cancels bids and asks and marks sales "
        'shipped. Money is integer cents. Errors are `{"error": {"code", "message"}}`. '
        "Every answer carries `RateLimit-*` headers; over a limit the answer is 429 with "
        "`Retry-After`. The live book feed (WebSocket) is described in "
        "[its AsyncAPI document](asyncapi.yaml)."
    ),
    openapi_url="/openapi.json",
    docs_url=None,
    redoc_url=None,
    responses={
        400: {"model": schemas.ErrorResponse, "description": "A malformed request."},
        401: {"model": schemas.ErrorResponse, "description": "A key is needed, or not valid."},
        404: {"model": schemas.ErrorResponse, "description": "Not found (or not yours)."},
        422: {"model": schemas.ErrorResponse, "description": "Not valid, or refused."},
        429: {"model": schemas.ErrorResponse, "description": "Over a limit: see Retry-After."},
    },
)
app.include_router(market.router)
app.include_router(me.router)

MAX_BODY_BYTES = 64 * 1024
"""The largest request body taken (a batch of 100 asks is about 10 KB)."""


class BodyLimit:
    """Refuses a body over MAX_BODY_BYTES (413) without reading past it: by its
    Content-Length at once, else as it streams in (then the body, at most that big, is handed
    on whole)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > MAX_BODY_BYTES:
                await JSONResponse(_too_large_body(), status_code=413)(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if len(body) > MAX_BODY_BYTES:
                await JSONResponse(_too_large_body(), status_code=413)(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def _too_large_body() -> dict[str, Any]:
    message = f"A request body may be at most {MAX_BODY_BYTES // 1024} KB."
    return {"error": {"code": "body_too_large", "message": message}}


app.add_middleware(BodyLimit)


def _json(status: int, code: str, message: str, **more: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **more}}


@app.exception_handler(ApiError)
async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    body = _json(exc.status, exc.code, exc.message, **({"field": exc.field} if exc.field else {}))
    return JSONResponse(body, status_code=exc.status, headers=exc.headers)


@app.exception_handler(RequestValidationError)
async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {}
    where = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header")]
    message = str(first.get("msg", "The request is not valid."))
    field = ".".join(where) or None
    text = f"{field}: {message}" if field else message
    return JSONResponse(
        _json(422, "invalid_request", text, **({"field": field} if field else {})),
        status_code=422,
    )


@app.exception_handler(StarletteHTTPException)
async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    message = {404: "There is no such endpoint.", 405: "That method is not allowed here."}.get(
        exc.status_code, str(exc.detail)
    )
    return JSONResponse(
        _json(exc.status_code, code, message),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


@app.middleware("http")
async def _rate_limit_headers(request: Request, call_next: Any) -> Response:
    response: Response = await call_next(request)
    for name, value in rate_headers(getattr(request.state, "rate_window", None)).items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


if SWAGGER_UI.is_dir():
    app.mount("/docs-assets", StaticFiles(directory=SWAGGER_UI), name="docs-assets")


@app.get("/docs", include_in_schema=False)
async def docs(request: Request) -> HTMLResponse:
    """The API's documentation page: Swagger UI over the OpenAPI document, with "Try it out"."""
    root = request.scope.get("root_path", "")
    parameters = {"defaultModelsExpandDepth": 0, "tryItOutEnabled": False}
    if not SWAGGER_UI.is_dir():
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title="Sneakers Marketplace API",
            swagger_ui_parameters=parameters,
        )
    assets = f"{root}/docs-assets"
    return get_swagger_ui_html(
        openapi_url=f"{root}{app.openapi_url}",
        title="Sneakers Marketplace API",
        swagger_js_url=f"{assets}/swagger-ui-bundle.js",
        swagger_css_url=f"{assets}/swagger-ui.css",
        swagger_favicon_url=f"{assets}/favicon-32x32.png",
        swagger_ui_parameters=parameters,
    )


@app.get("/asyncapi.yaml", include_in_schema=False)
async def asyncapi() -> Response:
    """The market-data feed's AsyncAPI document."""
    if not ASYNCAPI.exists():
        return JSONResponse(_json(404, "not_found", "No feed document."), status_code=404)
    return Response(ASYNCAPI.read_bytes(), media_type="application/yaml")
