#!/usr/bin/env python3
"""UDP flows for the multipath traffic tests (test/net/multipath.test.ts). Bounded in count and time.

  flows.py recv PORT SECONDS
      Receives on [::]:PORT (IPv4 and IPv6) for SECONDS, then prints one JSON document:
      {"flows": {"<flow>": [[t, ifname, src], ...]}} where t is the sender's CLOCK_MONOTONIC send
      time (same clock in every netns of the host), ifname the interface the packet came in on.
  flows.py send DST PORT FLOWS RATE SECONDS [BIND]
      Sends from FLOWS sockets (distinct source ports) to DST:PORT, each RATE packets/s, for
      SECONDS; with BIND, every socket is bound to that source address first.
      Prints {"sent": N, "start": t0} when done.
Flow ids are "<family>-<index>" so one receiver serves both families.
"""
import json
import select
import socket
import struct
import sys
import time

MAX_PACKETS = 200000
IP_PKTINFO = 8  # linux/in.h (not exported by every Python build)


def recv(port: int, seconds: float) -> None:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
    s.setsockopt(socket.SOL_IP, IP_PKTINFO, 1)
    s.bind(("::", port))
    print("ready", file=sys.stderr, flush=True)
    names = {}
    flows = {}
    end = time.monotonic() + seconds
    n = 0
    while n < MAX_PACKETS:
        left = end - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([s], [], [], left)
        if not r:
            continue
        data, anc, _, addr = s.recvmsg(256, 256)
        n += 1
        ifindex = 0
        for level, typ, val in anc:
            if level == socket.IPPROTO_IPV6 and typ == socket.IPV6_PKTINFO:
                ifindex = struct.unpack("16sI", val[:20])[1]
            elif level == socket.SOL_IP and typ == IP_PKTINFO:
                ifindex = struct.unpack("I", val[:4])[0]
        if ifindex not in names:
            try:
                names[ifindex] = socket.if_indextoname(ifindex)
            except OSError:
                names[ifindex] = str(ifindex)
        try:
            flow, sent = data.decode().split()
        except ValueError:
            continue
        src = addr[0][7:] if addr[0].startswith("::ffff:") else addr[0]
        flows.setdefault(flow, []).append([round(float(sent), 4), names[ifindex], src])
    print(json.dumps({"flows": flows}))


def send(dst: str, port: int, count: int, rate: float, seconds: float, bind: str | None) -> None:
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    tag = "v6" if fam == socket.AF_INET6 else "v4"
    socks = []
    for _ in range(min(count, 256)):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind((bind or ("::" if fam == socket.AF_INET6 else "0.0.0.0"), 0))
        socks.append(s)
    period = 1.0 / max(0.5, min(rate, 100.0))
    start = time.monotonic()
    end = start + min(seconds, 120.0)
    sent = 0
    tick = start
    while time.monotonic() < end:
        for i, s in enumerate(socks):
            try:
                s.sendto(f"{tag}-{i} {time.monotonic():.4f}".encode(), (dst, port))
                sent += 1
            except OSError:
                pass  # no route / unreachable for a moment: the receiver sees the gap
        tick += period
        delay = tick - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    print(json.dumps({"sent": sent, "start": start}))


if __name__ == "__main__":
    if sys.argv[1] == "recv":
        recv(int(sys.argv[2]), float(sys.argv[3]))
    elif sys.argv[1] == "send":
        a = sys.argv[2:]
        send(a[0], int(a[1]), int(a[2]), float(a[3]), float(a[4]), a[5] if len(a) > 5 else None)
    else:
        sys.exit(f"unknown mode {sys.argv[1]}")
