#!/usr/bin/env python3
"""The audit can fail: it is run against stores a real cvgate left, first clean, then broken.

1. Control: a cvgate (this build) on the stack, submits answered 202, and one submit answered
   503 whose rollback is correct (its queue was deleted under it: the publish comes back
   unroutable, cvgate rolls back the document and the files). The audit must pass: a 503 that
   was rolled back is not flagged.
2. Broken rollback: what that 503's rollback removed is put back, as a rollback that skipped
   its steps would have left it (a document carrying the request's correlation id, the job
   directory with its file, the message). The audit must name it an orphan made by that 503.
3. Crash without recovery: a cvgate with CVGATE_FAULT=submit.inserted (test builds) kills
   itself between the document and the publish, with RECOVERY_SECONDS far away so nothing
   cleans up: the audit must report the orphan document and directory, and the staged intent.
4. An incomplete 202: one of its files removed, its message published twice: the audit must
   report the missing file and the duplicate message.

Exit 0 when the audit said exactly what it should at every step.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import chaoslib  # noqa: E402
from cell import Workload, http_status, MIX  # noqa: E402,F401


def start_cvgate(binary, env, log, port):
    out = open(log, "ab")
    proc = subprocess.Popen([binary], env=env, stdout=out, stderr=subprocess.STDOUT)
    out.close()
    deadline = time.monotonic() + 60
    while http_status(port, "GET", "/readyz") != 200:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"cvgate did not become ready (see {log})")
        time.sleep(0.1)
    return proc


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cvgate", required=True)
    p.add_argument("--stack-dir", default=os.environ.get("CVGATE_STACK_DIR"))
    args = p.parse_args()
    chaoslib.ensure_pika()
    import pika
    stack = chaoslib.read_env_file(os.path.join(args.stack_dir, "env"))
    work = tempfile.mkdtemp(prefix="cvgate-audit-selftest.")
    name = f"chaos_selftest_{os.getpid()}"
    volume = os.path.join(work, "uploads")
    os.makedirs(volume)
    ledger = os.path.join(work, "ledger.jsonl")
    logf = os.path.join(work, "cvgate.log")
    pg_base = stack["DATABASE_URL"].rsplit("/", 1)[0]
    chaoslib.psql_exec(stack["DATABASE_URL"], f"CREATE DATABASE {name}")
    port = chaoslib.free_port()
    env = dict(os.environ, PORT=str(port), LISTEN_ADDR="127.0.0.1", IO_THREADS="1", LOG_LEVEL="info",
               UPLOAD_VOLUME_PATH=volume, MONGO_URL=stack["MONGO_URL"], MONGO_DB_NAME=name,
               DATABASE_URL=f"{pg_base}/{name}", RABBITMQ_URL=stack["RABBITMQ_URL"], JOBS_QUEUE=name,
               RECOVERY_SECONDS="3600", IN_DOUBT_SECONDS="5")
    env.pop("CVGATE_FAULT", None)
    failures = []
    proc = None

    def audit(step):
        out = os.path.join(work, f"audit-{step}.json")
        r = subprocess.run([sys.executable, os.path.join(HERE, "audit"), "--ledger", ledger,
                            "--mongo-url", stack["MONGO_URL"], "--mongo-db", name, "--amqp-url", stack["RABBITMQ_URL"],
                            "--queue", name, "--database-url", f"{pg_base}/{name}", "--volume", volume,
                            "--cvgate-log", logf, "--json", out], capture_output=True, text=True)
        print(f"--- step {step}: audit exit {r.returncode}")
        print(r.stdout, end="")
        if r.returncode == 2:
            print(r.stderr, end="")
        return r.returncode, (json.load(open(out)) if os.path.exists(out) else {"violation_list": []})

    def expect(step, cond, what):
        print(f"    {'ok ' if cond else 'FAILED'}: {what}")
        if not cond:
            failures.append(f"step {step}: {what}")

    def amqp():
        return pika.BlockingConnection(pika.URLParameters(stack["RABBITMQ_URL"]))

    try:
        proc = start_cvgate(args.cvgate, env, logf, port)
        wl = Workload(port, ledger, 1, 1, MIX, stack["MONGO_URL"], name, timeout=30)
        a = wl.submit(files=2)
        assert a["status"] == 202, a
        # The queue deleted under cvgate: the next publish is unroutable (mandatory), a
        # certain failure: 503 and a rollback of document and files.
        saved = chaoslib.queue_messages(stack["RABBITMQ_URL"], name, drain=True)
        chaoslib.delete_queue(stack["RABBITMQ_URL"], name)
        b = wl.submit(files=1)
        expect(1, b["status"] == 503, f"a submit whose publish is unroutable gets 503 (got {b['status']})")
        c = wl.submit(files=2)
        expect(1, c["status"] == 202, f"the next submit gets 202 again (got {c['status']})")
        # A's message back where it was (the queue deletion took it).
        conn = amqp()
        ch = conn.channel()
        for props, body in saved:
            ch.basic_publish("", name, body, pika.BasicProperties(delivery_mode=2, content_type="application/json",
                                                                   correlation_id=props["correlation_id"]))
        conn.close()
        time.sleep(1)
        code, rep = audit(1)
        expect(1, code == 0, "the audit passes on a correct rollback")

        # 2. The rollback of B undone by hand: what a broken rollback leaves.
        ghost = str(uuid.uuid4())
        cv = f"{ghost[:8]}_000"
        os.makedirs(os.path.join(volume, ghost))
        with open(os.path.join(volume, ghost, f"{cv}.pdf"), "wb") as f:
            f.write(b"%PDF-1.4\n")
        with chaoslib.Mongo(stack["MONGO_URL"]) as m:
            m.command(name, {"insert": "jobs", "documents": [{
                "_id": ghost, "correlation_id": b["cid"], "jd_text": "x" * 60, "status": "pending",
                "expected_files": 1, "results": [], "errors": [], "created_at": "2025-01-01T00:00:00.000000"}]})
        msg = {"job_id": ghost, "correlation_id": b["cid"], "jd_text": "x" * 60, "use_delay": False,
               "file_paths": [{"cv_id": cv, "file_path": f"{volume}/{ghost}/{cv}.pdf", "original_filename": "cv0.pdf"}],
               "expected_file_count": 1}
        conn = amqp()
        conn.channel().basic_publish("", name, json.dumps(msg).encode(), pika.BasicProperties(delivery_mode=2))
        conn.close()
        code, rep = audit(2)
        texts = [v["text"] for v in rep["violation_list"]]
        expect(2, code == 1, "the audit fails")
        expect(2, any(ghost in t and "orphan" == v["kind"] and f"submit -> 503 (seq {b['seq']}" in t
                      for v, t in zip(rep["violation_list"], texts)),
               "it names the job the broken rollback left, made by the submit answered 503")

        # 3. A cvgate that dies between the document and the publish, nothing recovers it.
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        proc = start_cvgate(args.cvgate, dict(env, CVGATE_FAULT="submit.inserted"), logf, port)
        d = wl.submit(files=1)
        proc.wait(30)
        expect(3, d["status"] == 0, f"the killed cvgate gave no answer (got {d['status']})")
        proc = start_cvgate(args.cvgate, env, logf, port)  # alive, but its recovery is an hour away
        code, rep = audit(3)
        vl = rep["violation_list"]
        expect(3, code == 1, "the audit fails")
        expect(3, any(v["kind"] == "orphan" and "document" in v["text"] and "directory" in v["text"]
                      and f"submit -> 0 (seq {d['seq']}" in v["text"] for v in vl),
               "it names the half-done job's document and directory, made by the unanswered submit")
        expect(3, any(v["kind"] == "staged" and v["text"].endswith(".intent left behind") for v in vl),
               "it names the staged intent left in .incoming")

        # 4. A 202 made incomplete: a file removed, its message doubled.
        os.remove(os.path.join(volume, c["job_id"], f"{c['cv_ids'][1]}.pdf"))
        conn = amqp()
        ch = conn.channel()
        for props, body in chaoslib.queue_messages(stack["RABBITMQ_URL"], name):
            if json.loads(body)["job_id"] == c["job_id"]:
                ch.basic_publish("", name, body, pika.BasicProperties(delivery_mode=2))
        conn.close()
        code, rep = audit(4)
        vl = rep["violation_list"]
        expect(4, any(v["kind"] == "missing" and c["cv_ids"][1] in v["text"] for v in vl), "it names the missing file")
        expect(4, any(v["kind"] == "duplicate" and c["job_id"] in v["text"] for v in vl), "it names the duplicate message")
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        try:
            chaoslib.delete_queue(stack["RABBITMQ_URL"], name)
        except Exception:  # noqa: BLE001
            pass
        try:
            with chaoslib.Mongo(stack["MONGO_URL"]) as m:
                m.command(name, {"dropDatabase": 1})
        except Exception:  # noqa: BLE001
            pass
        try:
            chaoslib.psql_exec(stack["DATABASE_URL"], f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        except Exception:  # noqa: BLE001
            pass
    if failures:
        print("audit self-test FAILED:\n  " + "\n  ".join(failures))
        print(f"kept: {work}")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print("audit self-test: the audit passes a correct rollback and fails every broken state")
    return 0


if __name__ == "__main__":
    sys.exit(main())
