"""The generated reference docs and the HTML catalogue (`make docs`), checked in a real headless Chromium
(issue 11, item 4). Chromium comes from Debian's packages (`make browser`, run by `make test`); Playwright drives
it and downloads no browser of its own. The test skips, saying why, only when that Chromium is not installed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator_helpers import GENERATED, ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_markdown_pages_for_every_model_with_examples() -> None:
    from genvr.catalog import CATALOG

    pages = sorted(p for p in (GENERATED / "docs").glob("*/*.md") if p.name != "README.md")
    assert len(pages) == len(CATALOG) == 291
    flux = (GENERATED / "docs" / "imagegen" / "flux_dev.md").read_text(encoding="utf-8")
    assert "| `output_quality` | `int` |  | 80 | ≥ 1, ≤ 100 |" in flux
    assert "genvr run imagegen/flux_dev 'prompt=a lighthouse at dawn'" in flux
    assert '"model": "imagegen/flux_dev"' in flux and "GenVR_imagegen__flux_dev" in flux


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs")
    subprocess.run([sys.executable, "-m", "generator", "docs", "--out", str(out)], check=True, cwd=ROOT, timeout=300)
    return out


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (`make browser` installs it; it could not here)")
def test_catalogue_in_a_headless_browser_lists_searches_and_shows_inputs(catalogue: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto((catalogue / "index.html").as_uri())
        rows = page.locator("tr.model")
        assert rows.count() == 291
        assert page.locator("#count").inner_text() == "291 of 291 models"
        page.locator("#search").press_sequentially("flux dev")  # filters as you type
        visible = page.locator("tr.model:visible")
        names = visible.locator("td:nth-child(2)").all_inner_texts()
        assert "imagegen/flux_dev" in names and len(names) < 291
        texts = visible.evaluate_all("rows => rows.map(r => r.dataset.search)")
        assert all("flux" in t and "dev" in t for t in texts)  # every word must match
        page.locator("#search").fill("zzz-no-such-model")
        assert page.locator("tr.model:visible").count() == 0
        page.locator("#search").fill("")
        page.locator("#search").type("flux_dev")
        page.locator("tr.model:visible a", has_text="Flux Dev").first.click()
        assert page.url.endswith("/imagegen/flux_dev.html")
        inputs = page.locator("#inputs tr.input td:first-child").all_inner_texts()
        assert inputs[:2] == ["prompt", "speed_mode"] and "output_quality" in inputs
        assert "genvr run imagegen/flux_dev" in page.locator("pre").nth(1).inner_text()
        browser.close()
