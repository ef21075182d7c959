# A stand-in for a desktop's portal backend (the dialogs a user would answer), for the portal
# tests: the FileChooser "picks" the file named by argv[2] and the AppChooser picks the first
# choice named by argv[4] (else the first). Each request is appended to argv[3] ("METHOD APP_ID") so the test can see which
# identity xdg-desktop-portal gave the caller. Owns argv[1] on the session bus. With argv[5], it
# also stands in for the document portal where FUSE cannot be mounted: it owns
# org.freedesktop.portal.Documents and answers GetMountPoint with argv[5] (nothing else).
import sys
from gi.repository import Gio, GLib

NAME, PICK, LOG, APP = sys.argv[1:5]
DOCS = sys.argv[5] if len(sys.argv) > 5 else None
XML = """
<node>
  <interface name="org.freedesktop.impl.portal.FileChooser">
    <method name="OpenFile">
      <arg type="o" direction="in"/><arg type="s" direction="in"/>
      <arg type="s" direction="in"/><arg type="s" direction="in"/>
      <arg type="a{sv}" direction="in"/>
      <arg type="u" direction="out"/><arg type="a{sv}" direction="out"/>
    </method>
  </interface>
  <interface name="org.freedesktop.impl.portal.AppChooser">
    <method name="ChooseApplication">
      <arg type="o" direction="in"/><arg type="s" direction="in"/>
      <arg type="s" direction="in"/><arg type="as" direction="in"/>
      <arg type="a{sv}" direction="in"/>
      <arg type="u" direction="out"/><arg type="a{sv}" direction="out"/>
    </method>
  </interface>
</node>
"""
DOCS_XML = """
<node>
  <interface name="org.freedesktop.portal.Documents">
    <method name="GetMountPoint"><arg type="ay" direction="out"/></method>
  </interface>
</node>
"""


def log(line):
    with open(LOG, "a") as f:
        f.write(line + "\n")


def call(conn, sender, path, iface, method, params, inv):
    args = params.unpack()
    if method != "GetMountPoint":
        log("%s %s" % (method, args[1]))
    if method == "GetMountPoint":
        inv.return_value(GLib.Variant("(ay)", (DOCS.encode() + b"\0",)))
        return
    if method == "OpenFile":
        res = {"uris": GLib.Variant("as", [Gio.File.new_for_path(PICK).get_uri()])}
    else:
        choice = APP if APP in args[3] else (args[3] or [""])[0]
        res = {"choice": GLib.Variant("s", choice)}
    inv.return_value(GLib.Variant("(ua{sv})", (0, res)))


conn = Gio.bus_get_sync(Gio.BusType.SESSION, None)
for iface in Gio.DBusNodeInfo.new_for_xml(XML).interfaces:
    conn.register_object("/org/freedesktop/portal/desktop", iface, call, None, None)
names = [NAME]
if DOCS:
    for iface in Gio.DBusNodeInfo.new_for_xml(DOCS_XML).interfaces:
        conn.register_object("/org/freedesktop/portal/documents", iface, call, None, None)
    names.append("org.freedesktop.portal.Documents")
for n in names:
    r = conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                       "RequestName", GLib.Variant("(su)", (n, 4)), None, 0, -1, None)
    assert r.unpack()[0] == 1, n
print("ready", flush=True)
GLib.MainLoop().run()
