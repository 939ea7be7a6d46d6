#!/usr/bin/env python3
"""tests/net/bad_doh.py ADDR PORT CERT KEY: a DNS-over-HTTPS resolver that
answers wrongly, for tests/net/doh.sh. HTTPS with HTTP/1.1 only (no ALPN h2:
curl falls back to HTTP/1.1). The path says how it answers a query (GET
dns= or POST):
  /garbage    200 application/dns-message, 300 bytes of noise
  /truncated  200, the first 20 bytes of a well-formed answer
  /loop       200, a question name that is a compression pointer to itself
  /past       200, an answer whose TXT RDLENGTH runs past the end
  /wrongtype  200, a well-formed answer with an A record instead of TXT
  /status     503 Service Unavailable
  /ctype      200, text/html
  /slow       never answers (holds the connection)
Prints "ready" once it listens."""
import base64
import http.server
import random
import socketserver
import ssl
import struct
import sys
import threading
import time


def name(n):
    return b"".join(bytes([len(l)]) + l.encode() for l in n.strip(".").split(".")) + b"\0"


def answer(query, kind):
    # The question as asked (the query's header is 12 bytes).
    qd_end = 12
    while query[qd_end] != 0:
        qd_end += 1 + query[qd_end]
    question = query[12:qd_end + 5]
    if kind == "wrongtype":
        rr = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 1])
    else:
        rd = b"\x08pkc1=abc"
        rdlen = len(rd) + (40 if kind == "past" else 0)
        rr = b"\xc0\x0c" + struct.pack(">HHIH", 16, 1, 60, rdlen) + rd
    msg = struct.pack(">HHHHHH", 0, 0x8180, 1, 1, 0, 0) + question + rr
    if kind == "truncated":
        return msg[:20]
    if kind == "loop":
        return struct.pack(">HHHHHH", 0, 0x8180, 1, 0, 0, 0) + b"\xc0\x0c" + struct.pack(">HH", 16, 1)
    return msg


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, query):
        kind = self.path.split("?")[0].strip("/")
        if kind == "slow":
            print("slow request", flush=True)
            time.sleep(3600)
            return
        if kind == "status":
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if kind == "garbage":
            body = random.Random(7).randbytes(300)
        else:
            body = answer(query, kind)
        self.send_response(200)
        self.send_header("Content-Type", "text/html" if kind == "ctype" else "application/dns-message")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        q = self.path.split("dns=", 1)[1].split("&")[0] if "dns=" in self.path else ""
        self.reply(base64.urlsafe_b64decode(q + "=" * (-len(q) % 4)))

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        self.reply(self.rfile.read(n))


class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    addr, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    srv = S((addr, port), H)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("ready", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
