"""bgfx: background effects for a Linux virtual camera."""

__version__ = "0.1.0"
