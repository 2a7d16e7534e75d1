"""Pages and files: the overlay, the helper panel, the laptop's join page, media, QR codes.

Pages are static files: they read their key or token from the URL and draw what the
sockets send, so they hold no state worth losing. A strict Content-Security-Policy
keeps every request on this machine and forbids inline script, a second fence
behind rendering all user text with ``textContent``.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assets import ASSETS_DIR, FONTS_DIR
from chotdon.codes import normalize_code
from overlays import STATIC_DIR
from overlays.theme import css_variables

from .context import AppContext, Laptop, Viewer
from .errors import error_body
from .netinfo import lan_address, overlay_url, panel_url
from .vietqr import qr_svg, vietqr_payload

__all__ = ["CSP", "mount"]

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self' ws: wss:; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'self'"
)
_MEDIA_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}\.(png|jpg|webp)$")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"content-security-policy", CSP.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"no-referrer"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def _page(name: str) -> FileResponse:
    return FileResponse(
        STATIC_DIR / name, media_type="text/html", headers={"Cache-Control": "no-cache"}
    )


def mount(app: FastAPI, ctx: AppContext) -> None:
    app.add_middleware(SecurityHeaders)
    app.mount("/static/fonts", StaticFiles(directory=FONTS_DIR), name="fonts")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def home() -> FileResponse:
        return _page("home.html")

    @app.get("/panel", include_in_schema=False)
    def panel() -> FileResponse:
        return _page("panel.html")

    @app.get("/overlay", include_in_schema=False)
    def overlay() -> FileResponse:
        return _page("overlay.html")

    @app.get("/theme.css", include_in_schema=False)
    def theme() -> Response:
        return Response(css_variables(), media_type="text/css")

    @app.get("/placeholder.png", include_in_schema=False)
    def placeholder() -> FileResponse:
        return FileResponse(ASSETS_DIR / "placeholder.png", media_type="image/png")

    @app.get("/media/{name}", include_in_schema=False)
    def media(name: str) -> Response:
        path = ctx.images_dir / name
        if not _MEDIA_NAME.match(name) or not path.is_file():
            return JSONResponse(error_body("no such image", "name"), status_code=404)
        return FileResponse(path, headers={"Cache-Control": "max-age=86400"})

    @app.get("/media/shops/{slug}/{name}", include_in_schema=False)
    def shop_media(slug: str, name: str) -> Response:
        # Public like /media/{name}: the names carry a hash of the image's bytes.
        folder = ctx.shops.media_dir(slug) if _MEDIA_NAME.match(name) else None
        if folder is None or not (folder / name).is_file():
            return JSONResponse(error_body("no such image", "name"), status_code=404)
        return FileResponse(folder / name, headers={"Cache-Control": "max-age=86400"})

    @app.get("/api/join", include_in_schema=False)
    def join(ctx: Laptop, request: Request) -> Response:
        return JSONResponse(_join_info(ctx, request))

    @app.get("/api/qr/join.svg", include_in_schema=False)
    def join_qr(ctx: Laptop, request: Request) -> Response:
        return Response(qr_svg(_join_info(ctx, request)["panel_url"]), media_type="image/svg+xml")

    @app.get("/api/qr/payment.svg", include_in_schema=False)
    def payment_qr(ctx: Viewer, code: str) -> Response:
        settings = ctx.settings
        product = ctx.live.products.get(normalize_code(code))
        if not settings.bank_bin or not settings.bank_account or product is None:
            return JSONResponse(
                error_body("no bank account set or unknown product", "code"), status_code=404
            )
        amount = product["price_now"]
        payload = vietqr_payload(settings.bank_bin, settings.bank_account, amount, product["code"])
        return Response(
            qr_svg(payload), media_type="image/svg+xml", headers={"Cache-Control": "no-cache"}
        )


def _join_info(ctx: AppContext, request: Request) -> dict[str, Any]:
    port = request.url.port or 80
    host = lan_address()
    return {
        "panel_url": panel_url(host, port, ctx.secrets.helper_token),
        "overlay_portrait": overlay_url("127.0.0.1", port, ctx.secrets.overlay_key, "portrait"),
        "overlay_landscape": overlay_url("127.0.0.1", port, ctx.secrets.overlay_key, "landscape"),
        "lan_address": host,
        "port": port,
        "payment_qr": bool(ctx.settings.bank_bin and ctx.settings.bank_account),
    }
