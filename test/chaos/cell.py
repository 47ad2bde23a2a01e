#!/usr/bin/env python3
"""Chaos cells: a real cvgate behind Toxiproxy, a bounded mixed workload, one fault on one
dependency, then the audit of the stores (test/chaos/audit).

A cell is DEPENDENCY:FAULT, DEPENDENCY one of postgres, mongo, rabbitmq and FAULT one of

  latency    every byte from the server delayed by --latency-ms (default 12 s: past every
             deadline of cvgate's clients)
  blackhole  Toxiproxy's `timeout` toxic, timeout 0: data stops both ways, connections stay open
  reset      `reset_peer`: every connection is reset as soon as it carries data
  bandwidth  1 KB/s both ways
  sigstop    the server's processes frozen (SIGSTOP), then resumed (SIGCONT)
  sigkill    the server's processes killed (SIGKILL), then the server started again

Per cell: a fresh cvgate (its own databases, queue and upload directory, IN_DOUBT_SECONDS small)
whose three dependencies go through Toxiproxy; the workload (submit, add-cvs, status, sync,
results, erase; a stand-in results worker completes jobs in MongoDB so that sync has work) for
--warmup s, the fault for --fault s, the load for --cooldown s more; from the fault's end,
/readyz must be 200 and a fresh submit 202 within --recover s (no restart of cvgate); during the
fault, routes that do not need the faulty dependency must keep working (bulkheads: results needs
only PostgreSQL, status of an unsynced job only MongoDB); every submit that got no 2xx is
retried once with its Idempotency-Key; after IN_DOUBT_SECONDS + --settle s, the audit. cvgate's
RSS is sampled all along and must stay under --rss-mib.

Prints one table row per cell (and the table at the end); exit 1 when a cell failed.
"""

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import chaoslib  # noqa: E402

DEPS = ("postgres", "mongo", "rabbitmq")
FAULTS = ("latency", "blackhole", "reset", "bandwidth", "sigstop", "sigkill")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"x" * 1024
JD = "We are looking for a backend engineer with C++ and distributed systems experience."
STACK_SH = os.path.join(ROOT, "deploy", "local", "stack.sh")
PROXY_OF = {"postgres": "PG_PORT", "mongo": "MONGO_PORT", "rabbitmq": "AMQP_PORT"}


def log(*a):
    print("chaos:", *a, file=sys.stderr, flush=True)


def multipart(fields, files):
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    for name, data in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
                     f"Content-Type: application/pdf\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# --- the workload -------------------------------------------------------------------------------

class Job:
    __slots__ = ("cvs", "closed", "completed", "synced", "adding", "add_failed", "erase_tried", "sync_tried")

    def __init__(self, cvs):
        self.cvs = list(cvs)
        self.closed = self.completed = self.synced = self.add_failed = self.sync_tried = False
        self.adding = 0
        self.erase_tried = set()


class Workload:
    """Poisson arrivals of a mixed load; every request is one line of the ledger."""

    def __init__(self, port, ledger_path, rate, workers, mix, mongo_url, mongo_db, timeout=60.0):
        self.port, self.rate, self.workers, self.mix = port, rate, workers, mix
        self.mongo_url, self.mongo_db, self.timeout = mongo_url, mongo_db, timeout
        self.ledger = open(ledger_path, "a")
        self.lock = threading.Lock()
        self.jobs = {}
        self.seq = 0
        self.failed_submits = []  # (seq, key, body, ctype) of submits with no 2xx (4xx excepted)
        self.records = []  # (op, t0, dur, status, job) for the bulkhead check
        self.stop_at = 0.0
        self.next_due = 0.0
        self.threads = []
        self.submits = 0
        self.max_submits = None
        self.concurrent_add_cvs = False

    # One request, recorded in the ledger.
    def request(self, op, method, path, body=None, ctype=None, key=None, job=None, extra=None):
        cid = "chaos-" + uuid.uuid4().hex
        headers = {"Connection": "close", "X-Correlation-ID": cid}
        if ctype:
            headers["Content-Type"] = ctype
        if key:
            headers["Idempotency-Key"] = key
        t0, wall = time.monotonic(), time.time()
        status, answer, err = 0, None, None
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                c.request(method, path, body=body, headers=headers)
                r = c.getresponse()
                status, data = r.status, r.read()
                try:
                    answer = json.loads(data) if data else None
                except ValueError:
                    answer = None
            finally:
                c.close()
        except Exception as e:  # noqa: BLE001 - a failed request is a result
            err = type(e).__name__
        dur = time.monotonic() - t0
        entry = {"op": op, "status": status, "job_id": job, "cid": cid, "key": key, "t": round(wall, 3),
                 "dur": round(dur, 4)}
        if status == 202 and isinstance(answer, dict):
            entry["job_id"] = answer.get("job_id", job)
            entry["cv_ids"] = [d.get("cv_id") for d in answer.get("cv_details", [])]
        if err:
            entry["err"] = err
        if extra:
            entry.update(extra)
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.ledger.write(json.dumps(entry) + "\n")
            self.ledger.flush()
            self.records.append((op, t0, dur, status, entry.get("job_id")))
        return entry, answer

    def submit(self, files=None, retry=None):
        if retry:
            seq, key, body, ctype = retry
        else:
            n = files or random.randint(1, 3)
            body, ctype = multipart({"jd_text": JD, "use_delay": "false"}, [(f"cv{i}.pdf", PDF) for i in range(n)])
            key = uuid.uuid4().hex
        e, _ = self.request("submit", "POST", "/jobs/submit", body, ctype, key=key,
                            extra={"retry_of": retry[0]} if retry else None)
        with self.lock:
            if e["status"] == 202:
                if e["job_id"] not in self.jobs:
                    self.jobs[e["job_id"]] = Job(e.get("cv_ids", []))
            elif not retry and not 400 <= e["status"] < 500:
                self.failed_submits.append((e["seq"], key, body, ctype))
        return e

    def _pick(self, cond):
        c = [j for j, v in self.jobs.items() if cond(v)]
        return random.choice(c) if c else None

    def one(self):
        op = random.choices(list(self.mix), list(self.mix.values()))[0]
        if self.max_submits is not None:
            with self.lock:
                if self.submits >= self.max_submits:
                    op = "status" if op == "submit" else op
                elif op == "submit":
                    self.submits += 1
        if op == "submit":
            return self.submit()
        with self.lock:
            if op == "add-cvs":
                # One add-cvs per job at a time unless asked: two at once on one job lose an
                # expected_files increment on FerretDB (README.md), which is no fault's doing.
                job = self._pick(lambda v: not v.closed and (self.concurrent_add_cvs or not v.adding))
                if job:
                    self.jobs[job].adding += 1
            elif op == "sync":
                job = self._pick(lambda v: v.completed and not v.synced)
            elif op in ("results", "erase"):
                job = self._pick(lambda v: v.synced and (op == "results" or set(v.cvs) - v.erase_tried))
            else:
                job = self._pick(lambda v: True)
            if job is None:
                op, job = "status", self._pick(lambda v: True)
            if job is None:
                op = "submit"
        if op == "submit":
            return self.submit()
        if op == "status":
            return self.request("status", "GET", f"/jobs/{job}/status", job=job)[0]
        if op == "results":
            return self.request("results", "GET", f"/jobs/{job}/results", job=job)[0]
        if op == "sync":
            with self.lock:
                self.jobs[job].sync_tried = True
            e, _ = self.request("sync", "POST", f"/jobs/{job}/sync", job=job)
            if e["status"] == 200:
                with self.lock:
                    self.jobs[job].synced = True
            return e
        if op == "erase":
            with self.lock:
                v = self.jobs[job]
                left = sorted(set(v.cvs) - v.erase_tried)  # another worker may have taken the last
                cv = random.choice(left) if left else None
                if cv:
                    v.erase_tried.add(cv)
            if cv is None:
                return self.request("status", "GET", f"/jobs/{job}/status", job=job)[0]
            return self.request("erase", "DELETE", f"/jobs/{job}/candidates/{cv}", job=job, extra={"cv_id": cv})[0]
        # add-cvs
        body, ctype = multipart({"jd_text": JD, "use_delay": "false"}, [("more.pdf", PDF)])
        try:
            e, _ = self.request("add-cvs", "POST", f"/jobs/{job}/add-cvs", body, ctype, key=uuid.uuid4().hex, job=job)
        finally:
            with self.lock:
                self.jobs[job].adding -= 1
        with self.lock:
            if e["status"] == 202:
                self.jobs[job].cvs += e.get("cv_ids", [])
            else:
                self.jobs[job].add_failed = True
        return e

    def _worker(self):
        while True:
            with self.lock:
                due = self.next_due
                self.next_due += random.expovariate(self.rate)
            # Behind schedule (requests slowed by a fault), the arrivals still due are dropped
            # at the stop: the load ends when it is told to, not after a backlog.
            if due >= self.stop_at or time.monotonic() >= self.stop_at:
                return
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.one()

    # The stand-in results worker: completes a job whose CVs are all known (every add-cvs
    # answered 202, none in flight), writing MongoDB directly like the pipeline's worker does.
    def _completer(self, period):
        while time.monotonic() < self.stop_at:
            time.sleep(period)
            with self.lock:
                job = self._pick(lambda v: not v.closed and not v.adding and not v.add_failed)
                if job is None:
                    continue
                v = self.jobs[job]
                v.closed = True
                cvs = list(v.cvs)
            results = [{"cv_id": cv, "candidate_name": f"Candidate {cv}", "match_score": random.randint(1, 99),
                        "recommendation": "Hire", "email": f"{cv}@example.com", "skills": ["C++"]} for cv in cvs]
            try:
                with chaoslib.Mongo(self.mongo_url, timeout=3) as m:
                    r = m.command(self.mongo_db, {"update": "jobs", "updates": [{
                        "q": {"_id": job, "status": "pending", "expected_files": len(cvs)},
                        "u": {"$set": {"results": results, "status": "complete"}}}]})
                if r.get("nModified", r.get("n", 0)) == 1:
                    with self.lock:
                        v.completed = True
            except Exception:  # noqa: BLE001 - the job simply stays pending
                pass

    def start(self, seconds, completer_period=0.3):
        self.next_due = time.monotonic()
        self.stop_at = self.next_due + seconds
        for _ in range(self.workers):
            t = threading.Thread(target=self._worker, daemon=True)
            t.start()
            self.threads.append(t)
        t = threading.Thread(target=self._completer, args=(completer_period,), daemon=True)
        t.start()
        self.threads.append(t)

    def extend(self, seconds):
        self.stop_at = time.monotonic() + seconds

    def join(self):
        for t in self.threads:
            t.join()

    def retry_failed(self, workers=8):
        """Every submit that got 503 or no answer, once more with the same Idempotency-Key."""
        todo = list(self.failed_submits)
        self.failed_submits = []
        lock = threading.Lock()

        def run():
            while True:
                with lock:
                    if not todo:
                        return
                    item = todo.pop()
                self.submit(retry=item)

        ts = [threading.Thread(target=run, daemon=True) for _ in range(workers)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()


# --- processes ----------------------------------------------------------------------------------

class RssSampler(threading.Thread):
    def __init__(self, pid, period=0.5):
        super().__init__(daemon=True)
        self.pid, self.period, self.peak_kb, self.running = pid, period, 0, True

    def run(self):
        while self.running:
            try:
                with open(f"/proc/{self.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            self.peak_kb = max(self.peak_kb, int(line.split()[1]))
            except OSError:
                return
            time.sleep(self.period)


def http_status(port, method, path, timeout=3.0):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        c.request(method, path)
        s = c.getresponse().status
        c.close()
        return s
    except Exception:  # noqa: BLE001
        return 0


class Fixture:
    """Toxiproxy in front of the stack's three servers; one per run of this program."""

    def __init__(self, stack_dir, work):
        self.stack_dir, self.work = stack_dir, work
        self.env = chaoslib.read_env_file(os.path.join(stack_dir, "env"))
        self.api_port = chaoslib.free_port()
        binary = chaoslib.toxiproxy_bin()
        if not os.access(binary, os.X_OK):
            raise SystemExit(f"no toxiproxy-server at {binary} (deploy/local/install-deps.sh builds it)")
        self.out = open(os.path.join(work, "toxiproxy.log"), "ab")
        self.proc = subprocess.Popen([binary, "-host", "127.0.0.1", "-port", str(self.api_port)],
                                     stdout=self.out, stderr=subprocess.STDOUT)
        self.tp = chaoslib.Toxiproxy(self.api_port)
        deadline = time.monotonic() + 20
        while not self.tp.ready():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit("toxiproxy-server did not start")
            time.sleep(0.05)
        self.port = {}
        for dep in DEPS:
            self.port[dep] = chaoslib.free_port()
            self.tp.create_proxy(dep, self.port[dep], int(self.env[PROXY_OF[dep]]))

    def stack(self, *args):
        subprocess.run([STACK_SH, *args], check=True, env=dict(os.environ, STACK_DIR=self.stack_dir),
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def clear(self):
        for dep in DEPS:
            for t in self.tp.toxics(dep):
                self.tp.remove_toxic(dep, t["name"])

    def close(self):
        try:
            self.clear()
        except Exception:  # noqa: BLE001
            pass
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    # Starts the fault; returns a function that ends it.
    def inject(self, dep, fault, args):
        tp = self.tp
        if fault == "latency":
            tp.add_toxic(dep, "lat", "latency", "downstream", {"latency": args.latency_ms, "jitter": 0})
        elif fault == "blackhole":
            tp.add_toxic(dep, "bh_down", "timeout", "downstream", {"timeout": 0})
            tp.add_toxic(dep, "bh_up", "timeout", "upstream", {"timeout": 0})
        elif fault == "reset":
            tp.add_toxic(dep, "reset", "reset_peer", "upstream", {"timeout": 0})
        elif fault == "bandwidth":
            tp.add_toxic(dep, "bw_down", "bandwidth", "downstream", {"rate": 1})
            tp.add_toxic(dep, "bw_up", "bandwidth", "upstream", {"rate": 1})
        elif fault == "sigstop":
            self.stack("freeze", dep)
            return lambda: self.stack("thaw", dep)
        elif fault == "sigkill":
            self.stack("kill", dep)

            def restart():
                time.sleep(args.kill_down)
                self.stack("restart", dep)
            return restart
        else:
            raise ValueError(fault)
        return self.clear


# --- one cell -----------------------------------------------------------------------------------

class Gateway:
    """A cvgate of this run: its own PostgreSQL database, MongoDB database, queue and upload
    directory, its dependencies through the fixture's proxies. Dropped again by cleanup()."""

    def __init__(self, fx, name, workdir, binary, in_doubt, extra_env=None):
        self.fx, self.name = fx, name
        env = fx.env
        os.makedirs(os.path.join(workdir, "uploads"))
        self.volume = os.path.join(workdir, "uploads")
        self.log = os.path.join(workdir, "cvgate.log")
        pg_base = env["DATABASE_URL"].rsplit("/", 1)[0]
        self.direct_db = f"{pg_base}/{name}"
        chaoslib.psql_exec(env["DATABASE_URL"], f"CREATE DATABASE {name}")
        # The stack runs PostgreSQL with synchronous_commit off (scratch data): a commit it
        # acknowledged can be lost when the server is killed. Not in this database: a 200 must
        # survive a SIGKILL of the server.
        chaoslib.psql_exec(env["DATABASE_URL"], f"ALTER DATABASE {name} SET synchronous_commit = on")
        self.port = chaoslib.free_port()
        cv_env = dict(os.environ, PORT=str(self.port), LISTEN_ADDR="127.0.0.1", IO_THREADS="2", LOG_LEVEL="info",
                      UPLOAD_VOLUME_PATH=self.volume,
                      MONGO_URL=f"mongodb://127.0.0.1:{fx.port['mongo']}", MONGO_DB_NAME=name,
                      DATABASE_URL=f"postgresql://postgres@127.0.0.1:{fx.port['postgres']}/{name}",
                      RABBITMQ_URL=f"amqp://guest:guest@127.0.0.1:{fx.port['rabbitmq']}/", JOBS_QUEUE=name,
                      # The contract's in-doubt bound, small; a cvgate that does not know the
                      # setting yet ignores it (unknown environment variables are not read).
                      IN_DOUBT_SECONDS=str(in_doubt), SHUTDOWN_GRACE_SECONDS="10", DRAIN_SECONDS="1",
                      **(extra_env or {}))
        cv_env.pop("CVGATE_FAULT", None)
        out = open(self.log, "ab")
        self.proc = subprocess.Popen([binary], env=cv_env, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        deadline = time.monotonic() + 60
        while http_status(self.port, "GET", "/readyz") != 200:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"cvgate did not become ready (see {self.log})")
            time.sleep(0.1)

    def audit(self, ledger, out_json, max_print=15):
        env = self.fx.env
        a = subprocess.run([sys.executable, os.path.join(HERE, "audit"), "--ledger", ledger,
                            "--mongo-url", env["MONGO_URL"], "--mongo-db", self.name, "--amqp-url", env["RABBITMQ_URL"],
                            "--queue", self.name, "--database-url", self.direct_db, "--volume", self.volume,
                            "--cvgate-log", self.log, "--json", out_json, "--max-print", str(max_print)],
                           capture_output=True, text=True)
        with open(os.path.splitext(out_json)[0] + ".txt", "w") as f:
            f.write(a.stdout + a.stderr)
        if a.returncode == 2 or not os.path.exists(out_json):
            raise RuntimeError(f"the audit could not run: {a.stderr.strip()[-300:]}")
        return json.load(open(out_json))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cleanup(self):
        env = self.fx.env
        try:
            chaoslib.delete_queue(env["RABBITMQ_URL"], self.name)
        except Exception:  # noqa: BLE001
            pass
        try:
            with chaoslib.Mongo(env["MONGO_URL"]) as m:
                m.command(self.name, {"dropDatabase": 1})
        except Exception:  # noqa: BLE001
            pass
        try:
            chaoslib.psql_exec(env["DATABASE_URL"], f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        except Exception:  # noqa: BLE001
            pass


def end_fault_anyway(fx, dep, fault):
    """A fault that did not end (an exception mid-cell) must not outlive the cell."""
    try:
        fx.clear()
    except Exception:  # noqa: BLE001
        pass
    if fault == "sigstop":
        subprocess.run([STACK_SH, "thaw", dep], env=dict(os.environ, STACK_DIR=fx.stack_dir),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elif fault == "sigkill":
        subprocess.run([STACK_SH, "start", dep], env=dict(os.environ, STACK_DIR=fx.stack_dir),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_cell(fx, cell, args, binary):
    dep, fault = cell.split(":")
    name = f"chaos_{os.getpid()}_{dep}_{fault}"[:60]
    cdir = os.path.join(fx.work, cell.replace(":", "-"))
    env = fx.env
    row = {"cell": cell, "result": "FAIL", "why": []}
    rss = gw = None
    try:
        gw = Gateway(fx, name, cdir, binary, args.in_doubt)
        proc, port = gw.proc, gw.port
        rss = RssSampler(proc.pid)
        rss.start()
        ledger = os.path.join(cdir, "ledger.jsonl")
        wl = Workload(port, ledger, args.rate, args.workers, MIX, env["MONGO_URL"], name)
        wl.concurrent_add_cvs = args.concurrent_add_cvs
        wl.start(3600)
        time.sleep(args.warmup)
        f0 = time.monotonic()
        end_fault = fx.inject(dep, fault, args)
        time.sleep(args.fault)
        end_fault()
        f1 = time.monotonic()
        # Recovery without restart: /readyz 200, then a fresh submit 202.
        recovered = None
        deadline = f1 + args.recover
        while time.monotonic() < deadline:
            if http_status(port, "GET", "/readyz") == 200:
                if wl.submit(files=1)["status"] == 202:
                    recovered = time.monotonic() - f1
                    break
            time.sleep(0.2)
        wl.extend(args.cooldown)
        wl.join()
        # Every in-doubt call settles within IN_DOUBT_SECONDS; then retry what failed.
        time.sleep(args.in_doubt + args.settle)
        wl.retry_failed()
        time.sleep(args.settle)
        wl.ledger.close()
        # Bulkheads: during the fault, routes that do not need the faulty dependency work.
        synced_ever = {j for op, _, _, _, j in wl.records if op == "sync"}
        bulkhead = 0
        for op, t0, dur, status, job in wl.records:
            if not f0 + 1 <= t0 <= f1:
                continue
            pg_only = op == "results" and dep != "postgres"
            mongo_only = op == "status" and dep != "mongo" and job not in synced_ever
            if (pg_only or mongo_only) and (status not in (200, 404) or dur > args.bulkhead_s):
                bulkhead += 1
        rss.running = False
        summary = gw.audit(ledger, os.path.join(cdir, "audit.json"))
        row.update({k: summary[k] for k in ("requests", "2xx", "503", "in_doubt", "accepted_late",
                                            "accepted_late_unlogged", "orphans", "violations", "no_answer")})
        row["recovery_s"] = None if recovered is None else round(recovered, 1)
        row["rss_mib"] = round(rss.peak_kb / 1024, 1)
        row["bulkhead"] = bulkhead
        row["violation_list"] = [f"{v['kind']}: {v['text']}" for v in summary["violation_list"]]
        if summary["violations"]:
            row["why"].append(f"audit: {summary['violations']} ({', '.join(f'{k} {v}' for k, v in summary['by_kind'].items())})")
        if recovered is None:
            row["why"].append(f"not recovered {args.recover:g} s after the fault")
        if row["rss_mib"] > args.rss_mib:
            row["why"].append(f"RSS {row['rss_mib']} MiB > {args.rss_mib}")
        if bulkhead:
            row["why"].append(f"bulkhead: {bulkhead} requests not needing {dep} failed or were slow")
        if summary["no_answer"]:
            row["why"].append(f"{summary['no_answer']} requests got no answer")
        if proc.poll() is not None:
            row["why"].append(f"cvgate exited ({proc.returncode})")
        if not row["why"]:
            row["result"] = "PASS"
    except Exception as e:  # noqa: BLE001
        row["why"].append(f"error: {e}")
    finally:
        if rss:
            rss.running = False
        end_fault_anyway(fx, dep, fault)
        if gw:
            gw.stop()
            if not args.keep:
                gw.cleanup()
    return row


MIX = {"submit": 35, "add-cvs": 15, "status": 20, "sync": 10, "results": 10, "erase": 10}

COLUMNS = [("cell", 20), ("requests", 8), ("2xx", 6), ("503", 5), ("in_doubt", 8), ("accepted_late", 13),
           ("orphans", 7), ("violations", 10), ("bulkhead", 8), ("recovery_s", 10), ("rss_mib", 7), ("result", 6)]


def fmt_row(r):
    vals = []
    for k, w in COLUMNS:
        v = r.get(k, "-")
        if k == "accepted_late" and "accepted_late_unlogged" in r:
            v = f"{r['accepted_late']}+{r['accepted_late_unlogged']}u"
        vals.append(str("-" if v is None else v).ljust(w))
    return " ".join(vals)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cvgate", required=True)
    p.add_argument("--stack-dir", default=os.environ.get("CVGATE_STACK_DIR"))
    p.add_argument("--cells", default="all", help="comma-separated DEP:FAULT, or 'all' (the 3 x 6 matrix)")
    p.add_argument("--rate", type=float, default=15, help="requests per second")
    p.add_argument("--workers", type=int, default=24)
    p.add_argument("--warmup", type=float, default=3)
    p.add_argument("--fault", type=float, default=8, help="seconds the fault lasts")
    p.add_argument("--cooldown", type=float, default=4)
    p.add_argument("--recover", type=float, default=10, help="seconds after the fault to be ready and accept")
    p.add_argument("--in-doubt", type=int, default=5, help="IN_DOUBT_SECONDS given to cvgate")
    p.add_argument("--settle", type=float, default=2)
    p.add_argument("--latency-ms", type=int, default=12000)
    p.add_argument("--kill-down", type=float, default=2, help="sigkill: seconds the server stays dead")
    p.add_argument("--rss-mib", type=float, default=256)
    p.add_argument("--bulkhead-s", type=float, default=2.0)
    p.add_argument("--concurrent-add-cvs", action="store_true",
                   help="allow two add-cvs on one job at once (FerretDB loses an $inc then)")
    p.add_argument("--keep", action="store_true", help="keep each cell's databases, queue and files")
    p.add_argument("--report", help="write the rows as JSON here")
    args = p.parse_args()
    chaoslib.ensure_pika()
    if not args.stack_dir or not os.path.exists(os.path.join(args.stack_dir, "env")):
        log("no running stack: --stack-dir or CVGATE_STACK_DIR (deploy/local/stack.sh start)")
        return 2
    cells = [f"{d}:{f}" for d in DEPS for f in FAULTS] if args.cells == "all" else args.cells.split(",")
    for c in cells:
        d, _, f = c.partition(":")
        if d not in DEPS or f not in FAULTS:
            log(f"unknown cell {c!r}: DEP:FAULT with DEP in {DEPS} and FAULT in {FAULTS}")
            return 2
    work = tempfile.mkdtemp(prefix="cvgate-chaos.")
    os.chmod(work, 0o755)
    fx = Fixture(args.stack_dir, work)
    rows = []
    try:
        print(fmt_row({k: k for k, _ in COLUMNS}), flush=True)
        for c in cells:
            t0 = time.monotonic()
            r = run_cell(fx, c, args, args.cvgate)
            r["seconds"] = round(time.monotonic() - t0, 1)
            rows.append(r)
            print(fmt_row(r), flush=True)
            for w in r["why"]:
                log(f"{c}: {w}")
            for v in r.get("violation_list", [])[:8]:
                log(f"{c}:   {v}")
    finally:
        fx.close()
    failed = [r for r in rows if r["result"] != "PASS"]
    print()
    print(fmt_row({k: k for k, _ in COLUMNS}))
    for r in rows:
        print(fmt_row(r))
    print(f"{len(rows) - len(failed)} passed, {len(failed)} failed")
    if args.report:
        with open(args.report, "w") as f:
            json.dump(rows, f, indent=1)
    if failed or args.keep:
        log(f"logs, ledgers and audits kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
