"""Real-browser fixtures: Debian's chromium driven by Playwright (sync API) against `live_server`.

pytest-playwright's plugin is disabled in pyproject (`-p no:playwright`): its own
`browser`/`page` fixtures would otherwise shadow or fight these, parametrize the tests by
browser name and delete `test-results/` at the start of every session.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Every wait in these tests is an expect() with this ceiling, never a sleep.
TIMEOUT_MS = 15_000
RESULTS_DIR = Path(__file__).resolve().parents[2] / "test-results"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} not found: install Debian's chromium to run the e2e tests")
    for item in items:
        if item.get_closest_marker("e2e"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser() -> Generator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium to run the e2e tests")
    # Playwright's sync API keeps an asyncio loop running in this thread, so Django's ORM
    # (fixtures, assertions) would raise SynchronousOnlyOperation. Documented workaround;
    # set only once a browser is started, so runs without e2e tests keep Django's check.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser: Browser) -> Generator[Callable[[], Page]]:
    """Opens pages, each in a fresh context (own cookies: one signed-in user per context)."""
    contexts = []

    def make() -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[[], Page]) -> Page:
    return new_page()


@pytest.fixture
def results_dir() -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    return RESULTS_DIR
