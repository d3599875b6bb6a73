#!/usr/bin/python3
"""An HTTPS server that records every request header (tests only).

The simulator logs a few headers; this logs them all, one JSON line per
request to --log: {"path": ..., "headers": [[name, value], ...]}, with the
Authorization credential replaced by its SHA-256 (never a secret in a
file). Every GET gets an empty ConfigMapList. Prints
"listening on 127.0.0.1:PORT" once ready.
"""
import argparse
import hashlib
import http.server
import json
import ssl
import sys
import threading

BODY = b'{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}'


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        headers = []
        for k, v in self.headers.items():
            if k.lower() == "authorization":
                scheme, _, cred = v.partition(" ")
                v = "%s sha256:%s" % (scheme, hashlib.sha256(cred.encode()).hexdigest()[:16])
            headers.append([k, v])
        with self.server.log_lock:
            with open(self.server.log_path, "a") as f:
                f.write(json.dumps({"path": self.path, "headers": headers}) + "\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, fmt, *args):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.log_path = args.log
    srv.log_lock = threading.Lock()
    print("listening on 127.0.0.1:%d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
