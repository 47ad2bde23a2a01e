#!/usr/bin/env python3
"""A rolling restart of N cvgate replicas behind nginx under a bounded mixed load, then an
audit of the stores.

N real cvgate processes share one stack (PostgreSQL, RabbitMQ, a MongoDB-wire server: the
running stack of $CVGATE_STACK_DIR, see deploy/local/stack.sh) and one upload volume, behind
one nginx with deploy/nginx/cvgate.conf's upstream settings. A load of status, submit,
add-cvs and sync requests runs through nginx while every replica is restarted in turn:

  k8s     out of nginx's upstream (reload), pause, SIGTERM, start again, wait for /readyz,
          back into the upstream (reload) — what Kubernetes does with its preStop pause;
  direct  SIGTERM while the replica is still in the upstream, start again, wait for /readyz.

Then the audit: every 202 is complete (its files on the volume, its document in MongoDB with
the right expected_files, one message per 202 on the queue) and nothing is orphaned (no other
job directory, document or message; no staged .part file). Prints requests, failures by kind,
latency percentiles (overall and during the roll); exits 1 when a request failed or the audit
found a problem, 2 when it could not run.

Each client request opens its own connection to nginx: what is measured is nginx <-> cvgate,
not nginx's own handling of its clients' keep-alive connections across a reload.
"""

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"x" * 2048
JD = "We are looking for a backend engineer with C++ and distributed systems experience."
EXPECTED = {"status": {200}, "submit": {202}, "add-cvs": {202}, "sync": {200, 409}}


def log(*args):
    print("rolling:", *args, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_stack_env(stack_dir):
    env = {}
    with open(os.path.join(stack_dir, "env")) as f:
        for line in f:
            line = line.strip()
            if line.startswith("export "):
                line = line[len("export "):]
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                env[k] = v.strip("'\"")
    return env


# --- a little BSON and OP_MSG, to read MongoDB without a driver ------------------------------

def bson_encode(doc):
    out = b""
    for k, v in doc.items():
        key = k.encode() + b"\0"
        if isinstance(v, bool):
            out += b"\x08" + key + (b"\x01" if v else b"\x00")
        elif isinstance(v, int):
            out += b"\x12" + key + struct.pack("<q", v)
        elif isinstance(v, str):
            data = v.encode() + b"\0"
            out += b"\x02" + key + struct.pack("<i", len(data)) + data
        elif isinstance(v, dict):
            out += b"\x03" + key + bson_encode(v)
        else:
            raise TypeError(type(v))
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
            pos += 12
        elif kind == 0x08:
            doc[key] = data[pos] == 1
            pos += 1
        elif kind in (0x09, 0x11, 0x12):
            (doc[key],) = struct.unpack_from("<q", data, pos)
            pos += 8
        elif kind in (0x0A, 0x06):
            doc[key] = None
        elif kind == 0x10:
            (doc[key],) = struct.unpack_from("<i", data, pos)
            pos += 4
        elif kind == 0x13:
            pos += 16
        else:
            raise ValueError(f"BSON type {kind:#x}")
    return doc


def mongo_command(port, db, command):
    body = bson_encode(dict(command, **{"$db": db}))
    msg = struct.pack("<I", 0) + b"\0" + body
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(struct.pack("<iiii", 16 + len(msg), 1, 0, 2013) + msg)
        header = b""
        while len(header) < 4:
            header += s.recv(4 - len(header))
        (length,) = struct.unpack("<i", header)
        data = header
        while len(data) < length:
            chunk = s.recv(length - len(data))
            if not chunk:
                raise ConnectionError("MongoDB closed the connection")
            data += chunk
    return bson_decode(data, 16 + 4 + 1)


def mongo_documents(port, db, collection):
    reply = mongo_command(port, db, {"find": collection, "batchSize": 1000000})
    docs = list(reply["cursor"]["firstBatch"])
    cursor = reply["cursor"]["id"]
    while cursor:
        reply = mongo_command(port, db, {"getMore": cursor, "collection": collection})
        docs += reply["cursor"]["nextBatch"]
        cursor = reply["cursor"]["id"]
    return docs


# --- processes ---------------------------------------------------------------------------------

class Replica:
    def __init__(self, index, binary, env, work):
        self.index, self.binary, self.env, self.work = index, binary, env, work
        self.port = free_port()
        self.proc = None
        self.starts = 0

    def start(self):
        self.starts += 1
        env = dict(self.env, PORT=str(self.port))
        out = open(os.path.join(self.work, f"cvgate-{self.index}.log"), "ab")
        self.proc = subprocess.Popen([self.binary], env=env, stdout=out, stderr=subprocess.STDOUT)
        out.close()

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"replica {self.index} exited with {self.proc.returncode}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=3)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"replica {self.index} not ready after {timeout} s")

    def terminate(self, timeout=60):
        """SIGTERM; the time until the process exited."""
        began = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        if code != 0:
            raise RuntimeError(f"replica {self.index} exited with {code} after SIGTERM")
        return time.monotonic() - began

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Nginx:
    def __init__(self, work, replicas):
        self.dir = os.path.join(work, "nginx")
        os.makedirs(self.dir)
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(self.dir, sub))
            os.chmod(os.path.join(self.dir, sub), 0o777)  # written by the worker user
        self.replicas = replicas
        self.port = free_port()
        self.proc = None

    def write(self, members):
        servers = "\n".join(f"        server 127.0.0.1:{r.port} max_fails=3 fail_timeout=2s;" for r in members)
        d = self.dir
        conf = f"""
worker_processes 2;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
    upstream cvgate {{
{servers}
        keepalive 32;
        keepalive_timeout 4s;
        keepalive_requests 10000;
    }}
    server {{
        listen 127.0.0.1:{self.port};
        client_max_body_size 110m;
        client_body_buffer_size 1m;
        location / {{
            proxy_pass http://cvgate;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries 3;
            proxy_next_upstream_timeout 10s;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
        }}
    }}
}}
"""
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write(conf)

    def start(self):
        self.write(self.replicas)
        self.proc = subprocess.Popen(["nginx", "-p", self.dir, "-c", os.path.join(self.dir, "nginx.conf"),
                                      "-e", os.path.join(self.dir, "error.log"), "-g", "daemon off;"])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def set_members(self, members):
        self.write(members)
        self.proc.send_signal(signal.SIGHUP)  # reload: new workers, old ones finish gracefully
        time.sleep(0.3)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --- the load ----------------------------------------------------------------------------------

def multipart(fields, files):
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for filename, data in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{filename}"\r\n'
                     f"Content-Type: application/pdf\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Load:
    def __init__(self, port, rate, workers, one_add_cvs_per_job=False):
        self.port, self.rate, self.workers = port, rate, workers
        # Two add-cvs on one job at once can meet a bug of their own (test/bench/rolling/README.md):
        # this keeps them apart when the run is about restarts only.
        self.one_add_cvs_per_job = one_add_cvs_per_job
        self.adding = set()  # jobs with an add-cvs in flight
        self.lock = threading.Lock()
        self.stop_at = None
        self.next_due = None
        self.results = []  # (op, due, latency_s, outcome)
        self.jobs = {}  # job_id -> list of cv_ids (202 answers only)
        self.accepted = 0  # 202s: messages the queue must hold
        self.threads = []
        self.samples = {}  # failure kind -> the first answer's body

    def _due(self):
        with self.lock:
            due = self.next_due
            self.next_due += random.expovariate(self.rate)
            return due

    def _request(self, method, path, body=None, content_type=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            headers = {"Connection": "close"}
            if content_type:
                headers["Content-Type"] = content_type
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def _one(self):
        with self.lock:
            known = list(self.jobs)
        op = random.choices(["status", "submit", "add-cvs", "sync"], [50, 25, 15, 10])[0]
        if not known:
            op = "submit"
        if op == "submit":
            files = [(f"cv{i}.pdf", PDF) for i in range(random.randint(1, 3))]
            body, ctype = multipart({"jd_text": JD, "use_delay": "false"}, files)
            return op, lambda: self._request("POST", "/jobs/submit", body, ctype)
        job = random.choice(known)
        if op == "status":
            return op, lambda: self._request("GET", f"/jobs/{job}/status")
        if op == "add-cvs":
            if self.one_add_cvs_per_job:
                with self.lock:
                    free = [j for j in known if j not in self.adding]
                    if not free:
                        return "status", lambda: self._request("GET", f"/jobs/{job}/status")
                    job = random.choice(free)
                    self.adding.add(job)
            body, ctype = multipart({"jd_text": JD, "use_delay": "false"}, [("more.pdf", PDF)])

            def add_cvs():
                try:
                    return self._request("POST", f"/jobs/{job}/add-cvs", body, ctype)
                finally:
                    with self.lock:
                        self.adding.discard(job)

            return op, add_cvs
        return op, lambda: self._request("POST", f"/jobs/{job}/sync")

    def _worker(self):
        while True:
            due = self._due()
            if due >= self.stop_at:
                return
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            op, call = self._one()
            try:
                status, body = call()
                outcome = "ok" if status in EXPECTED[op] else f"HTTP {status}"
                if outcome != "ok":
                    with self.lock:
                        self.samples.setdefault(f"{op}: {outcome}", body[:200])
                if status == 202:
                    answer = json.loads(body)
                    with self.lock:
                        self.accepted += 1
                        self.jobs.setdefault(answer["job_id"], []).extend(
                            d["cv_id"] for d in answer["cv_details"])
            except Exception as e:  # a failed request is a result, not a crash
                outcome = type(e).__name__
            with self.lock:
                self.results.append((op, due, time.monotonic() - due, outcome))

    def start(self, seconds):
        self.next_due = time.monotonic()
        self.stop_at = self.next_due + seconds
        for _ in range(self.workers):
            t = threading.Thread(target=self._worker, daemon=True)
            t.start()
            self.threads.append(t)

    def extend(self, seconds):
        self.stop_at = time.monotonic() + seconds

    def join(self):
        for t in self.threads:
            t.join()


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def report(variant, load, roll_from, roll_to, stops):
    results = load.results
    during = [r for r in results if roll_from <= r[1] <= roll_to]
    failures = {}
    for op, _, _, outcome in results:
        if outcome != "ok":
            failures[f"{op}: {outcome}"] = failures.get(f"{op}: {outcome}", 0) + 1
    by_op = {}
    for op, _, _, _ in results:
        by_op[op] = by_op.get(op, 0) + 1
    lat = [r[2] * 1000 for r in results]
    lat_roll = [r[2] * 1000 for r in during]
    print(f"== variant {variant}: {len(results)} requests ({', '.join(f'{k} {v}' for k, v in sorted(by_op.items()))}), "
          f"{len(during)} during the roll ({roll_to - roll_from:.1f} s)")
    print(f"   failed: {sum(failures.values())}" + (" — " + ", ".join(f"{k}: {v}" for k, v in sorted(failures.items()))
                                                   if failures else ""))
    for kind, sample in sorted(load.samples.items()):
        print(f"   first {kind}: {sample!r}")
    print(f"   latency ms, all: p50 {percentile(lat, 50):.1f} p99 {percentile(lat, 99):.1f} max {max(lat or [0]):.1f}; "
          f"during the roll: p50 {percentile(lat_roll, 50):.1f} p99 {percentile(lat_roll, 99):.1f} "
          f"max {max(lat_roll or [0]):.1f}")
    print(f"   SIGTERM to exit per replica: {', '.join(f'{s:.2f} s' for s in stops)}")
    return sum(failures.values())


def audit(load, volume, mongo_port, db, queue, rabbit_node):
    problems = []
    jobs = load.jobs
    # The volume: each accepted CV's file, no other job directory, nothing staged.
    dirs = {d for d in os.listdir(volume) if not d.startswith(".")}
    for job, cvs in jobs.items():
        have = set(os.listdir(os.path.join(volume, job))) if job in dirs else set()
        want = {f"{cv}.pdf" for cv in cvs}
        if not want <= have:
            problems.append(f"volume: job {job} lacks {sorted(want - have)}")
        if have - want:
            problems.append(f"volume: job {job} holds files never answered 202: {sorted(have - want)}")
    for orphan in sorted(dirs - set(jobs)):
        problems.append(f"volume: orphaned job directory {orphan}")
    staged = os.listdir(os.path.join(volume, ".incoming")) if os.path.isdir(os.path.join(volume, ".incoming")) else []
    if staged:
        problems.append(f"volume: {len(staged)} staged files left in .incoming")
    # MongoDB: one document per accepted job, expecting every accepted CV.
    docs = {d["_id"]: d for d in mongo_documents(mongo_port, db, "jobs")}
    for job, cvs in jobs.items():
        if job not in docs:
            problems.append(f"mongo: no document for job {job}")
        elif docs[job].get("expected_files") != len(cvs):
            problems.append(f"mongo: job {job} expects {docs[job].get('expected_files')} files, {len(cvs)} accepted")
    for orphan in sorted(set(docs) - set(jobs)):
        problems.append(f"mongo: orphaned document {orphan}")
    # RabbitMQ: one message per 202 (submit and add-cvs each publish one).
    out = subprocess.run(["rabbitmqctl", "-n", rabbit_node, "-q", "list_queues", "name", "messages"],
                         capture_output=True, text=True, check=True).stdout
    messages = next((int(line.split()[1]) for line in out.splitlines()
                     if line.split() and line.split()[0] == queue), 0)
    if messages != load.accepted:
        problems.append(f"queue: {messages} messages for {load.accepted} answers 202")
    print(f"   audit: {len(jobs)} jobs, {sum(len(c) for c in jobs.values())} CVs, {load.accepted} answers 202, "
          f"{len(docs)} documents, {messages} messages: " + ("complete, nothing orphaned" if not problems
                                                             else f"{len(problems)} problems"))
    for p in problems[:20]:
        print("   AUDIT:", p)
    return len(problems)


def run_variant(args, variant, stack, work):
    name = f"cvgate_roll_{os.getpid()}_{variant}"
    pg_base = stack["DATABASE_URL"].rsplit("/", 1)[0]
    subprocess.run(["psql", "-q", stack["DATABASE_URL"], "-c", f"CREATE DATABASE {name}"], check=True,
                   stdout=subprocess.DEVNULL)
    volume = os.path.join(work, f"uploads-{variant}")
    os.makedirs(volume)
    env = dict(os.environ, LISTEN_ADDR="127.0.0.1", IO_THREADS="1", BLOCKING_THREADS="4", LOG_LEVEL="warning",
               UPLOAD_VOLUME_PATH=volume, MONGO_URL=stack["MONGO_URL"], MONGO_DB_NAME=name,
               DATABASE_URL=f"{pg_base}/{name}", RABBITMQ_URL=stack["RABBITMQ_URL"], JOBS_QUEUE=name,
               SHUTDOWN_GRACE_SECONDS=str(args.grace), DRAIN_SECONDS=str(args.drain))
    replicas = [Replica(i, args.cvgate, env, work) for i in range(args.replicas)]
    os.makedirs(os.path.join(work, variant))
    nginx = Nginx(os.path.join(work, variant), replicas)
    failed = problems = 0
    try:
        for r in replicas:
            r.start()
        for r in replicas:
            r.wait_ready()
        nginx.start()
        load = Load(nginx.port, args.rate, args.workers, args.one_add_cvs_per_job)
        load.start(3600)
        time.sleep(args.warmup)
        roll_from = time.monotonic()
        stops = []
        for r in replicas:
            if variant == "k8s":
                nginx.set_members([x for x in replicas if x is not r])
                time.sleep(args.pause)
            stops.append(r.terminate(args.grace + 10))
            r.start()
            r.wait_ready()
            if variant == "k8s":
                nginx.set_members(replicas)
            time.sleep(args.settle)
        roll_to = time.monotonic()
        load.extend(args.cooldown)
        load.join()
        failed = report(variant, load, roll_from, roll_to, stops)
        # Every publish settled, every staged file renamed or removed: stop all, then look.
        nginx.stop()
        for r in replicas:
            r.proc.send_signal(signal.SIGTERM)
        for r in replicas:
            if r.proc.wait(args.grace + 10) != 0:
                raise RuntimeError(f"replica {r.index} exited with {r.proc.returncode}")
        problems = audit(load, volume, int(stack["MONGO_PORT"]), name, name, stack["RABBITMQ_NODENAME"])
    finally:
        nginx.stop()
        for r in replicas:
            r.kill()
        subprocess.run(["rabbitmqctl", "-n", stack["RABBITMQ_NODENAME"], "-q", "delete_queue", name],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            mongo_command(int(stack["MONGO_PORT"]), name, {"dropDatabase": 1})
        except OSError:
            pass
        subprocess.run(["psql", "-q", stack["DATABASE_URL"], "-c", f"DROP DATABASE IF EXISTS {name}"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return failed, problems


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cvgate", required=True, help="the cvgate binary")
    p.add_argument("--stack-dir", default=os.environ.get("CVGATE_STACK_DIR"), help="a running stack (stack.sh)")
    p.add_argument("--variants", default="k8s,direct")
    p.add_argument("--replicas", type=int, default=3)
    p.add_argument("--rate", type=float, default=40, help="requests per second (Poisson arrivals)")
    p.add_argument("--workers", type=int, default=32, help="client threads")
    p.add_argument("--warmup", type=float, default=3)
    p.add_argument("--cooldown", type=float, default=3)
    p.add_argument("--pause", type=float, default=2, help="k8s: seconds between leaving nginx and SIGTERM")
    p.add_argument("--settle", type=float, default=2.5, help="seconds between two replicas (> fail_timeout)")
    p.add_argument("--grace", type=int, default=10, help="SHUTDOWN_GRACE_SECONDS")
    p.add_argument("--drain", type=int, default=5, help="DRAIN_SECONDS (nginx's keepalive_timeout is 4 s)")
    p.add_argument("--one-add-cvs-per-job", action="store_true",
                   help="never two add-cvs on one job at once (see README.md: a known add-cvs race)")
    args = p.parse_args()
    if not args.stack_dir or not os.path.exists(os.path.join(args.stack_dir, "env")):
        log("no running stack: give --stack-dir or CVGATE_STACK_DIR (deploy/local/stack.sh start)")
        return 2
    if shutil.which("nginx") is None:
        log("no nginx on the PATH (Debian: nginx-light)")
        return 2
    stack = read_stack_env(args.stack_dir)
    work = tempfile.mkdtemp(prefix="cvgate-rolling.")
    os.chmod(work, 0o755)
    total_failed = total_problems = 0
    try:
        for variant in args.variants.split(","):
            failed, problems = run_variant(args, variant, stack, work)
            total_failed += failed
            total_problems += problems
    finally:
        if total_failed or total_problems:
            log(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if total_failed or total_problems else 0


if __name__ == "__main__":
    sys.exit(main())
