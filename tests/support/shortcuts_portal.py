"""A stand-in for xdg-desktop-portal's GlobalShortcuts portal, on a private session bus, for the shortcut tests.

It answers CreateSession, BindShortcuts and ListShortcuts as the real portal
does: the call returns the Request path the spec names (.../request/SENDER/TOKEN
from the caller's handle_token), and the answer follows as that object's
Response signal. The user "binds" each shortcut to its preferred trigger.
Run as `python -m tests.support.shortcuts_portal RECORD.jsonl`; it appends one
JSON object a line to RECORD ({"event": "ready"}, {"event": "bound", "shortcuts":
[...]}, {"event": "session-closed"}) and reads commands on stdin:
`activate ID` emits Activated for ID on the last session, `close` emits the
session's Closed signal, `quit` leaves the bus (the portal's loss).
"""

import asyncio
import json
import sys
import time

from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.service import PropertyAccess, ServiceInterface, dbus_property, method

DESKTOP = "/org/freedesktop/portal/desktop"
INTERFACE = "org.freedesktop.portal.GlobalShortcuts"


class GlobalShortcutsProperties(ServiceInterface):
    """The version property; the methods are answered by `Portal.handle`, which needs the caller's name."""

    def __init__(self) -> None:
        super().__init__(INTERFACE)

    @dbus_property(access=PropertyAccess.READ)
    def version(self) -> "u":
        return 1


class Session(ServiceInterface):
    def __init__(self, portal: "Portal") -> None:
        super().__init__("org.freedesktop.portal.Session")
        self.portal = portal

    @method()
    def Close(self) -> None:  # noqa: N802 (D-Bus names)
        self.portal.record({"event": "session-closed"})


class Request(ServiceInterface):
    def __init__(self) -> None:
        super().__init__("org.freedesktop.portal.Request")

    @method()
    def Close(self) -> None:  # noqa: N802
        """Nothing to cancel: the answer is given at once."""


class Portal:
    def __init__(self, bus: MessageBus, record_path: str) -> None:
        self.bus = bus
        self.record_path = record_path
        self.session = ""
        self.shortcuts: list = []

    def record(self, entry: dict) -> None:
        with open(self.record_path, "a") as record:
            record.write(json.dumps(entry) + "\n")

    def handle(self, message: Message) -> bool:
        if message.interface != INTERFACE or message.member not in ("CreateSession", "BindShortcuts", "ListShortcuts"):
            return False
        options = message.body[-1]
        sender = message.sender.lstrip(":").replace(".", "_")
        token = options["handle_token"].value if "handle_token" in options else "t"
        path = f"{DESKTOP}/request/{sender}/{token}"
        self.bus.export(path, Request())
        self.bus.send(Message.new_method_return(message, "o", [path]))
        results = getattr(self, message.member.lower())(message, sender, options)
        answer = Message(
            message_type=MessageType.SIGNAL, destination=message.sender, path=path,
            interface="org.freedesktop.portal.Request", member="Response", signature="ua{sv}", body=[0, results],
        )  # fmt: skip
        asyncio.get_running_loop().call_later(0.1, self.bus.send, answer)
        return True

    def createsession(self, message: Message, sender: str, options: dict) -> dict:
        self.session = f"{DESKTOP}/session/{sender}/{options['session_handle_token'].value}"
        self.bus.export(self.session, Session(self))
        return {"session_handle": Variant("s", self.session)}

    def bindshortcuts(self, message: Message, sender: str, options: dict) -> dict:
        session, offered = message.body[0], message.body[1]
        self.shortcuts = [[ident, {key: value.value for key, value in props.items()}] for ident, props in offered]
        self.record({"event": "bound", "session": session, "shortcuts": self.shortcuts})
        return self.listshortcuts(message, sender, options)

    def listshortcuts(self, message: Message, sender: str, options: dict) -> dict:
        bound = [[ident, {"description": Variant("s", props.get("description", "")),
                          "trigger_description": Variant("s", props.get("preferred_trigger", ""))}]
                 for ident, props in self.shortcuts]
        return {"shortcuts": Variant("a(sa{sv})", bound)}

    def signal(self, path: str, interface: str, member: str, signature: str, body: list) -> None:
        self.bus.send(Message(message_type=MessageType.SIGNAL, path=path, interface=interface, member=member,
                              signature=signature, body=body))


async def obey(portal: Portal) -> None:
    """The test's commands on stdin, one a line."""
    loop = asyncio.get_running_loop()
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).split()
        if not line or line[0] == "quit":
            portal.bus.disconnect()
            return
        if line[0] == "activate":
            portal.signal(DESKTOP, INTERFACE, "Activated", "osta{sv}",
                          [portal.session, " ".join(line[1:]), int(time.time() * 1000), {}])
        elif line[0] == "close":
            portal.signal(portal.session, "org.freedesktop.portal.Session", "Closed", "a{sv}", [{}])


async def serve(record_path: str) -> None:
    bus = await MessageBus(bus_type=BusType.SESSION).connect()
    portal = Portal(bus, record_path)
    bus.add_message_handler(portal.handle)
    bus.export(DESKTOP, GlobalShortcutsProperties())
    await bus.request_name("org.freedesktop.portal.Desktop")
    portal.record({"event": "ready"})
    await asyncio.gather(obey(portal), bus.wait_for_disconnect())


if __name__ == "__main__":
    sys.exit(asyncio.run(serve(sys.argv[1])))
