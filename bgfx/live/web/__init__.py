"""The control page: a small local web server inside the daemon (aiohttp, its own thread) and the page it serves."""
