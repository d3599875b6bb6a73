#!/usr/bin/python3
"""Writes the seed corpus of fuzz-client (tests/fuzz/corpus/client/): the
answers a paged list, a /version GET and a watch get, in the harness's input
format (see fuzz-client.c). Run from anywhere; rewrites the files."""
import json
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "client")
KIND = {200: 0, 410: 4, 500: 5, 429: 6, 404: 7, 403: 8, 401: 9, "reset": 10, 406: 11, 302: 12}
TRUNCATED, RETRY_AFTER_0, HTML = 0x10, 0x20, 0x40


def answer(status, body=b"", chunk=0, flags=0):
    if not isinstance(body, bytes):
        body = json.dumps(body, separators=(",", ":")).encode()
    return struct.pack("<BBH", KIND[status] | flags, chunk, len(body)) + body


def page(names, cont=None, rv="100"):
    meta = {"resourceVersion": rv}
    if cont:
        meta["continue"] = cont
    return {"kind": "ConfigMapList", "apiVersion": "v1", "metadata": meta,
            "items": [{"metadata": {"name": n, "namespace": "flux-system"}} for n in names]}


VERSION = {"major": "1", "minor": "33", "gitVersion": "v1.33.1"}


def event(kind, name):
    return json.dumps({"type": kind, "object": {"metadata": {"name": name, "resourceVersion": "101"}}}).encode() + b"\n"


def status(code, reason):
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason, "code": code,
            "message": "seed %d" % code}


SEEDS = {
    # three pages (page size 2), then a watch event
    "pages-then-event": bytes([2 << 1]) + answer(200, page(["a", "b"], "c1"), 7) + answer(200, VERSION)
    + answer(200, page(["c", "d"], "c2")) + answer(200, page(["e"])) + answer(200, event("ADDED", "f"), 5),
    # the second page expired: the list starts over once
    "restart-410": bytes([2 << 1]) + answer(200, page(["a", "b"], "c1")) + answer(200, VERSION)
    + answer(410, status(410, "Expired")) + answer(200, page(["a", "b"], "c9", "200"))
    + answer(200, page(["c"], None, "200")) + answer(200, event("MODIFIED", "a")),
    # metadata-only refused, a 500 retried, a 429 retried, then the list
    "fallback-retry": bytes([1 | (3 << 1)]) + answer(406, status(406, "NotAcceptable")) + answer(200, VERSION)
    + answer(500, status(500, "InternalError"), 0, RETRY_AFTER_0)
    + answer(429, status(429, "TooManyRequests"), 0, RETRY_AFTER_0)
    + answer(200, page(["x", "y", "z", "w"])) + answer(200, event("DELETED", "x")),
    # the watch breaks three ways before its event: cut mid-event, reset, 500
    "watch-rewatch": bytes([7 << 1]) + answer(200, page(["a"])) + answer(200, VERSION)
    + answer(200, event("ADDED", "b")[:17], 3, TRUNCATED) + answer("reset")
    + answer(500, status(500, "InternalError")) + answer(200, b'{"type":"BOOKMARK","object":{}}\n' + event("ADDED", "b"), 11),
    # errors: a page that is not a list, an HTML page, 403 on the watch, a too old version
    "errors": bytes([0]) + answer(200, {"kind": "Status"}) + answer(200, b"<html>hi</html>", 0, HTML)
    + answer(403, status(403, "Forbidden")),
    "watch-410": bytes([0]) + answer(200, page([], None, "5")) + answer(404, status(404, "NotFound"))
    + answer(200, json.dumps({"type": "ERROR", "object": status(410, "Expired")}).encode() + b"\n"),
}

os.makedirs(OUT, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
