#!/usr/bin/env python3
"""The chaos soak: one cvgate behind Toxiproxy, --submissions submits (default 50,000) at a
steady --rate, with the other operations mixed in, and faults injected at random (a random
dependency x fault of the matrix every --every s on average, lasting --min-fault to --max-fault
s). At the end: every submit that got no 2xx retried once with its Idempotency-Key, then the
audit. Prints the figures (requests by outcome, faults, the slowest recovery, cvgate's peak
RSS, the audit's counts) and exits 1 when the audit found something, cvgate did not recover
from a fault within --recover s, or its RSS went over --rss-mib.
"""

import argparse
import collections
import json
import os
import random
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import chaoslib  # noqa: E402
from cell import DEPS, FAULTS, Fixture, Gateway, RssSampler, Workload, end_fault_anyway, http_status, log  # noqa: E402

SOAK_MIX = {"submit": 70, "add-cvs": 8, "status": 10, "sync": 5, "results": 4, "erase": 3}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cvgate", required=True)
    p.add_argument("--stack-dir", default=os.environ.get("CVGATE_STACK_DIR"))
    p.add_argument("--submissions", type=int, default=50000)
    p.add_argument("--rate", type=float, default=70, help="requests per second (70 %% submits)")
    p.add_argument("--workers", type=int, default=48)
    p.add_argument("--every", type=float, default=30, help="mean seconds between two faults")
    p.add_argument("--min-fault", type=float, default=3)
    p.add_argument("--max-fault", type=float, default=8)
    p.add_argument("--faults", default=",".join(FAULTS))
    p.add_argument("--deps", default=",".join(DEPS))
    p.add_argument("--latency-ms", type=int, default=12000)
    p.add_argument("--kill-down", type=float, default=2)
    p.add_argument("--recover", type=float, default=15)
    p.add_argument("--in-doubt", type=int, default=5)
    p.add_argument("--rss-mib", type=float, default=256)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    chaoslib.ensure_pika()
    rnd = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="cvgate-soak.")
    os.chmod(work, 0o755)
    fx = Fixture(args.stack_dir, work)
    name = f"chaos_soak_{os.getpid()}"
    gw = None
    faults_done, recoveries, problems = [], [], []
    began = time.monotonic()
    try:
        gw = Gateway(fx, name, os.path.join(work, "gw"), args.cvgate, args.in_doubt)
        rss = RssSampler(gw.proc.pid, period=1.0)
        rss.start()
        ledger = os.path.join(work, "ledger.jsonl")
        wl = Workload(gw.port, ledger, args.rate, args.workers, SOAK_MIX, fx.env["MONGO_URL"], name)
        wl.max_submits = args.submissions
        wl.start(10 ** 7)
        last_report = time.monotonic()
        next_fault = time.monotonic() + rnd.expovariate(1 / args.every)
        while wl.submits < args.submissions:
            time.sleep(0.5)
            now = time.monotonic()
            if now - last_report >= 60:
                last_report = now
                log(f"soak: {wl.submits} submissions, {wl.seq} requests, {now - began:.0f} s, "
                    f"RSS peak {rss.peak_kb / 1024:.1f} MiB, {len(faults_done)} faults")
            if now < next_fault:
                continue
            dep, fault = rnd.choice(args.deps.split(",")), rnd.choice(args.faults.split(","))
            length = rnd.uniform(args.min_fault, args.max_fault)
            fargs = argparse.Namespace(latency_ms=args.latency_ms, kill_down=args.kill_down)
            end = fx.inject(dep, fault, fargs)
            time.sleep(length)
            try:
                end()
            except Exception as e:  # noqa: BLE001
                problems.append(f"could not end {dep}:{fault}: {e}")
                end_fault_anyway(fx, dep, fault)
            t1 = time.monotonic()
            rec = None
            while time.monotonic() < t1 + args.recover:
                if http_status(gw.port, "GET", "/readyz") == 200:
                    rec = time.monotonic() - t1
                    break
                time.sleep(0.2)
            faults_done.append((dep, fault, round(length, 1), None if rec is None else round(rec, 1)))
            if rec is None:
                problems.append(f"not ready {args.recover:g} s after {dep}:{fault}")
            else:
                recoveries.append(rec)
            next_fault = time.monotonic() + rnd.expovariate(1 / args.every)
        wl.extend(0)
        wl.join()
        load_s = time.monotonic() - began
        time.sleep(args.in_doubt + 2)
        wl.retry_failed(workers=16)
        time.sleep(2)
        wl.ledger.close()
        rss.running = False
        summary = gw.audit(ledger, os.path.join(work, "audit.json"), max_print=30)
        ops = collections.Counter((r[0], r[3]) for r in wl.records)
        print(f"soak: {wl.submits} submissions in {load_s:.0f} s ({wl.submits / load_s:.1f}/s), {len(wl.records)} requests")
        print("   by op and status: " + ", ".join(f"{o} {s}: {n}" for (o, s), n in sorted(ops.items())))
        kinds = collections.Counter(f"{d}:{f}" for d, f, _, _ in faults_done)
        print(f"   faults: {len(faults_done)} ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))})")
        if recoveries:
            print(f"   ready again after a fault: median {sorted(recoveries)[len(recoveries) // 2]:.1f} s, "
                  f"max {max(recoveries):.1f} s")
        print(f"   cvgate RSS peak {rss.peak_kb / 1024:.1f} MiB")
        print("   audit: " + ", ".join(f"{k} {v}" for k, v in summary.items() if k not in ("violation_list", "by_kind")))
        for v in summary["violation_list"][:30]:
            print(f"   AUDIT {v['kind']}: {v['text']}")
        with open(os.path.join(work, "faults.json"), "w") as f:
            json.dump(faults_done, f)
        if summary["violations"]:
            problems.append(f"audit: {summary['violations']} violations {summary['by_kind']}")
        if rss.peak_kb / 1024 > args.rss_mib:
            problems.append(f"RSS {rss.peak_kb / 1024:.1f} MiB > {args.rss_mib}")
        if gw.proc.poll() is not None:
            problems.append(f"cvgate exited ({gw.proc.returncode})")
    finally:
        if gw:
            gw.stop()
            if not args.keep:
                gw.cleanup()
        fx.close()
    for pr in problems:
        print(f"soak: FAILED: {pr}")
    print(f"soak: work directory {work}" + (" (kept)" if problems or args.keep else ""))
    if not problems and not args.keep:
        import shutil
        shutil.rmtree(work, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
