"""The control page in a real browser (Debian's Chromium driven by Playwright), on a running daemon whose
output the fake camera records: what the page does must show in what the call would see."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
import pytest

from tests.support.web import start_with_page

pytestmark = pytest.mark.e2e


def said(page, text: str, *, starts: bool = False) -> None:
    """Wait until the page's message line says `text` (the daemon's answer to what the page asked)."""
    from playwright.sync_api import expect

    expect(page.locator("#message")).to_have_text(re.compile("^" + re.escape(text) + ("" if starts else "$")), timeout=30000)

CHROMIUM_ARGS = ["--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture()
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def sharpness_after(daemon, frames: int = 15) -> float:
    """Median sharpness of the next frames the sink receives (after a command took effect)."""
    daemon.wait_frames(5)
    start = len(daemon.frame_rows())
    daemon.wait_frames(frames)
    return float(np.median([row[2] for row in daemon.frame_rows()[start : start + frames]]))


def test_the_page_previews_and_steers_the_running_chain(tmp_path: Path, browser) -> None:
    daemon, config, url, token = start_with_page(tmp_path)
    try:
        page = browser.new_page()
        page.goto(f"{url}?token={token}")
        assert page.url == url  # the token went into a cookie and out of the address bar
        page.wait_for_selector("#toggle-blur")
        changes = page.evaluate("""() => new Promise(resolve => {
            let count = 0; const img = document.getElementById('preview');
            new MutationObserver(() => count++).observe(img, {attributes: true, attributeFilter: ['src']});
            setTimeout(() => img.addEventListener('load', () => resolve([count, img.naturalWidth]), {once: true}), 2000); })""")
        assert changes[0] >= 20 and 0 < changes[1] <= 640  # >= 10 pictures a second, at most 640 px wide

        blurred = sharpness_after(daemon)
        page.click("#toggle-blur")
        said(page, "blur off")
        sharp = sharpness_after(daemon)
        assert sharp > 1.5 * blurred  # blur off: the sink gets the room sharp

        page.click("#toggle-blur")
        said(page, "blur on")
        page.locator("#effects-blur-strength").evaluate("(slider) => { slider.value = 3; slider.dispatchEvent(new Event('change')); }")
        said(page, "set effects.blur.strength=3")
        light = sharpness_after(daemon)
        assert blurred < light < sharp  # a light blur: sharper than strength 60, softer than none

        page.click("#save")
        said(page, "saved", starts=True)
        saved = config.read_text()
        assert "strength: 3" in saved and "# my bgfx config: Save must keep this comment" in saved
        assert "# the soft background" in saved and "# green screen" in saved

        page.click("#pause")
        daemon.wait_for("the pause card", lambda: daemon.status()["state"] == "paused", timeout=20)
    finally:
        assert daemon.stop() == 0


def test_an_uploaded_background_can_be_chosen_and_shows_in_the_output(tmp_path: Path, browser) -> None:
    daemon, config, url, token = start_with_page(tmp_path)
    picture = tmp_path / "magenta.png"
    cv2.imwrite(str(picture), np.full((360, 640, 3), (255, 0, 255), np.uint8))
    try:
        page = browser.new_page()
        page.goto(f"{url}?token={token}")
        page.wait_for_selector("#toggle-wall")
        page.set_input_files("#file", str(picture))
        page.click("#upload button")
        page.wait_for_selector("#gallery li img")
        page.click("#gallery li button:text('Use')")
        said(page, "set effects.wall.image=", starts=True)
        page.click("#toggle-wall")
        said(page, "wall on")
        latest = Path(daemon.camera_dir) / "latest.png"
        time.sleep(1.0)
        daemon.wait_frames(10)
        corner = cv2.imread(str(latest))[5:60, 5:60].reshape(-1, 3).mean(axis=0)
        assert np.abs(corner - (255, 0, 255)).max() < 40, corner  # the room behind her is the upload now
    finally:
        assert daemon.stop() == 0
