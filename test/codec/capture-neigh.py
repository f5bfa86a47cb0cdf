#!/usr/bin/env python3
"""Captures neighbour (RTM_*NEIGH) vectors from this machine's kernel for the codec tests.

    python3 test/codec/capture-neigh.py [--out test/codec/vectors]     (as root)

In a throw-away netns (nhcap-<random>, deleted on exit): veth0/veth1 up, 10.9.0.1/24 and
2001:db8:9::1/64 on veth0, then the entries listed in SETUP. Writes vectors/neigh.txt:
RTM_GETNEIGH dump replies (AF_INET, AF_INET6), datagram by datagram, and the requests iproute2
sends for the commands in REQUESTS (strace), each under the command that produced it, annotated
message by message (decoded here, independently of the codec under test). Same file format and
helpers as capture.py.
"""
import argparse
import os
import secrets
import signal
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import capture as cap  # noqa: E402

NDA = {1: "NDA_DST", 2: "NDA_LLADDR", 3: "NDA_CACHEINFO", 4: "NDA_PROBES", 12: "NDA_PROTOCOL", 15: "NDA_FLAGS_EXT"}
NEIGH_TYPES = {28: "RTM_NEWNEIGH", 29: "RTM_DELNEIGH", 30: "RTM_GETNEIGH", 2: "NLMSG_ERROR", 3: "NLMSG_DONE"}

SETUP = [
    "ip link add veth0 index 10 type veth peer name veth1 index 11",
    "ip link set veth0 up",
    "ip link set veth1 up",
    "ip addr add 10.9.0.1/24 dev veth0",
    "ip addr add 2001:db8:9::1/64 dev veth0 nodad",
    "ip neigh add 10.9.0.2 dev veth0 managed extern_learn",
    "ip neigh add 10.9.0.3 dev veth0 lladdr 02:00:00:00:00:03 nud permanent",
    "ip neigh add 10.9.0.5 dev veth0 lladdr 02:00:00:00:00:05 nud stale extern_learn protocol 42",
    "ip -6 neigh add 2001:db8:9::2 dev veth0 managed extern_learn",
]

REQUESTS = [
    ("add4-managed", "ip neigh add 10.9.0.4 dev veth0 managed extern_learn"),
    ("add6-managed", "ip -6 neigh add 2001:db8:9::4 dev veth0 managed extern_learn"),
    ("del4", "ip neigh del 10.9.0.4 dev veth0"),
    ("replace4-lladdr", "ip neigh replace 10.9.0.6 dev veth0 lladdr 02:00:00:00:00:06 nud reachable"),
]


def annotate(out, m):
    ln, typ, flags, seq, pid = struct.unpack_from("<IHHII", m)
    cap.emit_bytes(out, m[:16], f"nlmsghdr len={ln} type={NEIGH_TYPES.get(typ, typ)} flags=0x{flags:x} seq={seq} pid={pid}", 0)
    body = m[16:]
    if typ in (28, 29, 30) and len(body) >= 12:
        fam, _, _, idx, state, fl, ntype = struct.unpack_from("<BBHiHBB", body)
        cap.emit_bytes(out, body[:12], f"ndmsg family={cap.AF.get(fam, fam)} ifindex={idx} state=0x{state:x} flags=0x{fl:x} type={ntype}", 0)
        for t, p, raw in cap.attrs(body[12:]):
            if t == 1:
                desc = f"NDA_DST {cap.ip_text(p)}"
            elif t == 2:
                desc = "NDA_LLADDR " + ":".join(f"{b:02x}" for b in p)
            elif t == 3 and len(p) == 16:
                desc = "NDA_CACHEINFO confirmed=%d used=%d updated=%d refcnt=%d" % struct.unpack("<4I", p)
            elif t in (4, 15) and len(p) == 4:
                desc = f"{NDA[t]} {struct.unpack('<I', p)[0]}"
            elif t == 12 and len(p) == 1:
                desc = f"NDA_PROTOCOL {p[0]}"
            else:
                desc = f"type {t} ({len(p)} bytes)"
            cap.emit_bytes(out, raw, desc, 1)
    elif len(body):
        cap.emit_bytes(out, body, "payload", 0)


def block(out, name, description, dgram):
    out.append(f"@ {name} {description}")
    for k, m in enumerate(cap.messages(dgram)):
        out.append(f"# message {k + 1}")
        annotate(out, m)
    out.append("")


def dump(s, family, seq):
    s.send(struct.pack("<IHHII", 28, 30, cap.NLM_F_REQUEST | cap.NLM_F_DUMP, seq, 0) + bytes([family]) + bytes(11))
    out = []
    while True:
        d = s.recv(1 << 20)
        out.append(d)
        if any(struct.unpack_from("<H", m, 4)[0] in (cap.NLMSG_DONE, cap.NLMSG_ERROR) for m in cap.messages(d)):
            return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("capture-neigh.py: needs root (network namespaces)")
    ns = f"nhcap-{secrets.token_hex(4)}"
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    cap.sh(["ip", "netns", "add", ns])
    try:
        for c in SETUP:
            cap.sh(["ip", "-n", ns] + c.split()[1:])
        with cap.InNetns(ns):
            s = cap.nl_socket()
            d4 = dump(s, 2, 1)
            d6 = dump(s, 10, 2)
            s.close()
        out = [f"# RTM_GETNEIGH dumps and iproute2's neighbour requests",
               f"# Captured on Linux {os.uname().release} by test/codec/capture-neigh.py ({cap.sh(['ip', '-V']).stdout.strip()}).",
               "# Setup, in a throw-away netns:"] + [f"#   {c}" for c in SETUP] + [""]
        for k, d in enumerate(d4):
            block(out, f"neigh4.{k + 1}", f"RTM_GETNEIGH dump AF_INET, datagram {k + 1}", d)
        for k, d in enumerate(d6):
            block(out, f"neigh6.{k + 1}", f"RTM_GETNEIGH dump AF_INET6, datagram {k + 1}", d)
        for name, cmd in REQUESTS:
            rc, err, bufs = cap.strace_requests(ns, cmd.split())
            wanted = [b for b in bufs if len(b) >= 16 and struct.unpack_from("<H", b, 4)[0] in (28, 29)]
            if not wanted:
                raise RuntimeError(f"{cmd}: no RTM_NEWNEIGH/DELNEIGH request seen")
            block(out, f"req.{name}", f"{cmd}   [ok]", wanted[-1])
        path = os.path.join(args.out, "neigh.txt")
        with open(path, "w") as f:
            f.write("\n".join(out))
        print(f"wrote {path}")
    finally:
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
