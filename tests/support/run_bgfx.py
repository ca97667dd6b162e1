"""Run the real `bgfx` command line with the fake pyvirtualcam backend registered first."""

import sys

from tests.support.fakecam import register

register()

from bgfx.cli import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
