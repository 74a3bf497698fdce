"""A real headless browser for the console's tests: Debian's chromium driven by Playwright.

The browser is the system's (``/usr/bin/chromium``, installed by ``make test`` on first use);
Playwright never downloads one. Every request the page makes to anywhere but the harness is
refused and recorded, so a test fails if the console or Swagger UI reaches for the network.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium on first use")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Page:
    """A page of the browser, the requests it tried to send elsewhere, its script errors and the
    files it asked for that were missing."""

    def __init__(self, browser: Any, base_url: str) -> None:
        self.base_url = base_url
        self.context = browser.new_context(viewport={"width": 1400, "height": 950})
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        #: the page's own files (scripts, styles, map, icons) that were not there
        self.missing: list[str] = []
        self.page.on("response", self._response)

    def _response(self, response: Any) -> None:
        if response.status == 404 and response.request.resource_type != "fetch":
            self.missing.append(response.url)

    def _route(self, route: Any) -> None:
        if route.request.url.startswith(self.base_url):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def close(self) -> None:
        self.context.close()
