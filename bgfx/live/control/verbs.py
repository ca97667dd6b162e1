"""The one command table, gathered from where each verb is declared: `status` beside the `Asker` that answers
it, the rest on the methods of `CommandHandler` and `Edits` that do them (`@verb`).

Hotkeys, the control socket, the page, the config's hotkey check and the generated references read this
table; `bgfx ctl --help` reads `commands.USAGE_FILE`, the table's help generated from it (`python -m bgfx.reference`,
checked by tests/test_reference.py), so that `ctl` loads none of the implementations.
"""

from __future__ import annotations

from bgfx.live.control.commands import STATUS, USAGE_FILE, Command, Verb, declared, parse_with
from bgfx.live.control.editing import Edits
from bgfx.live.control.handler import CommandHandler

TABLE: tuple[Verb, ...] = (STATUS, *declared(CommandHandler), *declared(Edits))
VERBS: dict[str, Verb] = {verb.name: verb for verb in TABLE}


def parse_command(text: str) -> Command:
    """'model hair' → Command('model', 'hair'); CommandError saying what would work."""
    return parse_with(text, VERBS)


def usage() -> str:
    """One line per verb, for help texts: `toggle EFFECT   turn one effect ...`."""
    return "\n".join(f"{verb.name + (' ' + verb.argument if verb.argument else ''):18} {verb.help}" for verb in TABLE)
