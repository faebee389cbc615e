"""`/docs`: Swagger UI, every asset served by the service itself (no CDN: it
works offline, and its Content-Security-Policy allows only the service's
own scripts and styles)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

__all__ = ["install_docs"]

_OWN_ASSETS: Final = Path(__file__).parent.parent / "static"

_PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Factledger: the HTTP API</title>
<link rel="stylesheet" href="/docs/swagger-ui/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/swagger-ui/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-ui/swagger-ui-standalone-preset.js"></script>
<script src="/docs/own/docs.js"></script>
</body>
</html>
"""

router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
async def api_documentation() -> HTMLResponse:
    return HTMLResponse(_PAGE)


def install_docs(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/docs/swagger-ui", StaticFiles(directory=str(swagger_ui_path)), "swagger-ui")
    app.mount("/docs/own", StaticFiles(directory=str(_OWN_ASSETS)), "own-assets")
