#!/usr/bin/env python3
"""udp.py: small UDP tools for the lab's self-test (tests/net/lab_nat.sh).

  udp.py recv PORT IDLE          count the datagrams arriving on PORT until
                                 none came for IDLE seconds; prints the count
  udp.py send IP PORT N          send N datagrams (1 ms apart) to IP:PORT
  udp.py punch LOCAL IP:PORT S   from a socket bound to LOCAL, send to IP:PORT
                                 every 100 ms for up to S seconds; status 0
                                 and "punched" as soon as a datagram from
                                 IP:PORT arrives (then answers it a few more
                                 times so that the other side sees one too),
                                 status 1 and "no answer" otherwise
"""
import socket
import sys
import time


def main():
    a = sys.argv[1:]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if a[:1] == ["recv"]:
        s.bind(("0.0.0.0", int(a[1])))
        n = 0
        while True:
            s.settimeout(float(a[2]))
            try:
                s.recvfrom(2048)
                n += 1
            except socket.timeout:
                break
        print(n)
    elif a[:1] == ["send"]:
        for i in range(int(a[3])):
            s.sendto(b"lab %d" % i, (a[1], int(a[2])))
            time.sleep(0.001)
    elif a[:1] == ["punch"]:
        s.bind(("0.0.0.0", int(a[1])))
        host, _, port = a[2].partition(":")
        peer = (host, int(port))
        end = time.monotonic() + float(a[3])
        while time.monotonic() < end:
            s.sendto(b"punch", peer)
            s.settimeout(0.1)
            try:
                _, frm = s.recvfrom(2048)
            except socket.timeout:
                continue
            if frm == peer:
                for _ in range(10):
                    s.sendto(b"punch", peer)
                    time.sleep(0.05)
                print("punched")
                return 0
        print("no answer")
        return 1
    else:
        sys.exit(__doc__)
    return 0


sys.exit(main())
