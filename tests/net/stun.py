#!/usr/bin/env python3
"""stun.py [--port LOCAL] SERVER[:PORT]...: send one STUN binding
request (RFC 5389) to each SERVER from one UDP socket bound to LOCAL (0: any
free port) and print the reflexive address each one reports (IP:PORT), one
line per server, in order. Retries every 200 ms, fails (status 1) after 3 s
without an answer. Used by tests/net/lab.sh (stun_mapped) and the lab's
self-test to see NAT mappings from inside a namespace."""
import os
import socket
import struct
import sys
import time

MAGIC = 0x2112A442


def request(sock, server):
    tid = os.urandom(12)
    msg = struct.pack("!HHI", 0x0001, 0, MAGIC) + tid
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        sock.sendto(msg, server)
        sock.settimeout(0.2)
        try:
            data, _ = sock.recvfrom(2048)
        except socket.timeout:
            continue
        if len(data) < 20 or data[8:20] != tid:
            continue
        kind, length = struct.unpack("!HH", data[:4])
        if kind != 0x0101:
            continue
        pos, end = 20, min(len(data), 20 + length)
        found = None
        while pos + 4 <= end:
            atype, alen = struct.unpack("!HH", data[pos:pos + 4])
            val = data[pos + 4:pos + 4 + alen]
            if atype in (0x0020, 0x0001) and alen >= 8 and val[1] == 1:
                port, addr = struct.unpack("!HI", val[2:8])
                if atype == 0x0020:
                    port ^= MAGIC >> 16
                    addr ^= MAGIC
                found = "%s:%d" % (socket.inet_ntoa(struct.pack("!I", addr)), port)
                if atype == 0x0020:
                    break
            pos += 4 + ((alen + 3) & ~3)
        if found:
            return found
    return None


def main():
    args = sys.argv[1:]
    local = 0
    while args and args[0].startswith("--"):
        if args[0] == "--port":
            local = int(args[1])
            args = args[2:]
        else:
            sys.exit("stun.py: unknown option " + args[0])
    if not args:
        sys.exit(__doc__)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", local))
    for s in args:
        host, _, port = s.partition(":")
        got = request(sock, (host, int(port or 3478)))
        if not got:
            sys.exit("stun.py: no answer from " + s)
        print(got, flush=True)


main()
