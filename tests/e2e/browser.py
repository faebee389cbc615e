"""A real browser for the page tests: the system's Chromium (Debian's
`/usr/bin/chromium`, never a downloaded one) driven by Playwright, headless.

`watched(page, base)` records what a test must see nothing of: console
errors (a Content-Security-Policy violation is one), uncaught script errors,
failed requests, and any request to another origin than the service's.

Without Chromium the browser tests skip, saying why; under CI=true they fail
(`.ci/run` installs it when it is missing).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Request,
    Response,
    sync_playwright,
)

CHROMIUM: Final = Path("/usr/bin/chromium")
IN_CI: Final = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SCREENSHOTS_VARIABLE: Final = "FACTLEDGER_SCREENSHOTS"
"""Where the tests leave a screenshot of each page (CI keeps them as artefacts)."""


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"the browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
    if IN_CI:
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


@contextmanager
def chromium() -> Iterator[Browser]:
    require_chromium()
    # Chromium's sandbox needs an unprivileged user; as root it must be off.
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=args, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watch:
    base: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    """Requests to anywhere but the service."""

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def on_request(self, request: Request) -> None:
        url = request.url
        if not (url.startswith(self.base + "/") or url.startswith("data:")):
            self.outside.append(url)

    def on_failed(self, request: Request) -> None:
        self.failed.append(f"{request.url}: {request.failure}")

    def on_response(self, response: Response) -> None:
        if response.status >= 400:
            self.failed.append(f"{response.url}: {response.status}")

    def assert_clean(self) -> None:
        assert self.failed == [], self.failed
        assert self.console_errors == [], self.console_errors
        assert self.page_errors == [], self.page_errors
        assert self.outside == [], self.outside


def watched(page: Page, base: str) -> Watch:
    watch = Watch(base)
    page.on("console", watch.on_console)
    page.on("pageerror", lambda error: watch.page_errors.append(str(error)))
    page.on("request", watch.on_request)
    page.on("requestfailed", watch.on_failed)
    page.on("response", watch.on_response)
    return watch


def screenshot(page: Page, name: str, fallback: Path) -> Path:
    """Saves a full-page screenshot; in `FACTLEDGER_SCREENSHOTS` when set."""
    folder = Path(os.environ.get(SCREENSHOTS_VARIABLE) or fallback)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
