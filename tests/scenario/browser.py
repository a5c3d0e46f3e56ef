"""A real headless browser for the tests: Debian's /usr/bin/chromium driven by Playwright, nothing downloaded.

Loaded as a pytest plugin by conftest.py. Fixtures:

- `launch_browser(home=None, args=())` starts a Chromium with a fresh profile and returns its
  BrowserContext. `home` becomes the browser's $HOME (a fresh empty one when not given), so a
  test can hand it an NSS database at $HOME/.pki/nssdb (a local CA to trust). Every browser it
  started is closed when the test ends.
- `browser`: one such context with a fresh home, for tests that need nothing special.

Chromium is never fetched (`playwright install` is not used): a machine without /usr/bin/chromium
skips these tests, except under CI=true, where that is a failure (CI installs it). The flags keep
the browser off the network: no background requests to Google's services, no QUIC, no proxy, and
a host resolver that answers only `localhost` and `*.localhost` (the tests talk to loopback alone).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Playwright

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",  # the tests run as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--no-proxy-server",
    # Any name but localhost and *.localhost fails to resolve: a page or Chromium itself cannot reach out.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE *.localhost",
)
TIMEOUT_MS = 15_000


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require(condition: bool, why: str) -> None:
    """Skip the test when `condition` is false, unless under CI, where a missing tool is a failure."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"{why} (CI=true: CI installs it, so this is a broken setup, not a skip)")
    pytest.skip(why)


def browser_env(home: Path) -> dict[str, str | float | bool]:
    """This process's environment with HOME (and so ~/.pki/nssdb, ~/.config, ~/.cache) under `home`."""
    env: dict[str, str | float | bool] = {key: value for key, value in os.environ.items() if not key.startswith("XDG_")}
    env["HOME"] = str(home)
    return env


@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Playwright]:
    """Playwright's driver, one per test module (its event loop lives in this thread only while in use)."""
    require(CHROMIUM.exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def launch_browser(playwright_driver: Playwright, tmp_path: Path) -> Iterator[Callable[..., BrowserContext]]:
    started: list[BrowserContext] = []

    def launch(home: Path | None = None, args: Sequence[str] = ()) -> BrowserContext:
        index = len(started)
        if home is None:
            home = tmp_path / f"browser-home-{index}"
            home.mkdir()
        context = playwright_driver.chromium.launch_persistent_context(
            tmp_path / f"browser-profile-{index}",
            executable_path=CHROMIUM,
            args=[*FLAGS, *args],
            env=browser_env(home),
            timeout=30_000,
        )
        started.append(context)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        return context

    yield launch
    for context in started:
        context.close()


@pytest.fixture
def browser(launch_browser: Callable[..., BrowserContext]) -> BrowserContext:
    return launch_browser()
