"""Where files shipped with bgfx live: inside the wheel, or at the top of a source checkout.

A wheel carries `models/models.yaml`, `config/default.yaml` and the systemd unit
under `bgfx/shipped/` (see pyproject's force-include); an editable install or a
plain checkout reads them from the repository's own folders.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_IN_CHECKOUT = {
    "models.yaml": _PACKAGE.parent / "models" / "models.yaml",
    "default.yaml": _PACKAGE.parent / "config" / "default.yaml",
    "bgfx.service": _PACKAGE.parent / "systemd" / "bgfx.service",
}


def shipped_file(name: str) -> Path:
    """Path of a shipped file by its base name (`models.yaml`, `default.yaml`, `bgfx.service`)."""
    installed = _PACKAGE / "shipped" / name
    if installed.is_file():
        return installed
    return _IN_CHECKOUT[name]
