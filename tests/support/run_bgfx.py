"""Run the real `bgfx` command line with the fake pyvirtualcam backend registered first.

Test doubles for what cannot be made to happen on cue otherwise, switched on by environment variables:
BGFX_TEST_STALL_AFTER=N: the real segmenters deliver N results, then their callbacks stall (results dropped);
BGFX_TEST_RAISE_AFTER=N: the real effects run N times, then raise on every frame.
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

from bgfx.cli import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
