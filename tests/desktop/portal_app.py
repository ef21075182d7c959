# The sandboxed app of the portal tests: asks xdg-desktop-portal for a file (FileChooser.OpenFile)
# and prints the path it got and what it reads there, or asks it to open argv[2] (OpenURI).
import sys
from gi.repository import Gio, GLib

c = Gio.bus_get_sync(Gio.BusType.SESSION, None)
loop = GLib.MainLoop()
got = {}


def on_response(conn, sender, path, iface, signal, params):
    got["r"] = params.unpack()
    loop.quit()


def request(iface, method, arg):
    c.signal_subscribe("org.freedesktop.portal.Desktop", "org.freedesktop.portal.Request",
                       "Response", None, None, 0, on_response)
    c.call_sync("org.freedesktop.portal.Desktop", "/org/freedesktop/portal/desktop", iface,
                method, GLib.Variant("(ssa{sv})", ("", arg, {})), None, 0, 20000, None)
    GLib.timeout_add(20000, loop.quit)
    loop.run()
    return got.get("r")


if sys.argv[1] == "open":
    r = request("org.freedesktop.portal.FileChooser", "OpenFile", "Pick a file")
    print("response", r[0] if r else None)
    for uri in (r[1].get("uris", []) if r else []):
        path = Gio.File.new_for_uri(uri).get_path()
        print("path", path)
        try:
            print("content", open(path).read().strip())
        except OSError as e:
            print("unreadable", e.strerror)
else:
    r = request("org.freedesktop.portal.OpenURI", "OpenURI", sys.argv[2])
    print("response", r[0] if r else None)
