"""Write a screenshot of the control page (docs/control-page.png) for the README.

Starts `bgfx run` on the desk video with the null sink in a private runtime
folder, opens the page in headless Chromium (Debian's, driven by Playwright),
waits for the preview, and saves the picture.

Usage: .venv/bin/python scripts/page_screenshot.py [--out docs/control-page.png] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT.parent / "shared" / "testdata" / "webcam_desk_960x540.mp4"
CONFIG = """\
effects:
  - type: blur
    strength: 60
  - type: hair_tint
    enabled: false
output: {sink: "null"}
live: {web: {port: 0}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "control-page.png")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bgfx-shot-"))
    (folder / "run").mkdir(mode=0o700)
    (folder / "bgfx.yaml").write_text(CONFIG)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(folder / "run"), "XDG_DATA_HOME": str(folder / "data")}
    daemon = subprocess.Popen([sys.executable, "-m", "bgfx", "run", "--config", str(folder / "bgfx.yaml"), "--input", str(VIDEO)],
                              cwd=ROOT, env=env, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        page_file = folder / "run" / "bgfx" / "web.json"
        while not page_file.exists():
            if daemon.poll() is not None:
                sys.exit("bgfx run ended before its control page came up")
            time.sleep(0.2)
        time.sleep(0.5)
        page_info = json.loads(page_file.read_text())
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=["--disable-gpu", "--no-first-run",
                                                 "--disable-background-networking", "--disable-component-update"])  # fmt: skip
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.goto(f"{page_info['url']}?token={page_info['token']}")
            page.wait_for_selector("#toggle-blur")
            time.sleep(6)  # the preview and a few seconds of the chart
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=True)
            browser.close()
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
    print(args.out)


if __name__ == "__main__":
    main()
