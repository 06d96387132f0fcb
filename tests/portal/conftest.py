"""A real `roadbed up` (temp data dir, free ports) and Debian's chromium driven by Playwright.

Playwright never downloads a browser here: it launches /usr/bin/chromium (`apt-get install chromium`).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

from tests.e2e.harness import RoadbedUp

CHROMIUM = "/usr/bin/chromium"
BUILTIN = Path(__file__).resolve().parents[2] / "golden_paths"
# The README's screenshots are refreshed on purpose (`ROADBED_UPDATE_SCREENSHOTS=1 bash tests/run.sh tests/portal`);
# an ordinary run still takes every screenshot, into a scratch folder, so the working tree stays clean.
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SCREENSHOTS = DOCS_SCREENSHOTS if os.environ.get("ROADBED_UPDATE_SCREENSHOTS") else Path(tempfile.gettempdir()) / "roadbed-screenshots"


def hostile_golden_paths(root: Path) -> Path:
    """A copy of python-service whose description is markup, to prove the gallery escapes it."""
    shutil.copytree(BUILTIN / "python-service", root / "hostile")
    template = root / "hostile" / "template.yaml"
    text = template.read_text().replace("name: python-service", "name: hostile", 1).replace("title: Python service (FastAPI)", "title: Hostile copy", 1)
    template.write_text(re.sub(r"description: >-\n(    .*\n)+", "description: \"<script>alert('x')</script> owned\"\n", text, count=1))
    return root


class Portal:
    def __init__(self, up: RoadbedUp) -> None:
        self.up = up
        self.url = up.url
        with up.http() as http:
            self.admin = (up.home / "admin-token").read_text().strip()
            self.developer = self._token(http, "developer", ["payments"])
            self.viewer = self._token(http, "viewer", [])

    @staticmethod
    def _token(http: Any, role: str, teams: list[str]) -> str:
        answer = http.post("/v1/tokens", json={"role": role, "teams": teams, "description": f"{role} of the portal tests"})
        assert answer.status_code == 201, answer.text
        return answer.json()["token"]


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is missing: apt-get install chromium (tests/run.sh installs it)")
    root = tmp_path_factory.mktemp("portal")
    up = RoadbedUp(root / "home")
    up.start(ROADBED_GOLDEN_PATHS_DIRS=str(hostile_golden_paths(root / "extra")))
    try:
        yield Portal(up)
    finally:
        up.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield launched
        launched.close()


def signed_in_page(browser: Browser, portal: Portal, token: str, path: str = "/") -> Page:
    page = browser.new_context(base_url=portal.url, viewport={"width": 1280, "height": 900}).new_page()
    page.goto(path)
    assert "/login?next=" in page.url
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)
    return page


_axe = Axe()


def assert_accessible(page: Page) -> None:
    """axe-core on the page as it is: no serious or critical violation."""
    results = _axe.run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not bad, f"{page.url}: " + "; ".join(f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}" for v in bad)


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)
