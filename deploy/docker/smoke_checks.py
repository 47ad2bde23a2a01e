"""What deploy/docker/build-and-smoke.sh checks on the running container, from outside it.

    smoke_checks.py wait URL PATH SECONDS      poll URL+PATH until it answers 200; print the ms it took
    smoke_checks.py submit --url URL --volume DIR --mongo-url URL --mongo-db NAME
                           --amqp-url URL --queue NAME

`submit` posts one real PDF to /jobs/submit and proves the 202 complete the way the integration
tests do (test/integration/api_test/journey.cpp): the file on the volume with the uploaded
bytes, the job document in MongoDB (read with a client of our own), the job message on the
queue (read with a consumer of our own: body and properties). Exits non-zero with one line per
failed check.
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid

failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what, flush=True)
    if not ok:
        failures.append(what)
    return ok


def get(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def wait(url, seconds):
    start = time.monotonic()
    last = "no answer"
    while time.monotonic() - start < seconds:
        try:
            status, body, _ = get(url, timeout=2)
            if status == 200:
                print(round((time.monotonic() - start) * 1000))
                return 0
            last = f"{status} {body[:300]!r}"
        except OSError as e:
            last = str(e)
        time.sleep(0.05)
    print(f"{url}: no 200 within {seconds} s (last: {last})", file=sys.stderr)
    return 1


def pdf(label):
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
            b"% " + label.encode() + b"\ntrailer << /Root 1 0 R >>\n%%EOF\n")


def multipart(fields, files):
    boundary = "----cvgateSmoke" + uuid.uuid4().hex
    out = b""
    for name, value in fields.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                f"{value}\r\n").encode()
    for filename, data in files:
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
                f"filename=\"{filename}\"\r\nContent-Type: application/pdf\r\n\r\n").encode()
        out += data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


def submit(a):
    import pika
    import pymongo

    # The queue as the pipeline declares it (durable, no arguments), so the message stays.
    amqp = pika.BlockingConnection(pika.URLParameters(a.amqp_url))
    channel = amqp.channel()
    channel.queue_declare(a.queue, durable=True)
    mongo = pymongo.MongoClient(a.mongo_url, serverSelectionTimeoutMS=10000)
    try:
        data = pdf("smoke " + uuid.uuid4().hex)
        correlation_id = "smoke-" + uuid.uuid4().hex[:12]
        body, content_type = multipart(
            {"jd_text": "We are looking for a C++ engineer who has run a gateway in a container "
                        "image, read-only and without capabilities.",
             "use_delay": "false"},
            [("resume smoke.pdf", data)])
        request = urllib.request.Request(a.url + "/jobs/submit", data=body, method="POST", headers={
            "Content-Type": content_type, "X-Correlation-ID": correlation_id})
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                status, answer = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, answer = e.code, e.read()
        if not check(status == 202, f"POST /jobs/submit answers 202 (got {status}: {answer[:300]!r})"):
            return
        answer = json.loads(answer)
        job_id = answer["job_id"]
        cv_id = answer["cv_details"][0]["cv_id"]
        check(answer["status"] == "queued" and answer["file_count"] == 1
              and answer["correlation_id"] == correlation_id,
              f"the 202 names the job, one file and our correlation id: {answer}")

        path = os.path.join(a.volume, job_id, cv_id + ".pdf")
        stored = open(path, "rb").read() if os.path.exists(path) else None
        check(stored == data, f"the file is on the volume with the uploaded bytes: {path}")
        left = sorted(os.listdir(a.volume))
        # .incoming keeps only the replica's heartbeat (<replica>.alive, crash recovery): no
        # staged upload (.part) and no open journal entry (.intent) once the 202 is out.
        staged = sorted(f for f in os.listdir(os.path.join(a.volume, ".incoming")) if not f.endswith(".alive"))
        check(left == [".incoming", job_id] and staged == [],
              f"nothing else on the volume (nothing staged left): {left}, .incoming: {staged}")

        doc = mongo[a.mongo_db]["jobs"].find_one({"_id": job_id})
        check(doc is not None and doc["status"] == "pending" and doc["expected_files"] == 1
              and doc["correlation_id"] == correlation_id and doc["results"] == []
              and doc["errors"] == [],
              f"the job document is in MongoDB ({a.mongo_db}.jobs): {doc}")

        method, properties, message = channel.basic_get(a.queue, auto_ack=True)
        if check(method is not None, f"a message is on the queue {a.queue}"):
            m = json.loads(message)
            check(m["job_id"] == job_id and m["expected_file_count"] == 1 and m["use_delay"] is False
                  and m["file_paths"] == [{"cv_id": cv_id,
                                           "file_path": f"/uploads/{job_id}/{cv_id}.pdf",
                                           "original_filename": "resume smoke.pdf"}],
                  f"the message names the job and the file as the parser sees it: {m}")
            check(properties.delivery_mode == 2 and properties.content_type == "application/json"
                  and properties.correlation_id == correlation_id and properties.message_id,
                  f"the message is persistent JSON with the job's correlation id: {properties}")
        method, _, _ = channel.basic_get(a.queue, auto_ack=True)
        check(method is None, "exactly one message")

        status, text, _ = get(a.url + "/metrics")
        check(status == 200 and b'cvgate_submissions_total{flow="submit",outcome="accepted"} 1' in text,
              "/metrics counts the accepted submission")
    finally:
        mongo.drop_database(a.mongo_db)
        mongo.close()
        channel.queue_delete(a.queue)
        amqp.close()


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "wait":
        return wait(sys.argv[2] + sys.argv[3], float(sys.argv[4]))
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["submit"])
    for name in ("url", "volume", "mongo-url", "mongo-db", "amqp-url", "queue"):
        p.add_argument("--" + name, required=True)
    submit(p.parse_args())
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
