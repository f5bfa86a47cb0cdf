#!/usr/bin/env python3
"""Captures rtnetlink byte vectors from this machine's kernel for the codec tests.

    python3 test/codec/capture.py [--out test/codec/vectors]     (as root)

Creates two throw-away network namespaces (nhcap-<random>, nhcap-<random>-peer; both deleted on
exit, also on failure or SIGTERM), builds veth pairs, a macvlan and a bridge with addresses and
routes (IPv4 and IPv6, multipath with weights, a table > 255, metrics, IPv4 via an IPv6 gateway),
then writes, each under the command that produced it:

  route.txt    RTM_GETROUTE dumps (AF_INET, AF_INET6), datagram by datagram
  addr.txt     RTM_GETADDR dump
  link.txt     RTM_GETLINK dump
  error.txt    NLMSG_ERROR replies (ACK, errno, extended ack message and offset, capped)
  request.txt  the requests iproute2 sends for a list of commands (from strace -e write=all)

With --vrf (a kernel with vrf, i.e. the test VM: test/vm/run-in-vm.sh -w test/codec/vectors --
python3 test/codec/capture.py --vrf) only vrf.txt: link and route dumps of a VRF with two
enslaved devices and routes in its table.

Vector file format: `# ...` comments; `@ <name> <description>` starts a block; every other line
is hex bytes (whitespace between bytes allowed) with an optional trailing `# comment`. Each
datagram is annotated message by message and attribute by attribute, decoded by this script
(independently of the codec under test).
"""
import argparse
import ctypes
import os
import re
import secrets
import signal
import socket
import struct
import subprocess
import sys
import tempfile

NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
CLONE_NEWNET = 0x40000000

NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK = 1, 2, 4
NLM_F_DUMP = 0x300
NLM_F_CREATE, NLM_F_EXCL = 0x400, 0x200
RTM = {16: "RTM_NEWLINK", 17: "RTM_DELLINK", 18: "RTM_GETLINK", 19: "RTM_SETLINK", 20: "RTM_NEWADDR",
       21: "RTM_DELADDR", 22: "RTM_GETADDR", 24: "RTM_NEWROUTE", 25: "RTM_DELROUTE", 26: "RTM_GETROUTE",
       2: "NLMSG_ERROR", 3: "NLMSG_DONE"}
AF = {0: "AF_UNSPEC", 2: "AF_INET", 10: "AF_INET6"}

RTA = {1: "RTA_DST", 2: "RTA_SRC", 3: "RTA_IIF", 4: "RTA_OIF", 5: "RTA_GATEWAY", 6: "RTA_PRIORITY",
       7: "RTA_PREFSRC", 8: "RTA_METRICS", 9: "RTA_MULTIPATH", 11: "RTA_FLOW", 12: "RTA_CACHEINFO",
       15: "RTA_TABLE", 16: "RTA_MARK", 18: "RTA_VIA", 20: "RTA_PREF", 22: "RTA_ENCAP", 23: "RTA_EXPIRES",
       30: "RTA_NH_ID"}
RTAX = {1: "RTAX_LOCK", 2: "RTAX_MTU", 3: "RTAX_WINDOW", 4: "RTAX_RTT", 8: "RTAX_ADVMSS", 10: "RTAX_HOPLIMIT"}
IFA = {1: "IFA_ADDRESS", 2: "IFA_LOCAL", 3: "IFA_LABEL", 4: "IFA_BROADCAST", 5: "IFA_ANYCAST",
       6: "IFA_CACHEINFO", 7: "IFA_MULTICAST", 8: "IFA_FLAGS", 9: "IFA_RT_PRIORITY", 11: "IFA_PROTO"}
IFLA = {1: "IFLA_ADDRESS", 2: "IFLA_BROADCAST", 3: "IFLA_IFNAME", 4: "IFLA_MTU", 5: "IFLA_LINK",
        6: "IFLA_QDISC", 7: "IFLA_STATS", 10: "IFLA_MASTER", 13: "IFLA_TXQLEN", 14: "IFLA_MAP",
        16: "IFLA_OPERSTATE", 17: "IFLA_LINKMODE", 18: "IFLA_LINKINFO", 19: "IFLA_NET_NS_PID",
        20: "IFLA_IFALIAS", 21: "IFLA_NUM_VF", 23: "IFLA_STATS64", 26: "IFLA_AF_SPEC", 27: "IFLA_GROUP",
        28: "IFLA_NET_NS_FD", 29: "IFLA_EXT_MASK", 30: "IFLA_PROMISCUITY", 31: "IFLA_NUM_TX_QUEUES",
        32: "IFLA_NUM_RX_QUEUES", 33: "IFLA_CARRIER", 35: "IFLA_CARRIER_CHANGES", 37: "IFLA_LINK_NETNSID",
        39: "IFLA_PROTO_DOWN", 40: "IFLA_GSO_MAX_SEGS", 41: "IFLA_GSO_MAX_SIZE", 43: "IFLA_XDP",
        47: "IFLA_CARRIER_UP_COUNT", 48: "IFLA_CARRIER_DOWN_COUNT", 50: "IFLA_MIN_MTU", 51: "IFLA_MAX_MTU",
        52: "IFLA_PROP_LIST", 54: "IFLA_PERM_ADDRESS", 56: "IFLA_PARENT_DEV_NAME", 57: "IFLA_PARENT_DEV_BUS_NAME",
        58: "IFLA_GRO_MAX_SIZE", 59: "IFLA_TSO_MAX_SIZE", 60: "IFLA_TSO_MAX_SEGS", 61: "IFLA_ALLMULTI",
        62: "IFLA_DEVLINK_PORT", 63: "IFLA_GSO_IPV4_MAX_SIZE", 64: "IFLA_GRO_IPV4_MAX_SIZE",
        65: "IFLA_DPLL_PIN", 66: "IFLA_MAX_PACING_OFFLOAD_HORIZON", 67: "IFLA_NETNS_IMMUTABLE",
        68: "IFLA_HEADROOM", 69: "IFLA_TAILROOM"}
IFLA_INFO = {1: "IFLA_INFO_KIND", 2: "IFLA_INFO_DATA", 3: "IFLA_INFO_XSTATS", 4: "IFLA_INFO_SLAVE_KIND",
             5: "IFLA_INFO_SLAVE_DATA"}
NLMSGERR = {1: "NLMSGERR_ATTR_MSG", 2: "NLMSGERR_ATTR_OFFS", 3: "NLMSGERR_ATTR_COOKIE",
            4: "NLMSGERR_ATTR_POLICY", 5: "NLMSGERR_ATTR_MISS_TYPE", 6: "NLMSGERR_ATTR_MISS_NEST"}


def sh(cmd, check=True):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
    return r


# ------------------------------------------------------------------------------------------------
# annotation


def hexs(b):
    return " ".join(f"{x:02x}" for x in b)


def ip_text(b):
    if len(b) == 4:
        return socket.inet_ntop(socket.AF_INET, b)
    if len(b) == 16:
        return socket.inet_ntop(socket.AF_INET6, b)
    return b.hex()


def emit_bytes(out, b, comment, indent):
    """One annotated item: its bytes, 16 per line, the comment on the first line."""
    pad = "  " * indent
    for k in range(0, max(len(b), 1), 16):
        chunk = hexs(b[k:k + 16])
        if k == 0:
            out.append(f"{pad}{chunk:<47}  # {comment}" if comment else f"{pad}{chunk}")
        else:
            out.append(f"{pad}{chunk}")


def attrs(b):
    """(type, payload, raw incl. padding) for each attribute; stops at anything malformed."""
    off = 0
    while off + 4 <= len(b):
        n, t = struct.unpack_from("<HH", b, off)
        if n < 4 or off + n > len(b):
            break
        end = min(len(b), off + ((n + 3) & ~3))
        yield t & 0x3FFF, b[off + 4:off + n], b[off:end]
        off = end


def describe_value(names, t, p):
    name = names.get(t, f"type {t}")
    if name in ("IFLA_IFNAME", "IFLA_QDISC", "IFA_LABEL", "IFLA_INFO_KIND", "IFLA_INFO_SLAVE_KIND",
                "NLMSGERR_ATTR_MSG", "IFLA_PARENT_DEV_NAME", "IFLA_PARENT_DEV_BUS_NAME", "IFLA_IFALIAS"):
        return f'{name} "{p.rstrip(bytes(1)).decode(errors="replace")}"'
    if len(p) == 4 and not name.endswith(("_ADDRESS", "_LOCAL", "_BROADCAST", "_DST", "_GATEWAY", "_PREFSRC")):
        return f"{name} {struct.unpack('<I', p)[0]}"
    if len(p) == 2:
        return f"{name} u16 {struct.unpack('<H', p)[0]}"
    if len(p) == 1:
        return f"{name} u8 {p[0]}"
    if len(p) in (4, 16):
        return f"{name} {ip_text(p)}"
    return f"{name} ({len(p)} bytes)"


def annotate_route_attrs(out, b, family, indent):
    for t, p, raw in attrs(b):
        name = RTA.get(t, f"type {t}")
        if t == 9:  # RTA_MULTIPATH
            emit_bytes(out, raw[:4], f"{name} len={len(p) + 4}", indent)
            off = 0
            while off + 8 <= len(p):
                ln, fl, hops, ifi = struct.unpack_from("<HBBi", p, off)
                if ln < 8 or off + ln > len(p):
                    break
                emit_bytes(out, p[off:off + 8],
                           f"rtnexthop len={ln} flags={fl} hops={hops} (weight {hops + 1}) ifindex={ifi}", indent + 1)
                annotate_route_attrs(out, p[off + 8:off + ln], family, indent + 2)
                off += (ln + 3) & ~3
        elif t == 8:  # RTA_METRICS
            emit_bytes(out, raw[:4], f"{name} len={len(p) + 4}", indent)
            for t2, p2, raw2 in attrs(p):
                emit_bytes(out, raw2, describe_value(RTAX, t2, p2), indent + 1)
        elif t == 18:  # RTA_VIA
            fam = struct.unpack_from("<H", p)[0]
            emit_bytes(out, raw, f"{name} family={AF.get(fam, fam)} {ip_text(p[2:])}", indent)
        elif t == 12:
            emit_bytes(out, raw, f"{name} struct rta_cacheinfo {struct.unpack('<8I', p[:32]) if len(p) >= 32 else ''}",
                       indent)
        else:
            emit_bytes(out, raw, describe_value(RTA, t, p), indent)


def annotate_message(out, m):
    ln, typ, flags, seq, pid = struct.unpack_from("<IHHII", m)
    name = RTM.get(typ, f"type {typ}")
    emit_bytes(out, m[:16], f"nlmsghdr len={ln} type={name} flags=0x{flags:x} seq={seq} pid={pid}", 0)
    body = m[16:]
    if typ in (24, 25, 26) and len(body) >= 12:
        fam, dl, sl, tos, table, proto, scope, rtype, fl = struct.unpack_from("<8BI", body)
        emit_bytes(out, body[:12], f"rtmsg family={AF.get(fam, fam)} dst_len={dl} src_len={sl} tos={tos} "
                   f"table={table} protocol={proto} scope={scope} type={rtype} flags=0x{fl:x}", 0)
        annotate_route_attrs(out, body[12:], fam, 1)
    elif typ in (20, 21, 22) and len(body) >= 8:
        fam, plen, fl, scope, idx = struct.unpack_from("<4BI", body)
        emit_bytes(out, body[:8], f"ifaddrmsg family={AF.get(fam, fam)} prefixlen={plen} flags=0x{fl:x} "
                   f"scope={scope} index={idx}", 0)
        for t, p, raw in attrs(body[8:]):
            if t == 6 and len(p) == 16:
                emit_bytes(out, raw, "IFA_CACHEINFO struct ifa_cacheinfo prefered=%d valid=%d cstamp=%d tstamp=%d"
                           % struct.unpack("<4I", p), 1)
            else:
                emit_bytes(out, raw, describe_value(IFA, t, p), 1)
    elif typ in (16, 17, 18, 19) and len(body) >= 16:
        fam, _, itype, idx, fl, ch = struct.unpack_from("<BBHiII", body)
        emit_bytes(out, body[:16], f"ifinfomsg family={AF.get(fam, fam)} type={itype} index={idx} "
                   f"flags=0x{fl:x} change=0x{ch:x}", 0)
        for t, p, raw in attrs(body[16:]):
            if t == 18:  # IFLA_LINKINFO
                emit_bytes(out, raw[:4], f"IFLA_LINKINFO len={len(p) + 4}", 1)
                for t2, p2, raw2 in attrs(p):
                    if t2 == 2:
                        emit_bytes(out, raw2[:4], f"IFLA_INFO_DATA len={len(p2) + 4}", 2)
                        for t3, p3, raw3 in attrs(p2):
                            emit_bytes(out, raw3, describe_value({}, t3, p3), 3)
                    else:
                        emit_bytes(out, raw2, describe_value(IFLA_INFO, t2, p2), 2)
            elif t == 1 and len(p) != 4 and len(p) != 16:
                emit_bytes(out, raw, f"IFLA_ADDRESS {':'.join(f'{x:02x}' for x in p)}", 1)
            elif t == 16 and len(p) == 1:
                emit_bytes(out, raw, f"IFLA_OPERSTATE u8 {p[0]}", 1)
            else:
                emit_bytes(out, raw, describe_value(IFLA, t, p), 1)
    elif typ == NLMSG_ERROR and len(body) >= 20:
        err = struct.unpack_from("<i", body)[0]
        emit_bytes(out, body[:4], f"nlmsgerr error={err}" + (" (ACK)" if err == 0 else f" (-{os.strerror(-err)})"), 0)
        oln, otyp, ofl, oseq, opid = struct.unpack_from("<IHHII", body, 4)
        emit_bytes(out, body[4:20], f"original nlmsghdr len={oln} type={RTM.get(otyp, otyp)} flags=0x{ofl:x} seq={oseq}",
                   1)
        rest = body[20:]
        capped = flags & 0x100
        if not capped:
            orig = rest[:((oln - 16 + 3) & ~3)]
            emit_bytes(out, orig, "rest of the original request", 1)
            rest = rest[len(orig):]
        if flags & 0x200:
            for t, p, raw in attrs(rest):
                emit_bytes(out, raw, describe_value(NLMSGERR, t, p), 1)
    elif typ == NLMSG_DONE:
        emit_bytes(out, body, f"NLMSG_DONE error={struct.unpack_from('<i', body)[0] if len(body) >= 4 else 0}", 0)
    else:
        emit_bytes(out, body, "payload", 0)


def messages(dgram):
    off = 0
    while off + 16 <= len(dgram):
        ln = struct.unpack_from("<I", dgram, off)[0]
        if ln < 16 or off + ln > len(dgram):
            break
        yield dgram[off:off + ln]
        off += (ln + 3) & ~3


def block(out, name, description, dgram):
    out.append(f"@ {name} {description}")
    for k, m in enumerate(messages(dgram)):
        out.append(f"# message {k + 1}")
        annotate_message(out, m)
    out.append("")


# ------------------------------------------------------------------------------------------------
# netlink from python, inside the namespace

libc = ctypes.CDLL(None, use_errno=True)


class InNetns:
    def __init__(self, name):
        self.path = f"/var/run/netns/{name}"

    def __enter__(self):
        self.home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        fd = os.open(self.path, os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns")
        finally:
            os.close(fd)

    def __exit__(self, *exc):
        libc.setns(self.home, CLONE_NEWNET)
        os.close(self.home)


def nl_socket(cap_ack=False):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    s.bind((0, 0))
    s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
    if cap_ack:
        s.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
    return s


def dump(s, typ, family, seq):
    hdrlen = {26: 12, 22: 8, 18: 16}[typ]
    body = bytes([family]) + bytes(hdrlen - 1)
    s.send(struct.pack("<IHHII", 16 + hdrlen, typ, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body)
    out = []
    while True:
        d = s.recv(1 << 20)
        out.append(d)
        if any(struct.unpack_from("<H", m, 4)[0] in (NLMSG_DONE, NLMSG_ERROR) for m in messages(d)):
            return out


def request(s, msg):
    s.send(msg)
    return s.recv(1 << 16)


def rta(t, payload):
    n = 4 + len(payload)
    return struct.pack("<HH", n, t) + payload + bytes((4 - n % 4) % 4)


def route_msg(seq, dst, dst_len, attrs_bytes, flags=NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL):
    body = struct.pack("<8BI", 2, dst_len, 0, 0, 254, 3, 253, 1, 0) + rta(1, socket.inet_aton(dst)) + attrs_bytes
    return struct.pack("<IHHII", 16 + len(body), 24, flags, seq, 0) + body


# ------------------------------------------------------------------------------------------------
# iproute2 requests, from strace


def strace_requests(ns, cmd, expect_ok=True):
    """Runs `ip` in the netns under strace; returns (rc, stderr, [sent buffers])."""
    with tempfile.NamedTemporaryFile(prefix="nhcap-strace-", suffix=".txt", delete=False) as f:
        trace = f.name
    try:
        r = sh(["ip", "netns", "exec", ns, "strace", "-qq", "-o", trace, "-e", "trace=sendmsg,sendto",
                "-e", "write=all"] + cmd, check=False)
        if expect_ok and r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.strip()}")
        bufs, cur = [], None
        with open(trace) as t:
            for line in t:
                if line.startswith(("sendmsg(", "sendto(")):
                    cur = bytearray()
                    bufs.append(cur)
                    continue
                m = re.match(r"\s*\|\s*[0-9a-f]{5}\s+((?:[0-9a-f]{2}\s{1,2})+)", line)
                if m and cur is not None:
                    cur.extend(bytes.fromhex(m.group(1).replace(" ", "")))
        return r.returncode, r.stderr.strip(), [bytes(b) for b in bufs]
    finally:
        os.unlink(trace)


# ------------------------------------------------------------------------------------------------


SETUP = [
    # namespace-local links with fixed indexes, so that tests can name them
    "ip link add veth0 index 10 type veth peer name veth1 index 11",
    "ip link add veth2 index 12 type veth peer name vpeer index 13 netns {peer}",
    "ip link add veth4 index 14 type veth peer name veth5 index 15",
    "ip link add mv0 index 20 link veth1 type macvlan mode bridge",
    "ip link add br0 index 30 type bridge",
    "ip link set veth5 master br0",
    "ip link set lo up",
    "ip link set veth0 up", "ip link set veth1 up", "ip link set veth2 up", "ip link set veth4 up",
    "ip link set veth5 up", "ip link set mv0 up", "ip link set br0 up",
    "ip -n {peer} link set vpeer up",
    "ip addr add 10.0.0.1/24 dev veth0",
    "ip addr add 10.0.1.1/24 dev veth2",
    "ip addr add 10.0.2.1/24 brd + dev veth4 label veth4:lbl",
    "ip -6 addr add 2001:db8::1/64 dev veth0 nodad",
    "ip -6 addr add 2001:db8:1::1/64 dev veth2 nodad",
    "ip -6 addr add 2001:db8:2::1/64 dev veth4 nodad preferred_lft 300 valid_lft 600",
]

ROUTES = [
    "ip route add 192.0.2.0/24 via 10.0.0.2 dev veth0 metric 100",
    "ip route add 198.51.100.0/24 nexthop via 10.0.0.2 dev veth0 weight 1 nexthop via 10.0.1.2 dev veth2 weight 3",
    "ip route add 203.0.113.0/24 table 1000 metric 50 nexthop via 10.0.0.2 dev veth0 weight 2 nexthop via 10.0.1.2 dev veth2 weight 1",
    "ip route add 100.64.0.0/16 via inet6 2001:db8::2 dev veth0",
    "ip route add 100.65.0.0/16 table 1000 nexthop via inet6 2001:db8::2 dev veth0 nexthop via 10.0.1.2 dev veth2 weight 2",
    "ip route add 100.66.0.0/16 via 10.0.0.2 dev veth0 mtu 1400 advmss 1360 src 10.0.0.1 proto static",
    "ip route add 100.67.0.0/16 dev veth2 scope link",
    "ip route add default via 10.0.0.2 dev veth0",
    "ip -6 route add 2001:db8:100::/48 nexthop via 2001:db8::2 dev veth0 weight 1 nexthop via 2001:db8:1::2 dev veth2 weight 2",
    "ip -6 route add 2001:db8:200::/48 table 1000 metric 50 nexthop via 2001:db8::2 dev veth0 nexthop via 2001:db8:1::2 dev veth2",
    "ip -6 route add 2001:db8:300::/48 via 2001:db8::2 dev veth0 metric 10 pref high mtu 1300 advmss 1200",
    "ip -6 route add 2001:db8:400::/48 via fe80::2 dev veth2",
    "ip -6 route add default via 2001:db8::2 dev veth0",
]

# (name, command, kind of comparison the test makes, expected to succeed on this kernel)
REQUESTS = [
    ("route4-single", "ip route add 192.0.2.64/26 metric 100 via 10.0.0.2 dev veth0", True),
    ("route4-multipath-table", "ip route add table 1000 198.51.100.64/26 metric 20 nexthop via 10.0.0.2 dev veth0 weight 1 nexthop via 10.0.1.2 dev veth2 weight 3", True),
    ("route4-via6", "ip route add 100.70.0.0/16 via inet6 2001:db8::2 dev veth0", True),
    ("route4-multipath-via6", "ip route add 100.71.0.0/16 nexthop via inet6 2001:db8::2 dev veth0 nexthop via 10.0.1.2 dev veth2 weight 2", True),
    ("route4-metrics", "ip route add 100.72.0.0/16 via 10.0.0.2 dev veth0 mtu 1400 advmss 1360 src 10.0.0.1 proto static", True),
    ("route4-device", "ip route add 100.73.0.0/16 dev veth2", True),
    ("route4-default", "ip route add default via 10.0.1.2 dev veth2 table 1002", True),
    ("route6-multipath-table", "ip -6 route add table 1000 2001:db8:500::/48 metric 50 nexthop via 2001:db8::2 dev veth0 weight 1 nexthop via 2001:db8:1::2 dev veth2 weight 2", True),
    ("route6-pref-mtu", "ip -6 route add 2001:db8:600::/48 via 2001:db8::2 dev veth0 metric 10 pref high mtu 1300", True),
    ("route4-del", "ip route del 192.0.2.64/26 metric 100 via 10.0.0.2 dev veth0", True),
    ("route6-del-sibling", "ip -6 route del table 1000 2001:db8:500::/48 metric 50 nexthop via 2001:db8:1::2 dev veth2", True),
    ("addr4", "ip addr add 10.0.5.1/24 dev veth4", True),
    ("addr4-brd-label", "ip addr add 10.0.6.1/24 brd + dev veth4 label veth4:x", True),
    ("addr6-nodad", "ip -6 addr add 2001:db8:5::1/64 dev veth4 nodad", True),
    ("addr4-del", "ip addr del 10.0.5.1/24 dev veth4", True),
    ("link-macvlan", "ip link add mv1 index 21 link veth1 type macvlan mode bridge", True),
    ("link-mtu", "ip link set dev veth4 mtu 1400", True),
    ("link-up", "ip link set dev veth4 up", True),
    ("link-nomaster", "ip link set dev veth5 nomaster", True),
    ("link-master", "ip link set dev veth5 master br0", True),
    ("link-del", "ip link del mv1", True),
    # this kernel has no vrf / ipvlan: the kernel refuses them, the request bytes are still iproute2's
    ("link-vrf", "ip link add vrf-blue type vrf table 1001", False),
    ("link-ipvlan", "ip link add ipv0 link veth1 type ipvlan mode l3 private", False),
]


# --vrf (needs a kernel with vrf: run it in the test VM): a VRF with an enslaved veth and dummy,
# routes in its table (multipath with weights, src, metrics), written to vrf.txt
VRF_SETUP = [
    "ip link add veth0 index 10 type veth peer name veth1 index 11",
    "ip link add dum0 index 12 type dummy",
    "ip link add vrf-blue index 40 type vrf table 1001",
    "ip link set lo up", "ip link set veth0 up", "ip link set veth1 up", "ip link set dum0 up",
    "ip link set vrf-blue up",
    "ip addr add 198.51.100.10/24 dev veth0",
    "ip addr add 192.0.2.10/24 dev dum0",
    "ip -6 addr add 2001:db8:1::10/64 dev veth0 nodad",
    "ip link set veth0 master vrf-blue",
    "ip link set dum0 master vrf-blue",
    "ip -6 addr add 2001:db8:1::10/64 dev veth0 nodad",
    "ip route add default table 1001 nexthop via 198.51.100.1 dev veth0 weight 1 nexthop via 198.51.100.2 dev veth0 weight 3",
    "ip route add 10.20.0.0/16 table 1001 via 192.0.2.1 dev dum0 onlink metric 77 mtu 1400 advmss 1360 src 192.0.2.10 proto static",
    "ip -6 route add default table 1001 nexthop via 2001:db8:1::1 dev veth0 weight 1 nexthop via 2001:db8:1::2 dev veth0 weight 3",
]


def capture_vrf(ns, outdir):
    uname = os.uname().release
    ipv = sh(["ip", "-V"]).stdout.strip()
    for cmd in VRF_SETUP:
        run_in(ns, None, cmd)
    with InNetns(ns):
        s = nl_socket()
        ln = dump(s, 18, socket.AF_UNSPEC, 1)
        r4 = dump(s, 26, socket.AF_INET, 2)
        r6 = dump(s, 26, socket.AF_INET6, 3)
        s.close()
    out = header("RTM_GETLINK and RTM_GETROUTE dumps of a namespace with a VRF (vrf-blue, table 1001)",
                 uname, ipv, VRF_SETUP)
    for name, desc, dgram in ([(f"link.{k + 1}", f"RTM_GETLINK dump AF_UNSPEC, datagram {k + 1}", d) for k, d in enumerate(ln)] +
                              [(f"route4.{k + 1}", f"RTM_GETROUTE dump AF_INET, datagram {k + 1}", d) for k, d in enumerate(r4)] +
                              [(f"route6.{k + 1}", f"RTM_GETROUTE dump AF_INET6, datagram {k + 1}", d) for k, d in enumerate(r6)]):
        block(out, name, desc, dgram)
    with open(os.path.join(outdir, "vrf.txt"), "w") as f:
        f.write("\n".join(out))
    print(f"wrote {os.path.join(outdir, 'vrf.txt')}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors"))
    ap.add_argument("--vrf", action="store_true", help="only vrf.txt (a kernel with vrf: the test VM)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("capture.py: needs root (network namespaces)")
    os.makedirs(args.out, exist_ok=True)

    ns = f"nhcap-{secrets.token_hex(4)}"
    peer = f"{ns}-peer"
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    created = []
    try:
        for name in (ns, peer):
            sh(["ip", "netns", "add", name])
            created.append(name)
        if args.vrf:
            capture_vrf(ns, args.out)
        else:
            capture(ns, peer, args.out)
    finally:
        for name in created:
            subprocess.run(["ip", "netns", "del", name], stderr=subprocess.DEVNULL)


def run_in(ns, peer, cmd):
    argv = cmd.format(peer=peer).split()
    if argv[:2] == ["ip", "-n"]:
        sh(argv)
    else:
        sh(["ip", "-n", ns] + argv[1:])


def header(title, uname, ipv, lines):
    out = [f"# {title}", f"# Captured on Linux {uname} by test/codec/capture.py ({ipv}).",
           "# Setup, in a throw-away netns (\"peer\" is a second one; ifindexes are fixed):"]
    out += [f"#   {line}" for line in lines]
    out.append("")
    return out


def capture(ns, peer, outdir):
    uname = os.uname().release
    ipv = sh(["ip", "-V"]).stdout.strip()
    for cmd in SETUP + ROUTES:
        run_in(ns, peer, cmd)

    with InNetns(ns):
        s = nl_socket()
        r4 = dump(s, 26, socket.AF_INET, 1)
        r6 = dump(s, 26, socket.AF_INET6, 2)
        ad = dump(s, 22, socket.AF_UNSPEC, 3)
        ln = dump(s, 18, socket.AF_UNSPEC, 4)
        errs = []
        # ACK of a good request (capped: no original message, no TLVs)
        ok = route_msg(100, "100.68.0.0", 16, rta(4, struct.pack("<I", 10)))
        errs.append(("ack", "RTM_NEWROUTE 100.68.0.0/16 dev veth0 (index 10), NLM_F_ACK -> ACK", request(s, ok)))
        # the same again -> EEXIST, full original request echoed (no NETLINK_CAP_ACK)
        errs.append(("eexist", "the same RTM_NEWROUTE again -> EEXIST, original request echoed",
                     request(s, ok[:8] + struct.pack("<I", 101) + ok[12:])))
        # host bits set -> EINVAL with an extended ack message
        bad = route_msg(102, "10.9.0.5", 24, rta(4, struct.pack("<I", 10)))
        errs.append(("einval-msg", "RTM_NEWROUTE 10.9.0.5/24 dev veth0 (host bits set) -> EINVAL + NLMSGERR_ATTR_MSG",
                     request(s, bad)))
        # 3-byte RTA_GATEWAY -> policy violation: message, offset of the attribute, policy
        pol = route_msg(103, "100.69.0.0", 16, rta(5, b"\x0a\x00\x00") + rta(4, struct.pack("<I", 10)))
        errs.append(("erange-offs", "RTM_NEWROUTE with a 3-byte RTA_GATEWAY -> ERANGE + MSG + OFFS + POLICY",
                     request(s, pol)))
        s.close()
        s = nl_socket(cap_ack=True)
        errs.append(("eexist-capped", "NETLINK_CAP_ACK socket: RTM_NEWROUTE 100.68.0.0/16 again -> EEXIST, capped",
                     request(s, ok[:8] + struct.pack("<I", 104) + ok[12:])))
        errs.append(("erange-capped", "NETLINK_CAP_ACK socket: 3-byte RTA_GATEWAY -> ERANGE, capped, with TLVs",
                     request(s, pol[:8] + struct.pack("<I", 105) + pol[12:])))
        s.close()

    setup_lines = [c.format(peer="peer") for c in SETUP + ROUTES]

    def write(fname, title, blocks, extra_lines=None):
        out = header(title, uname, ipv, setup_lines + (extra_lines or []))
        for name, desc, dgram in blocks:
            block(out, name, desc, dgram)
        with open(os.path.join(outdir, fname), "w") as f:
            f.write("\n".join(out))
        print(f"wrote {os.path.join(outdir, fname)} ({len(blocks)} blocks)")

    write("route.txt", "RTM_GETROUTE dumps (struct rtmsg family set, everything else 0, NLM_F_REQUEST|NLM_F_DUMP)",
          [(f"route4.{k + 1}", f"RTM_GETROUTE dump AF_INET, datagram {k + 1}", d) for k, d in enumerate(r4)] +
          [(f"route6.{k + 1}", f"RTM_GETROUTE dump AF_INET6, datagram {k + 1}", d) for k, d in enumerate(r6)])
    write("addr.txt", "RTM_GETADDR dump, AF_UNSPEC",
          [(f"addr.{k + 1}", f"RTM_GETADDR dump AF_UNSPEC, datagram {k + 1}", d) for k, d in enumerate(ad)])
    write("link.txt", "RTM_GETLINK dump, AF_UNSPEC",
          [(f"link.{k + 1}", f"RTM_GETLINK dump AF_UNSPEC, datagram {k + 1}", d) for k, d in enumerate(ln)])
    write("error.txt", "NLMSG_ERROR replies to requests sent from a NETLINK_EXT_ACK socket",
          [(f"error.{n}", d, g) for n, d, g in errs])

    # iproute2's requests, last: they change the namespace
    blocks = []
    for name, cmd, expect_ok in REQUESTS:
        argv = cmd.split()
        rc, err, bufs = strace_requests(ns, argv, expect_ok)
        wanted = [b for b in bufs if len(b) >= 16 and struct.unpack_from("<H", b, 4)[0] in (16, 17, 19, 20, 21, 24, 25)]
        if not wanted:
            raise RuntimeError(f"{cmd}: no RTM_NEW/DEL request seen in strace output")
        result = "ok" if rc == 0 else f"refused by this kernel: {err}"
        blocks.append((f"req.{name}", f"{cmd}   [{result}]", wanted[-1]))
    write("request.txt", "Requests iproute2 sends (strace -e trace=sendmsg -e write=all ip ...), in this order",
          blocks)


if __name__ == "__main__":
    main()
