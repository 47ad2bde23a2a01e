"""Helpers shared by the chaos suite's programs (audit, cell.py): the stack's env file, a little
BSON and OP_MSG to read and write MongoDB without a driver (mongod and FerretDB alike), psql,
the RabbitMQ queue read through pika (Debian's python3-pika), Toxiproxy's HTTP API.

Nothing here knows about a test: the audit uses it against any stack, production-like ones
included.
"""

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request


def ensure_pika():
    """Imports pika; when this interpreter has none (a pyenv or venv python first on PATH),
    re-executes the program with Debian's /usr/bin/python3, which python3-pika installs into."""
    try:
        import pika  # noqa: F401
        return
    except ImportError:
        pass
    debian = "/usr/bin/python3"
    if os.path.realpath(sys.executable) != os.path.realpath(debian) and os.path.exists(debian) \
            and not os.environ.get("CVGATE_CHAOS_REEXEC"):
        os.environ["CVGATE_CHAOS_REEXEC"] = "1"
        os.execv(debian, [debian] + sys.argv)
    sys.exit("no python module 'pika' (Debian: python3-pika; deploy/local/install-deps.sh installs it)")


def read_env_file(path):
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("export "):
                line = line[len("export "):]
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                env[k] = v.strip("'\"")
    return env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- BSON and OP_MSG ---------------------------------------------------------------------------

def _element(key, v):
    k = key.encode() + b"\0"
    if isinstance(v, bool):
        return b"\x08" + k + (b"\x01" if v else b"\x00")
    if isinstance(v, int):
        return b"\x12" + k + struct.pack("<q", v)
    if isinstance(v, float):
        return b"\x01" + k + struct.pack("<d", v)
    if isinstance(v, str):
        data = v.encode() + b"\0"
        return b"\x02" + k + struct.pack("<i", len(data)) + data
    if isinstance(v, dict):
        return b"\x03" + k + bson_encode(v)
    if isinstance(v, (list, tuple)):
        return b"\x04" + k + bson_encode({str(i): x for i, x in enumerate(v)})
    if v is None:
        return b"\x0A" + k
    raise TypeError(type(v))


def bson_encode(doc):
    out = b"".join(_element(k, v) for k, v in doc.items())
    return struct.pack("<i", len(out) + 5) + out + b"\0"


def bson_decode(data, pos=0):
    (size,) = struct.unpack_from("<i", data, pos)
    end, pos, doc = pos + size - 1, pos + 4, {}
    while pos < end:
        kind = data[pos]
        pos += 1
        nul = data.index(b"\0", pos)
        key, pos = data[pos:nul].decode(), nul + 1
        if kind == 0x01:
            (doc[key],) = struct.unpack_from("<d", data, pos)
            pos += 8
        elif kind in (0x02, 0x0D, 0x0E):
            (n,) = struct.unpack_from("<i", data, pos)
            doc[key] = data[pos + 4:pos + 3 + n].decode("utf-8", "replace")
            pos += 4 + n
        elif kind in (0x03, 0x04):
            (n,) = struct.unpack_from("<i", data, pos)
            sub = bson_decode(data, pos)
            doc[key] = list(sub.values()) if kind == 0x04 else sub
            pos += n
        elif kind == 0x05:
            (n,) = struct.unpack_from("<i", data, pos)
            pos += 5 + n
        elif kind == 0x07:
            doc[key] = data[pos:pos + 12].hex()
            pos += 12
        elif kind == 0x08:
            doc[key] = data[pos] == 1
            pos += 1
        elif kind in (0x09, 0x11, 0x12):
            (doc[key],) = struct.unpack_from("<q", data, pos)
            pos += 8
        elif kind in (0x0A, 0x06, 0x7F, 0xFF):
            doc[key] = None
        elif kind == 0x10:
            (doc[key],) = struct.unpack_from("<i", data, pos)
            pos += 4
        elif kind == 0x13:
            pos += 16
        else:
            raise ValueError(f"BSON type {kind:#x}")
    return doc


class Mongo:
    """One MongoDB connection speaking OP_MSG; host/port from a mongodb:// URL."""

    def __init__(self, url, timeout=30.0):
        u = urllib.parse.urlsplit(url)
        host = u.hostname or "127.0.0.1"
        self.sock = socket.create_connection((host, u.port or 27017), timeout=timeout)
        self.request_id = 0

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def command(self, db, command):
        self.request_id += 1
        body = bson_encode(dict(command, **{"$db": db}))
        msg = struct.pack("<I", 0) + b"\0" + body
        self.sock.sendall(struct.pack("<iiii", 16 + len(msg), self.request_id, 0, 2013) + msg)
        data = b""
        while len(data) < 4 or len(data) < struct.unpack_from("<i", data)[0]:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("MongoDB closed the connection")
            data += chunk
        reply = bson_decode(data, 16 + 4 + 1)
        if reply.get("ok") not in (1, 1.0, True):
            raise RuntimeError(f"MongoDB command failed: {reply.get('errmsg', reply)}")
        return reply

    def find_all(self, db, collection, flt=None):
        cmd = {"find": collection, "batchSize": 10000}
        if flt:
            cmd["filter"] = flt
        reply = self.command(db, cmd)
        docs = list(reply["cursor"]["firstBatch"])
        cursor = reply["cursor"]["id"]
        while cursor:
            reply = self.command(db, {"getMore": cursor, "collection": collection, "batchSize": 10000})
            docs += reply["cursor"]["nextBatch"]
            cursor = reply["cursor"]["id"]
        return docs


# --- PostgreSQL through psql -------------------------------------------------------------------

def psql_rows(database_url, sql, timeout=60):
    """Rows of a query as lists of strings (psql -tA, fields split on the unit separator)."""
    out = subprocess.run(["psql", "-X", "-q", "-tA", "-F", "\x1f", "-v", "ON_ERROR_STOP=1", database_url, "-c", sql],
                         capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"psql: {out.stderr.strip()}")
    return [line.split("\x1f") for line in out.stdout.splitlines() if line]


def psql_exec(database_url, sql, timeout=60):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", database_url, "-c", sql],
                   check=True, timeout=timeout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


# --- RabbitMQ ----------------------------------------------------------------------------------

def queue_messages(amqp_url, queue, drain=False, idle=3.0):
    """Every message on `queue` as (properties dict, body bytes). Without `drain` nothing is
    acknowledged: closing the connection puts them all back, in order. A queue that does not
    exist has no messages."""
    import pika
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        ch = conn.channel()
        try:
            count = ch.queue_declare(queue, passive=True).method.message_count
        except pika.exceptions.ChannelClosedByBroker:
            return []
        ch.basic_qos(prefetch_count=0)
        got = []
        if count:
            for method, props, body in ch.consume(queue, auto_ack=drain, inactivity_timeout=idle):
                if method is None:
                    break
                got.append(({"correlation_id": props.correlation_id, "message_id": props.message_id,
                             "delivery_mode": props.delivery_mode, "content_type": props.content_type,
                             "redelivered": method.redelivered}, body))
                if len(got) >= count:
                    break
            ch.cancel()
        return got
    finally:
        conn.close()


def delete_queue(amqp_url, queue):
    import pika
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        conn.channel().queue_delete(queue)
    finally:
        conn.close()


# --- Toxiproxy ---------------------------------------------------------------------------------

def toxiproxy_bin():
    b = os.environ.get("TOXIPROXY_BIN") or os.path.join(
        os.environ.get("CVGATE_CACHE", os.path.expanduser("~/.cache/cvgate")), "bin", "toxiproxy-server")
    if not os.access(b, os.X_OK):
        b = shutil.which("toxiproxy-server") or b
    return b


class Toxiproxy:
    def __init__(self, api_port):
        self.base = f"http://127.0.0.1:{api_port}"

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            text = r.read()
            try:
                return json.loads(text) if text else None
            except ValueError:
                return text.decode(errors="replace")  # /version is plain text

    def ready(self):
        try:
            self._call("GET", "/version")
            return True
        except (OSError, urllib.error.URLError):
            return False

    def create_proxy(self, name, listen_port, upstream_port):
        return self._call("POST", "/proxies", {"name": name, "listen": f"127.0.0.1:{listen_port}",
                                                "upstream": f"127.0.0.1:{upstream_port}", "enabled": True})

    def add_toxic(self, proxy, name, kind, stream, attributes, toxicity=1.0):
        return self._call("POST", f"/proxies/{proxy}/toxics", {"name": name, "type": kind, "stream": stream,
                                                               "toxicity": toxicity, "attributes": attributes})

    def remove_toxic(self, proxy, name):
        try:
            self._call("DELETE", f"/proxies/{proxy}/toxics/{name}")
        except urllib.error.HTTPError as e:
            if e.code != 404:
                raise

    def toxics(self, proxy):
        return self._call("GET", f"/proxies/{proxy}/toxics")
