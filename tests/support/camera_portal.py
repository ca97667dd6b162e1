"""A stand-in for xdg-desktop-portal's Camera portal, on a private session bus, for the browser test.

Chromium reaches PipeWire cameras only through `org.freedesktop.portal.Camera`:
it asks `AccessCamera` (answered at once, as a user clicking "allow" would, by
a `Response(0)` signal on the request object the spec's path names), then
`OpenPipeWireRemote`, which hands it a socket connected to the session's
PipeWire. WirePlumber then asks the permission store whether such clients may
use cameras; this process answers that too. Run as `python -m tests.support.camera_portal` with the session's
environment; it prints `ready` once it owns the portal's bus name.
"""


import asyncio
import os
import socket
import sys

from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.service import PropertyAccess, ServiceInterface, dbus_property, method, signal

DESKTOP = "/org/freedesktop/portal/desktop"


class Request(ServiceInterface):
    def __init__(self) -> None:
        super().__init__("org.freedesktop.portal.Request")

    @method()
    def Close(self) -> None:  # noqa: N802 (D-Bus names)
        """Nothing to cancel: the answer was given at once."""


class PermissionStore(ServiceInterface):
    """WirePlumber asks it whether clients that came through the portal may use cameras: here, yes.
    (Without it, Chromium's streams stay unlinked.) Non-sandboxed apps have the app id ""."""

    def __init__(self) -> None:
        super().__init__("org.freedesktop.impl.portal.PermissionStore")

    @method()
    def Lookup(self, table: "s", ident: "s") -> "a{sas}v":  # noqa: N802
        granted = table == "devices" and ident == "camera"
        return [{"": ["yes"]} if granted else {}, Variant("b", False)]

    @signal()
    def Changed(self) -> "ssba{sas}v":  # noqa: N802
        return ["devices", "camera", False, {"": ["yes"]}, Variant("b", False)]


class Camera(ServiceInterface):
    def __init__(self, bus: MessageBus) -> None:
        super().__init__("org.freedesktop.portal.Camera")
        self.bus = bus

    @method()
    def OpenPipeWireRemote(self, options: "a{sv}") -> "h":  # noqa: N802
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(os.path.join(os.environ["XDG_RUNTIME_DIR"], "pipewire-0"))
        asyncio.get_running_loop().call_later(5.0, connection.close)  # the caller has its own copy by then
        return connection.fileno()

    @dbus_property(access=PropertyAccess.READ)
    def IsCameraPresent(self) -> "b":  # noqa: N802
        return True

    @dbus_property(access=PropertyAccess.READ)
    def version(self) -> "u":
        return 1



def access_camera(bus: MessageBus, message: Message) -> bool:
    """AccessCamera, answered here because the request's path holds the caller's name: .../request/SENDER/TOKEN,
    where Chromium waits for Response(0) (granted)."""
    if message.member != "AccessCamera" or message.interface != "org.freedesktop.portal.Camera":
        return False
    options = message.body[0] if message.body else {}
    token = options["handle_token"].value if "handle_token" in options else "bgfx"
    path = f"{DESKTOP}/request/{message.sender.lstrip(':').replace('.', '_')}/{token}"
    bus.export(path, Request())
    bus.send(Message.new_method_return(message, "o", [path]))
    granted = Message(  # sent to the caller alone, as the real portal does: Chromium adds no match rule for it
        message_type=MessageType.SIGNAL, destination=message.sender, path=path,
        interface="org.freedesktop.portal.Request", member="Response", signature="ua{sv}", body=[0, {}],
    )  # fmt: skip
    asyncio.get_running_loop().call_later(0.2, bus.send, granted)
    return True


async def serve() -> None:
    bus = await MessageBus(bus_type=BusType.SESSION, negotiate_unix_fd=True).connect()
    bus.add_message_handler(lambda message: access_camera(bus, message))
    bus.export(DESKTOP, Camera(bus))
    bus.export("/org/freedesktop/impl/portal/PermissionStore", PermissionStore())
    await bus.request_name("org.freedesktop.portal.Desktop")
    await bus.request_name("org.freedesktop.impl.portal.PermissionStore")
    print("ready", flush=True)
    await bus.wait_for_disconnect()


if __name__ == "__main__":
    sys.exit(asyncio.run(serve()))
