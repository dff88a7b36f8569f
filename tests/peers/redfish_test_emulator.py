#!/usr/bin/python3
"""A Redfish BMC emulator for tests: the common ComputerSystem profile, nothing more.

A TEST PEER. It stands in for the Redfish service of one or more machines so the `redfish` BMC
driver can be tested against HTTP it did not write itself; the tests check it with two clients we
did not write either (python3-sushy and redfishtool).

Serves, under HTTP basic auth (or an X-Auth-Token from SessionService) on 127.0.0.1:
  /redfish                                      protocol versions (no auth)
  /redfish/v1                                   ServiceRoot (no auth)
  /redfish/v1/Systems, /redfish/v1/Systems/{id} ComputerSystem: PowerState, Boot override, Actions
  /redfish/v1/Systems/{id}/Actions/ComputerSystem.Reset   POST {"ResetType": ...}
  /redfish/v1/Managers, /redfish/v1/Managers/BMC
  /redfish/v1/SessionService, .../Sessions      POST a session, DELETE it
Every resource has @odata.id, @odata.type and a strong ETag; PATCH honours If-Match (412).
Each answer closes its connection and says so (Connection: close). Python's server closes after a
request that asked for it (sushy always does) without saying so in the answer; a client then puts the
socket back in its pool and its next request may meet the close: an intermittent "remote end closed
connection without response".
Errors (400, 401, 404, 405, 412) carry a Redfish error body.

State lives in files under --state-dir/<id>/ so a test reads the peer's real state back:
  power            On | Off
  boot-target      None | Pxe | Hdd | ...
  boot-enabled     Disabled | Once | Continuous
  last-boot        the device the last power-on booted from (pxe, hdd, none)
  log              one line per effect
A power-on boots: a Once override is used for that boot and then reset to Disabled/None. With
--on-power-on CMD (--on-power-off CMD) the command runs in the background with the system id as its
last argument whenever the power goes on (off): that is how a test node "boots".

Options: --port (0 = pick a free one; the chosen port is printed as "listening on 127.0.0.1:PORT"),
--systems N (ids 1..N, or --system-ids a,b), --user, --password-file, --state-dir, --tls-cert and
--tls-key (PEM files: serve HTTPS instead of HTTP).
"""

import argparse
import base64
import hashlib
import json
import os
import secrets
import shlex
import ssl
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RESET_TYPES = ["On", "ForceOff", "GracefulShutdown", "ForceRestart", "PowerCycle"]
BOOT_TARGETS = ["None", "Pxe", "Hdd", "Cd", "BiosSetup"]
BOOT_ENABLED = ["Disabled", "Once", "Continuous"]
MAX_BODY = 64 * 1024


class State:
    """Power and boot of each system, kept in files; one lock for all of them."""

    def __init__(self, root, ids, on_power_on, on_power_off):
        self.root = root
        self.ids = ids
        self.on_power_on = on_power_on
        self.on_power_off = on_power_off
        self.lock = threading.Lock()
        for i in ids:
            d = os.path.join(root, i)
            os.makedirs(d, exist_ok=True)
            for name, default in (("power", "Off"), ("boot-target", "None"),
                                  ("boot-enabled", "Disabled")):
                if not os.path.exists(os.path.join(d, name)):
                    self._write(i, name, default)

    def _path(self, sid, name):
        return os.path.join(self.root, sid, name)

    def _write(self, sid, name, value):
        tmp = self._path(sid, name) + ".tmp"
        with open(tmp, "w") as f:
            f.write(value + "\n")
        os.replace(tmp, self._path(sid, name))

    def read(self, sid, name):
        with open(self._path(sid, name)) as f:
            return f.read().strip()

    def log(self, sid, line):
        with open(self._path(sid, "log"), "a") as f:
            f.write(line + "\n")

    def _hook(self, cmd, sid):
        if not cmd:
            return
        out = open(self._path(sid, "hook.log"), "a")
        # In the background, in its own session: a booting node must never hold up the BMC.
        subprocess.Popen(shlex.split(cmd) + [sid], stdin=subprocess.DEVNULL, stdout=out,
                         stderr=out, start_new_session=True)
        out.close()

    def _boot(self, sid):
        enabled = self.read(sid, "boot-enabled")
        target = self.read(sid, "boot-target")
        device = target.lower() if enabled != "Disabled" else "none"
        self._write(sid, "last-boot", device)
        if enabled == "Once":
            self._write(sid, "boot-enabled", "Disabled")
            self._write(sid, "boot-target", "None")
        self.log(sid, "boot " + device)

    def reset(self, sid, reset_type):
        with self.lock:
            power = self.read(sid, "power")
            self.log(sid, "reset " + reset_type)
            if reset_type == "On":
                if power == "Off":
                    self._write(sid, "power", "On")
                    self._boot(sid)
                    self._hook(self.on_power_on, sid)
            elif reset_type in ("ForceOff", "GracefulShutdown"):
                if power == "On":
                    self._write(sid, "power", "Off")
                    self._hook(self.on_power_off, sid)
            elif reset_type in ("ForceRestart", "PowerCycle"):
                if power == "On":
                    self._hook(self.on_power_off, sid)
                self._write(sid, "power", "On")
                self._boot(sid)
                self._hook(self.on_power_on, sid)

    def set_boot(self, sid, target, enabled):
        with self.lock:
            if target is not None:
                self._write(sid, "boot-target", target)
            if enabled is not None:
                self._write(sid, "boot-enabled", enabled)
            self.log(sid, "boot-override %s %s" % (self.read(sid, "boot-target"),
                                                   self.read(sid, "boot-enabled")))


def error_body(status, message_id, message):
    return {"error": {"code": "Base.1.8." + message_id, "message": message,
                      "@Message.ExtendedInfo": [{
                          "@odata.type": "#Message.v1_1_1.Message",
                          "MessageId": "Base.1.8." + message_id, "Message": message,
                          "Severity": "Critical" if status >= 500 else "Warning",
                          "Resolution": "See the request and the resource's allowable values."}]}}


class Handler(BaseHTTPRequestHandler):
    server_version = "RedfishTestEmulator/1.0"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the test's own output stays readable
        if os.environ.get("REDFISH_TEST_EMULATOR_TRACE"):
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    def log_error(self, fmt, *args):  # protocol errors are worth a line in the log
        sys.stderr.write("error: %s\n" % (fmt % args))
        sys.stderr.flush()

    # --- plumbing ---------------------------------------------------------------------------
    def send_json(self, status, doc, extra_headers=()):
        body = json.dumps(doc, indent=1).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("OData-Version", "4.0")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for k, v in extra_headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error_body(self, status, message_id, message, extra_headers=()):
        self.send_json(status, error_body(status, message_id, message), extra_headers)

    def send_resource(self, doc):
        etag = '"%s"' % hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]
        self.send_json(200, doc, [("ETag", etag)])

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ValueError("request body too large")
        raw = self.rfile.read(n) if n else b""
        if not raw:
            return {}
        doc = json.loads(raw)
        if not isinstance(doc, dict):
            raise ValueError("the body is not a JSON object")
        return doc

    def authorized(self):
        cfg = self.server.cfg
        if cfg["password"] is None:
            return True
        token = self.headers.get("X-Auth-Token")
        if token and token in self.server.sessions.values():
            return True
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            return (secrets.compare_digest(user, cfg["user"]) and
                    secrets.compare_digest(pw, cfg["password"]))
        return False

    def path_parts(self):
        path = self.path.split("?", 1)[0].rstrip("/")
        return [p for p in path.split("/") if p]

    # --- resources --------------------------------------------------------------------------
    def system_doc(self, sid):
        st = self.server.state
        base = "/redfish/v1/Systems/" + sid
        return {
            "@odata.id": base, "@odata.type": "#ComputerSystem.v1_13_0.ComputerSystem",
            "@odata.context": "/redfish/v1/$metadata#ComputerSystem.ComputerSystem",
            "Id": sid, "Name": "Test node " + sid, "SystemType": "Physical",
            "Manufacturer": "topoplace", "Model": "redfish test emulator",
            "UUID": "00000000-0000-4000-8000-%012d" % self.server.state.ids.index(sid),
            "PowerState": st.read(sid, "power"),
            "Status": {"State": "Enabled", "Health": "OK"},
            "Boot": {
                "BootSourceOverrideTarget": st.read(sid, "boot-target"),
                "BootSourceOverrideTarget@Redfish.AllowableValues": BOOT_TARGETS,
                "BootSourceOverrideEnabled": st.read(sid, "boot-enabled"),
                "BootSourceOverrideEnabled@Redfish.AllowableValues": BOOT_ENABLED,
                "BootSourceOverrideMode": "UEFI",
            },
            "Actions": {"#ComputerSystem.Reset": {
                "target": base + "/Actions/ComputerSystem.Reset",
                "ResetType@Redfish.AllowableValues": RESET_TYPES}},
            "Links": {"ManagedBy": [{"@odata.id": "/redfish/v1/Managers/BMC"}]},
        }

    def resource(self, parts):
        """The document at a GET path, or None."""
        ids = self.server.state.ids
        if parts == ["redfish"]:
            return {"v1": "/redfish/v1/"}
        if parts == ["redfish", "v1"]:
            return {
                "@odata.id": "/redfish/v1", "@odata.type": "#ServiceRoot.v1_5_0.ServiceRoot",
                "Id": "RootService", "Name": "Redfish test emulator", "RedfishVersion": "1.6.0",
                "UUID": "00000000-0000-4000-8000-00000000feed",
                "Systems": {"@odata.id": "/redfish/v1/Systems"},
                "Managers": {"@odata.id": "/redfish/v1/Managers"},
                "SessionService": {"@odata.id": "/redfish/v1/SessionService"},
                "Links": {"Sessions": {"@odata.id": "/redfish/v1/SessionService/Sessions"}},
            }
        if parts == ["redfish", "v1", "Systems"]:
            return {"@odata.id": "/redfish/v1/Systems",
                    "@odata.type": "#ComputerSystemCollection.ComputerSystemCollection",
                    "Name": "Computer System Collection", "Members@odata.count": len(ids),
                    "Members": [{"@odata.id": "/redfish/v1/Systems/" + i} for i in ids]}
        if len(parts) == 4 and parts[:3] == ["redfish", "v1", "Systems"] and parts[3] in ids:
            return self.system_doc(parts[3])
        if parts == ["redfish", "v1", "Managers"]:
            return {"@odata.id": "/redfish/v1/Managers",
                    "@odata.type": "#ManagerCollection.ManagerCollection",
                    "Name": "Manager Collection", "Members@odata.count": 1,
                    "Members": [{"@odata.id": "/redfish/v1/Managers/BMC"}]}
        if parts == ["redfish", "v1", "Managers", "BMC"]:
            return {"@odata.id": "/redfish/v1/Managers/BMC", "@odata.type": "#Manager.v1_10_0.Manager",
                    "Id": "BMC", "Name": "Test BMC", "ManagerType": "BMC",
                    "FirmwareVersion": "1.0", "PowerState": "On",
                    "Status": {"State": "Enabled", "Health": "OK"},
                    "Links": {"ManagerForServers": [{"@odata.id": "/redfish/v1/Systems/" + i}
                                                    for i in ids]}}
        if parts == ["redfish", "v1", "SessionService"]:
            return {"@odata.id": "/redfish/v1/SessionService",
                    "@odata.type": "#SessionService.v1_1_8.SessionService",
                    "Id": "SessionService", "Name": "Session Service", "ServiceEnabled": True,
                    "SessionTimeout": 600,
                    "Sessions": {"@odata.id": "/redfish/v1/SessionService/Sessions"}}
        if parts == ["redfish", "v1", "SessionService", "Sessions"]:
            sessions = sorted(self.server.sessions)
            return {"@odata.id": "/redfish/v1/SessionService/Sessions",
                    "@odata.type": "#SessionCollection.SessionCollection",
                    "Name": "Session Collection", "Members@odata.count": len(sessions),
                    "Members": [{"@odata.id": "/redfish/v1/SessionService/Sessions/" + s}
                                for s in sessions]}
        if (len(parts) == 5 and parts[:4] == ["redfish", "v1", "SessionService", "Sessions"]
                and parts[4] in self.server.sessions):
            return {"@odata.id": "/redfish/v1/SessionService/Sessions/" + parts[4],
                    "@odata.type": "#Session.v1_0_0.Session", "Id": parts[4],
                    "Name": "User Session", "UserName": self.server.cfg["user"]}
        return None

    def public(self, parts):
        return parts in (["redfish"], ["redfish", "v1"])

    # --- methods ----------------------------------------------------------------------------
    def do_GET(self):
        parts = self.path_parts()
        if not self.public(parts) and not self.authorized():
            return self.unauthorized()
        doc = self.resource(parts)
        if doc is None:
            return self.not_found()
        return self.send_resource(doc)

    do_HEAD = do_GET

    def do_POST(self):
        parts = self.path_parts()
        if parts == ["redfish", "v1", "SessionService", "Sessions"]:
            return self.create_session()
        if not self.authorized():
            return self.unauthorized()
        try:
            body = self.read_body()
        except ValueError as e:
            return self.send_error_body(400, "MalformedJSON", "The request body is not valid: %s." % e)
        ids = self.server.state.ids
        if (len(parts) == 6 and parts[:3] == ["redfish", "v1", "Systems"] and parts[3] in ids
                and parts[4] == "Actions" and parts[5] == "ComputerSystem.Reset"):
            rt = body.get("ResetType")
            if rt is None:
                return self.send_error_body(400, "ActionParameterMissing",
                                            "The action ComputerSystem.Reset requires the "
                                            "parameter ResetType.")
            if rt not in RESET_TYPES:
                return self.send_error_body(400, "ActionParameterValueNotInList",
                                            "The value %s for the parameter ResetType is not "
                                            "in the list of acceptable values." % json.dumps(rt))
            self.server.state.reset(parts[3], rt)
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.send_header("OData-Version", "4.0")
            return self.end_headers()
        return self.not_allowed_or_missing(parts)

    def do_PATCH(self):
        parts = self.path_parts()
        if not self.authorized():
            return self.unauthorized()
        ids = self.server.state.ids
        if not (len(parts) == 4 and parts[:3] == ["redfish", "v1", "Systems"] and parts[3] in ids):
            return self.not_allowed_or_missing(parts)
        sid = parts[3]
        try:
            body = self.read_body()
        except ValueError as e:
            return self.send_error_body(400, "MalformedJSON", "The request body is not valid: %s." % e)
        if_match = self.headers.get("If-Match")
        if if_match and if_match != "*":
            doc = self.system_doc(sid)
            etag = '"%s"' % hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]
            if etag not in [t.strip() for t in if_match.split(",")]:
                return self.send_error_body(412, "PreconditionFailed",
                                            "The ETag supplied did not match the ETag required "
                                            "to change this resource.")
        unknown = [k for k in body if k != "Boot"]
        if unknown:
            return self.send_error_body(400, "PropertyNotWritable",
                                        "The property %s is a read only property and cannot be "
                                        "assigned a value." % unknown[0])
        boot = body.get("Boot", {})
        if not isinstance(boot, dict):
            return self.send_error_body(400, "PropertyValueTypeError",
                                        "The value for the property Boot is of a different type "
                                        "than the property can accept.")
        target = boot.get("BootSourceOverrideTarget")
        enabled = boot.get("BootSourceOverrideEnabled")
        for name, value, allowed in (("BootSourceOverrideTarget", target, BOOT_TARGETS),
                                     ("BootSourceOverrideEnabled", enabled, BOOT_ENABLED)):
            if value is not None and value not in allowed:
                return self.send_error_body(400, "PropertyValueNotInList",
                                            "The value %s for the property %s is not in the list "
                                            "of acceptable values." % (json.dumps(value), name))
        for k in boot:
            if k not in ("BootSourceOverrideTarget", "BootSourceOverrideEnabled",
                         "BootSourceOverrideMode"):
                return self.send_error_body(400, "PropertyUnknown",
                                            "The property %s is not in the list of valid "
                                            "properties for the resource." % k)
        self.server.state.set_boot(sid, target, enabled)
        return self.send_resource(self.system_doc(sid))

    def do_DELETE(self):
        parts = self.path_parts()
        if not self.authorized():
            return self.unauthorized()
        if (len(parts) == 5 and parts[:4] == ["redfish", "v1", "SessionService", "Sessions"]
                and parts[4] in self.server.sessions):
            del self.server.sessions[parts[4]]
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            return self.end_headers()
        return self.not_allowed_or_missing(parts)

    def do_PUT(self):
        parts = self.path_parts()
        if not self.authorized():
            return self.unauthorized()
        return self.not_allowed_or_missing(parts)

    # --- answers ----------------------------------------------------------------------------
    def path_only(self):
        return json.dumps(self.path.split("?", 1)[0])[1:-1]

    def not_found(self):
        self.send_error_body(404, "ResourceMissingAtURI",
                             "The resource at the URI %s was not found." % self.path_only())

    def not_allowed_or_missing(self, parts):
        return self.not_allowed() if self.resource(parts) is not None else self.not_found()

    def unauthorized(self):
        self.send_error_body(401, "NoValidSession",
                             "There is no valid session established with the implementation.",
                             [("WWW-Authenticate", 'Basic realm="redfish"')])

    def not_allowed(self):
        self.send_error_body(405, "OperationNotAllowed",
                             "The HTTP method %s is not allowed on %s." % (self.command,
                                                                          self.path_only()),
                             [("Allow", "GET, HEAD")])

    def create_session(self):
        try:
            body = self.read_body()
        except ValueError as e:
            return self.send_error_body(400, "MalformedJSON", "The request body is not valid: %s." % e)
        cfg = self.server.cfg
        user, pw = body.get("UserName"), body.get("Password")
        if not isinstance(user, str) or not isinstance(pw, str):
            return self.send_error_body(400, "PropertyMissing",
                                        "The property UserName or Password is missing.")
        if cfg["password"] is not None and not (secrets.compare_digest(user, cfg["user"]) and
                                                secrets.compare_digest(pw, cfg["password"])):
            return self.unauthorized()
        sid = secrets.token_hex(8)
        token = secrets.token_hex(16)
        self.server.sessions[sid] = token
        loc = "/redfish/v1/SessionService/Sessions/" + sid
        doc = {"@odata.id": loc, "@odata.type": "#Session.v1_0_0.Session", "Id": sid,
               "Name": "User Session", "UserName": user}
        self.send_json(201, doc, [("X-Auth-Token", token), ("Location", loc)])


def main():
    ap = argparse.ArgumentParser(description="Redfish BMC emulator (a test peer)")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--systems", type=int, default=1)
    ap.add_argument("--system-ids", default="")
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password-file", default="")
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--on-power-on", default="")
    ap.add_argument("--on-power-off", default="")
    ap.add_argument("--tls-cert", default="")
    ap.add_argument("--tls-key", default="")
    args = ap.parse_args()

    ids = [i for i in args.system_ids.split(",") if i] or [str(n + 1) for n in range(args.systems)]
    password = None
    if args.password_file:
        with open(args.password_file) as f:
            password = f.readline().rstrip("\r\n")
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.cfg = {"user": args.user, "password": password}
    server.sessions = {}
    server.state = State(args.state_dir, ids, args.on_power_on, args.on_power_off)
    scheme = "http"
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key or None)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    print("listening on 127.0.0.1:%d (%s)" % (server.server_address[1], scheme), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
