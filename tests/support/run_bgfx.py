"""Run the real `bgfx` command line with the fake pyvirtualcam backend registered first.

Test doubles for what cannot be made to happen on cue otherwise, switched on by environment variables:
BGFX_TEST_STALL_AFTER=N: the real segmenters deliver N results, then their callbacks stall (results dropped);
BGFX_TEST_RAISE_AFTER=N: the real effects run N times, then raise on every frame;
BGFX_TEST_V4L2=DIR: the fake V4L2 ioctl layer (`tests.support.fake_v4l2.standard`, a C920 at /dev/video0) with its
nodes in DIR (only BGFX_TEST_V4L2_NODES, comma-separated, when set), and the camera's pictures from the video BGFX_TEST_V4L2_FRAMES (OpenCV's V4L2 backend is C code that
no fake ioctl reaches: only where the frames come from is replaced, the controls go through bgfx's own code).
"""

import os
import sys

from tests.support.fakecam import register

register()

if "BGFX_TEST_STALL_AFTER" in os.environ:
    from bgfx.vision.segmentation import Segmenter

    stall_after, delivered = int(os.environ["BGFX_TEST_STALL_AFTER"]), [0]
    real_on_result = Segmenter._on_result

    def stalling(self, *args):
        delivered[0] += 1
        if delivered[0] <= stall_after:
            real_on_result(self, *args)

    Segmenter._on_result = stalling

if "BGFX_TEST_RAISE_AFTER" in os.environ:
    from bgfx.vision.effects.replace import ReplaceRuntime

    raise_after, applied = int(os.environ["BGFX_TEST_RAISE_AFTER"]), [0]
    real_apply = ReplaceRuntime.apply

    def failing(self, *args):
        applied[0] += 1
        if applied[0] > raise_after:
            raise RuntimeError("test double: the effect fails")
        return real_apply(self, *args)

    ReplaceRuntime.apply = failing

if "BGFX_TEST_V4L2" in os.environ:
    from pathlib import Path

    from bgfx.live import capture
    from tests.support.fake_v4l2 import frames_from, standard

    standard(Path(os.environ["BGFX_TEST_V4L2"]), os.environ.get("BGFX_TEST_V4L2_NODES")).install()
    capture.cv2 = frames_from(os.environ["BGFX_TEST_V4L2_FRAMES"])

from bgfx.cli import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
