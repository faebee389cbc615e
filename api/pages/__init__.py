"""The pages for people (SPEC §4 "Pages"): server-rendered HTML over the same
reads and the same write path as the JSON API.

`install_pages(app)` adds their routes (`api/routes/pages.py`,
`page_writes.py`, `sign_in.py`), their error pages, and `/assets/`: the
stylesheet and script of the service's own (`api/static/pages/`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from api.pages.errors import install_page_problems

__all__ = ["install_pages"]

_ASSETS: Final = Path(__file__).parent.parent / "static" / "pages"


def install_pages(app: FastAPI) -> None:
    # Imported here: the routes import this package's modules.
    from api.routes import page_writes, pages, sign_in  # noqa: PLC0415

    for module in (pages, page_writes, sign_in):
        app.include_router(module.router)
    install_page_problems(app)
    app.mount("/assets", StaticFiles(directory=str(_ASSETS)), "page-assets")
