"""The control page under test: a daemon on the desk video with the fake camera, and its page's address."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from tests.conftest import VIDEO
from tests.support.daemon import RunningDaemon

CONFIG = """\
# my bgfx config: Save must keep this comment
effects:
  - type: blur          # the soft background
    strength: 60
  - type: replace
    name: wall
    enabled: false
    colour: "#00FF00"   # green screen
live:
  web: {port: 0}        # any free port
"""


def start_with_page(tmp_path: Path) -> tuple[RunningDaemon, Path, str, str]:
    """(daemon, its config file, the page's base URL, the token)."""
    config = tmp_path / "bgfx.yaml"
    config.write_text(CONFIG)
    daemon = RunningDaemon(tmp_path, ["--config", str(config), "--input", str(VIDEO), "--backend", "fakecam"])
    page_file = Path(os.environ["XDG_RUNTIME_DIR"]) / "bgfx" / "web.json"
    daemon.wait_for("the control page", page_file.exists, timeout=60)
    time.sleep(0.2)
    page = json.loads(page_file.read_text())
    daemon.wait_frames(10)
    return daemon, config, page["url"], page["token"]
