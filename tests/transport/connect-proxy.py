#!/usr/bin/python3
"""A tiny HTTP CONNECT and SOCKS5 proxy for tests (loopback only).

Prints "listening on 127.0.0.1:PORT" and appends one line per tunnel to
--log: the CONNECT request line, or "SOCKS5 <atyp> host:port" (atyp is
"domain" when the client left name resolution to the proxy, as socks5h
does). Only loopback targets are tunnelled. With --tls CERT KEY it is an
HTTPS proxy (TLS to the proxy, then CONNECT inside it).
"""
import struct
import argparse
import select
import socket
import socketserver
import ssl
import sys
import threading


class Handler(socketserver.BaseRequestHandler):
    def log(self, line):
        with self.server.log_lock:
            with open(self.server.log_path, "a") as f:
                f.write(line + "\n")

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.request.recv(n - len(buf))
            if not chunk:
                raise OSError("short read")
            buf += chunk
        return buf

    def socks5(self):
        sock = self.request
        ver, nmethods = self.recv_exact(2)
        self.recv_exact(nmethods)
        sock.sendall(b"\x05\x00")
        ver, cmd, _, atyp = self.recv_exact(4)
        if atyp == 1:
            host, kind = socket.inet_ntoa(self.recv_exact(4)), "ipv4"
        elif atyp == 3:
            host, kind = self.recv_exact(self.recv_exact(1)[0]).decode(), "domain"
        elif atyp == 4:
            host, kind = socket.inet_ntop(socket.AF_INET6, self.recv_exact(16)), "ipv6"
        else:
            return
        port = struct.unpack("!H", self.recv_exact(2))[0]
        self.log("SOCKS5 %s %s:%d" % (kind, host, port))
        if cmd != 1 or host not in ("127.0.0.1", "::1", "localhost"):
            sock.sendall(b"\x05\x02\x00\x01\x00\x00\x00\x00\x00\x00")
            return
        try:
            up = socket.create_connection((host, port), timeout=10)
        except OSError:
            sock.sendall(b"\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00")
            return
        sock.sendall(b"\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00")
        self.relay(up, b"")

    def relay(self, up, rest):
        sock = self.request
        if rest:
            up.sendall(rest)
        socks = [sock, up]
        try:
            while True:
                # TLS may hold decrypted bytes select() cannot see
                r = [s for s in socks if isinstance(s, ssl.SSLSocket) and s.pending()]
                if not r:
                    r, _, _ = select.select(socks, [], [], 60)
                if not r:
                    return
                for s in r:
                    buf = s.recv(65536)
                    if not buf:
                        return
                    (up if s is sock else sock).sendall(buf)
        except OSError:
            return
        finally:
            up.close()

    def handle(self):
        if self.server.tls:
            try:
                self.request = self.server.tls.wrap_socket(self.request, server_side=True)
            except (OSError, ssl.SSLError):
                self.log("TLS handshake failed")
                return
            self.log("TLS")
        sock = self.request
        try:
            if not self.server.tls and sock.recv(1, socket.MSG_PEEK) == b"\x05":
                return self.socks5()
        except OSError:
            return
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                return
            data += chunk
            if len(data) > 65536:
                return
        head, _, rest = data.partition(b"\r\n\r\n")
        line = head.split(b"\r\n")[0].decode("latin-1")
        parts = line.split()
        self.log(line)
        if len(parts) != 3 or parts[0] != "CONNECT":
            sock.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        host, _, port = parts[1].rpartition(":")
        host = host.strip("[]")
        if host not in ("127.0.0.1", "::1", "localhost"):
            sock.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        try:
            up = socket.create_connection((host, int(port)), timeout=10)
        except OSError:
            sock.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.relay(up, rest)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    args = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    srv.log_path = args.log
    srv.tls = None
    if args.tls:
        srv.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        srv.tls.load_cert_chain(*args.tls)
    srv.log_lock = threading.Lock()
    print("listening on 127.0.0.1:%d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
