"""MediaPipe's C++ side writes straight to file descriptor 2 while a segmenter is built.

Its TFLite and absl lines ("Created TensorFlow Lite XNNPACK delegate", "Logging before InitGoogle()",
"inference_feedback_manager ... Disabling support for feedback tensors") bypass Python's logging and no
environment variable of MediaPipe 1.2 silences them. They say nothing a user can act on, so they would only
teach users to ignore the log. While a segmenter is created, fd 2 points at a temporary file instead;
afterwards the known lines go to the debug log (`--verbose` shows them) and anything else, a real error or a
line another thread logged meanwhile, is written back to fd 2 unchanged.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import threading
from types import TracebackType

log = logging.getLogger("bgfx.mediapipe")

KNOWN_NOISE = (
    "Created TensorFlow Lite XNNPACK delegate",
    "Logging before InitGoogle()",
    "inference_feedback_manager.cc",
    "All log messages before absl::InitializeLog()",
)

_redirect_lock = threading.Lock()  # one redirect at a time: segmenters may be opened on two threads


class NativeStderrToLog:
    """Context manager: fd 2 captured for its span, then known MediaPipe lines logged at debug, the rest passed on.

    If fd 2 cannot be duplicated (closed), it does nothing: quietness is never worth a failure."""

    def __init__(self) -> None:
        self._saved: int | None = None
        self._sink = None

    def __enter__(self) -> NativeStderrToLog:
        _redirect_lock.acquire()
        try:
            sys.stderr.flush()
            self._sink = tempfile.TemporaryFile()
            self._saved = os.dup(2)
            os.dup2(self._sink.fileno(), 2)
        except (OSError, ValueError):
            self._restore()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        captured = b""
        if self._saved is not None and self._sink is not None:
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.flush()
            self._restore()
            self._sink.seek(0)
            captured = self._sink.read()
        if self._sink is not None:
            self._sink.close()
        _redirect_lock.release()
        pass_on(captured)

    def _restore(self) -> None:
        if self._saved is not None:
            os.dup2(self._saved, 2)
            os.close(self._saved)
        self._saved = None


def pass_on(captured: bytes) -> None:
    """Known noise to the debug log; every other line back to fd 2 as it was written."""
    others = []
    for line in captured.splitlines(keepends=True):
        text = line.decode("utf-8", "replace").rstrip()
        if any(marker in text for marker in KNOWN_NOISE):
            log.debug("%s", text)
        else:
            others.append(line)
    if others:
        os.write(2, b"".join(others))
