"""Error types a user can act on; `cli` turns each into one line and an exit status.

Exit statuses follow sysexits(3) so that systemd's `RestartPreventExitStatus=`
can tell a bad config (78) from a transient failure.
"""

from __future__ import annotations


class BgfxError(Exception):
    """Base of every error whose message is meant for the user, not a traceback."""

    exit_code: int = 1


class ConfigError(BgfxError):
    """The config file (or a value given on the command line) is invalid."""

    exit_code = 78  # EX_CONFIG


class ModelError(BgfxError):
    """A model is missing, corrupt, or cannot give what was asked of it."""

    exit_code = 69  # EX_UNAVAILABLE


class InputError(BgfxError):
    """An input image or video cannot be read."""

    exit_code = 66  # EX_NOINPUT


class CaptureError(BgfxError):
    """The camera (or the file standing in for it) cannot be opened or read."""

    exit_code = 69


class SinkError(BgfxError):
    """The output (virtual camera, file, preview) cannot be opened or written."""

    exit_code = 69


class CommandError(BgfxError):
    """A control command (hotkey, `bgfx ctl`, the page) that cannot be done; the message says what would work."""

    exit_code = 64  # EX_USAGE
