#!/usr/bin/env python3
"""Writes test/fuzz/corpus/http_session/: one input per bug the HTTP front door had, each a
4-byte split seed (0 = one write) and the bytes a client sends. Replayed in every CI build
(ctest fuzz.http_session.corpus) and a seed corpus for libFuzzer.

The files named by a SHA-1 beside them were found by libFuzzer: the inputs of a run that
add coverage edges to the committed corpus, chosen with
  http_session_fuzz -merge=1 -use_counters=0 NEW_DIR_WITH_THE_CORPUS FUZZED_INPUTS
(the corpus stays under 300 files and 2 MB)."""
import pathlib
import struct

out = pathlib.Path(__file__).parent / "corpus" / "http_session"
out.mkdir(parents=True, exist_ok=True)

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n"


def post_te(te, version=b"1.1", extra=b""):
    return (b"POST /echo HTTP/" + version + b"\r\nHost: t\r\nConnection: keep-alive\r\n" + extra +
            b"Transfer-Encoding: " + te + b"\r\n\r\n0\r\n\r\n" + SMUGGLED)


cases = {
    # Unbounded memory: a chunk line with endless extensions, a trailer that never ends.
    "chunk-extension-flood": b"GET /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1;x=" + b"a" * 70000,
    "trailer-flood": b"POST /stream HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: " + b"a" * 70000,
    # A field Beast's container cannot hold (64 KiB or more): its std::length_error left the
    # I/O thread's run() and ended the process (found by this target).
    "trailer-field-64k": b"POST /stream HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: "
    + b"a" * 65534 + b"\r\n\r\n" + SMUGGLED,
    "trailer-name-64k": b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
    + b"X" * 65534 + b": v\r\n\r\n",
    "trailer-many-fields": b"POST /stream HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
    + b"".join(b"X-%d: v\r\n" % i for i in range(9000)),
    # Request smuggling: a body the server cannot delimit read as the next request.
    "te-chunked-gzip": post_te(b"chunked, gzip"),
    "te-gzip": post_te(b"gzip"),
    "te-xchunked": post_te(b"xchunked"),
    "te-empty": post_te(b""),
    "te-gzip-chunked": post_te(b"gzip, chunked"),
    "te-two-fields": post_te(b"gzip", extra=b"Transfer-Encoding: chunked\r\n"),
    "te-http10": post_te(b"chunked", version=b"1.0"),
    # Host and the absolute form.
    "no-host": b"GET /healthz HTTP/1.1\r\n\r\n" + SMUGGLED,
    "two-hosts": b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + SMUGGLED,
    "http10-no-host": b"GET /healthz HTTP/1.0\r\n\r\n",
    "absolute-form": b"GET http://cvgate.example/items/7?x=1 HTTP/1.1\r\nHost: cvgate.example\r\n\r\n" + SMUGGLED,
    # A head just over the limit with two Hosts: 431, as the limit counts the request line
    # (the target's own parser, given the head in one piece, let it pass; its oracle wanted 400).
    "two-hosts-over-limit": b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"b" * 2006 + b"\r\nHost: t\r\n\r\n" + SMUGGLED,
    # Early refusals keep the client's correlation id.
    "early-413": b"POST /echo HTTP/1.1\r\nHost: t\r\nX-Correlation-ID: c-1\r\nContent-Length: 99999999\r\n\r\n",
    "early-431": b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"b" * 4000 + b"\r\n\r\n",
    # What held before, kept so it keeps holding.
    "cl-and-te": b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "two-content-lengths": b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "pipelined-keepalive": (b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n" * 3
                            + b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
                            + b"POST /refuse HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc" + SMUGGLED),
    "expect-100": b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nabcd",
    "chunked-ok": b"POST /stream HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
    "bad-chunk-size": b"POST /stream HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    "nul-in-header": b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: a\x00b\r\n\r\n",
    "truncated-body": b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc",
}

count = 0
for name, body in cases.items():
    # The large ones once; the others also cut at pseudo-random points.
    for seed in (0,) if len(body) > 10000 else (0, 0x9E3779B9):
        count += 1
        suffix = "" if seed == 0 else "-split"
        (out / f"{name}{suffix}").write_bytes(struct.pack("<I", seed) + body)
print(f"{count} inputs in {out}")
