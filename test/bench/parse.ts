// The codec's parse alone, without the socket: a 100,000-route IPv4 dump (the shape of bench.ts
// section 2: half the routes 2-nexthop multipath) is captured once from a netns, then its
// datagrams are replayed through parse() of one or more builds of the codec, alternating, so two
// builds are compared on the same bytes under the same load. Also checks that every build gives
// the same row tables and re-emits the same bytes for every row (route, link, address and
// neighbour dumps of that netns, IPv6 included), and times the live dump into each build against
// bench.ts's raw receive loop, alternating. Root only (it creates and removes one netns).
//
//   bun test/bench/parse.ts [a.wasm b.wasm ...]      (default: build/codec.wasm)
//   NEXTHOP_PARSE_N=30 rounds per build (default 20)
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as L from "../../codec/layout.ts";
import {
  AF_INET, AF_NETLINK, AF_UNSPEC, NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK, NETLINK_ROUTE, NLMSG_DONE, NLMSG_ERROR,
  RTM_GETADDR, RTM_GETLINK, RTM_GETROUTE, SOCK_CLOEXEC, SOCK_RAW, SOL_NETLINK, SOL_SOCKET, SO_RCVBUFFORCE,
} from "../../src/netlink/constants";
import { check, errno, libc, SyscallError } from "../../src/netlink/libc";
import { withNetns } from "../../src/netlink/netns";
import { createNetns, sh } from "../lib/netns";

const ROOT = join(import.meta.dir, "../..");
const ROUTES = 100_000;
const RTM_GETNEIGH = 30;
const N = Number(process.env.NEXTHOP_PARSE_N ?? 20);
const wasms = process.argv.slice(2).length ? process.argv.slice(2) : [join(ROOT, "build/codec.wasm")];

interface Wasm {
  memory: WebAssembly.Memory;
  init(): number;
  reset(): void;
  parse(len: number): number;
  reencodeRoute(i: number): number;
  reencodeLink(i: number): number;
  reencodeAddr(i: number): number;
  reencodeNeigh(i: number): number;
}

function buildTable(ns: string): void {
  const ip = (args: string) => sh(["ip", "-n", ns, ...args.split(" ")]);
  ip("link add rt0 type veth peer name rt0p");
  ip("link add rt1 type veth peer name rt1p");
  ip("addr add 198.18.0.1/24 dev rt0");
  ip("addr add 198.18.1.1/24 dev rt1");
  ip("addr add 2001:db8:0::1/64 dev rt0 nodad");
  ip("addr add 2001:db8:1::1/64 dev rt1 nodad");
  for (const l of ["rt0", "rt0p", "rt1", "rt1p"]) ip(`link set ${l} up`);
  const lines: string[] = [];
  const base = (100 << 24) | (64 << 16);
  for (let i = 0; i < ROUTES; i++) {
    const a = (base + i * 16) >>> 0;
    const dst = `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/28`;
    lines.push(i < ROUTES / 2
      ? `route add ${dst} nexthop via 198.18.0.2 dev rt0 nexthop via 198.18.1.2 dev rt1`
      : `route add ${dst} via 198.18.${i % 2}.2 dev rt${i % 2}`);
  }
  // a few IPv6 routes and neighbours (cacheinfo, pref, metrics, multipath), for the equality check
  for (let i = 0; i < 64; i++) {
    lines.push(i % 2
      ? `route add 2001:db8:100:${i.toString(16)}::/64 via 2001:db8:0::2 dev rt0 metric ${i} mtu 1400 pref high`
      : `route add 2001:db8:100:${i.toString(16)}::/64 nexthop via 2001:db8:0::2 dev rt0 nexthop via 2001:db8:1::2 dev rt1 weight 3`);
  }
  lines.push("route add 100.127.0.0/24 via 198.18.0.2 dev rt0 src 198.18.0.1 metric 7 mtu 1300 advmss 1200 table 1234");
  lines.push("neigh add 198.18.0.9 lladdr 02:00:00:00:00:09 dev rt0");
  lines.push("neigh add 2001:db8::9 lladdr 02:00:00:00:00:0a dev rt0");
  const file = `/tmp/nh-parse-${process.pid}.batch`;
  writeFileSync(file, lines.join("\n") + "\n");
  try {
    sh(["ip", "-n", ns, "-batch", file]);
  } finally {
    rmSync(file, { force: true });
  }
}

/** A NETLINK_ROUTE socket in the netns, with the options NetlinkSocket.open sets. */
function open(path: string): number {
  return withNetns(path, () => {
    const fd = check("socket", () => libc().socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    const opt = (level: number, name: number, v: number) => check("setsockopt", () => libc().setsockopt(fd, level, name, new Int32Array([v]), 4));
    opt(SOL_NETLINK, NETLINK_EXT_ACK, 1);
    opt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1);
    opt(SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20);
    check("bind", () => libc().bind(fd, SA, 12));
    return fd;
  });
}

const SA = new Uint8Array(12);
new DataView(SA.buffer).setUint16(0, AF_NETLINK, true);

function request(fd: number, type: number, family: number): void {
  const hdr = type === RTM_GETLINK ? 16 : type === RTM_GETADDR ? 8 : 12;
  const req = new Uint8Array(16 + hdr);
  const q = new DataView(req.buffer);
  q.setUint32(0, req.length, true);
  q.setUint16(4, type, true);
  q.setUint16(6, 0x301, true);
  q.setUint32(8, 1, true);
  req[16] = family;
  check("sendto", () => libc().sendto(fd, req, req.length, 0, SA, 12));
}

function recv(fd: number, buf: Uint8Array): number {
  for (;;) {
    const got = Number(libc().recvfrom(fd, buf, buf.length, 0, null, null));
    if (got >= 0) return got;
    if (errno() !== 4) throw new SyscallError("recvfrom", errno());
  }
}

/** One dump's datagrams, as received. */
function capture(path: string, type: number, family: number): Uint8Array[] {
  {
    const fd = open(path);
    try {
      request(fd, type, family);
      const buf = new Uint8Array(L.RECV_SIZE);
      const dv = new DataView(buf.buffer);
      const out: Uint8Array[] = [];
      for (;;) {
        const got = recv(fd, buf);
        out.push(buf.slice(0, got));
        for (let off = 0; off + 16 <= got; off += (dv.getUint32(off, true) + 3) & ~3) {
          const t = dv.getUint16(off + 4, true);
          if (t === NLMSG_ERROR) throw new Error(`dump ${type} failed: ${dv.getInt32(off + 16, true)}`);
          if (t === NLMSG_DONE) return out;
          if (dv.getUint32(off, true) < 16) throw new Error("bad nlmsg_len");
        }
      }
    } finally {
      libc().close(fd);
    }
  }
}

/** (a) of bench.ts: the dump received into a 64 KiB buffer, nlmsghdr walk only; ms. */
function liveRaw(path: string, buf: Uint8Array): number {
  const fd = open(path);
  try {
    const dv = new DataView(buf.buffer);
    const t = performance.now();
    request(fd, RTM_GETROUTE, AF_INET);
    for (;;) {
      const got = recv(fd, buf);
      for (let off = 0; off + 16 <= got; off += (dv.getUint32(off, true) + 3) & ~3) {
        if (dv.getUint16(off + 4, true) === NLMSG_DONE) return performance.now() - t;
      }
    }
  } finally {
    libc().close(fd);
  }
}

/** The dump received straight into a build's receive region and parsed (the exports alone); ms. */
function liveCodec(path: string, w: { x: Wasm; st: number }): number {
  const fd = open(path);
  try {
    const { x, st } = w;
    const t = performance.now();
    x.reset();
    request(fd, RTM_GETROUTE, AF_INET);
    for (;;) {
      const view = new Uint8Array(x.memory.buffer, new DataView(x.memory.buffer).getUint32(st + L.ST_RECV, true), L.RECV_SIZE);
      const s = x.parse(recv(fd, view));
      if (s === L.STATUS_DONE) return performance.now() - t;
      if (s !== L.STATUS_MORE) throw new Error(`parse status ${s}`);
    }
  } finally {
    libc().close(fd);
  }
}

function instantiate(file: string): { x: Wasm; st: number } {
  const x = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(file)), {}).exports as unknown as Wasm;
  const st = x.init();
  if (!st) throw new Error(`${file}: init failed`);
  return { x, st };
}

/** Replays the datagrams; returns the ms spent inside parse() (copies into the region excluded). */
function replay(w: { x: Wasm; st: number }, grams: Uint8Array[]): number {
  const { x, st } = w;
  x.reset();
  let ms = 0;
  for (const g of grams) {
    const recv = new DataView(x.memory.buffer).getUint32(st + L.ST_RECV, true);
    new Uint8Array(x.memory.buffer, recv, g.length).set(g);
    const t = performance.now();
    const s = x.parse(g.length);
    ms += performance.now() - t;
    if (s !== L.STATUS_MORE && s !== L.STATUS_DONE) throw new Error(`parse status ${s}`);
  }
  return ms;
}

/** Everything a parse left: the row tables' bytes and each row's re-emitted message. */
function fingerprint(w: { x: Wasm; st: number }, grams: Uint8Array[]): string[] {
  replay(w, grams);
  const { x, st } = w;
  const word = (off: number) => new DataView(x.memory.buffer).getUint32(st + off, true);
  const out: string[] = [];
  const tables = [
    [L.ST_ROUTE_BASE, L.ROUTE_ROW, "reencodeRoute"], [L.ST_NH_BASE, L.NEXTHOP_ROW, ""],
    [L.ST_LINK_BASE, L.LINK_ROW, "reencodeLink"], [L.ST_ADDR_BASE, L.ADDR_ROW, "reencodeAddr"],
    [L.ST_NEIGH_BASE, L.NEIGH_ROW, "reencodeNeigh"],
  ] as const;
  for (const [off, size, re] of tables) {
    const count = word(off + 4);
    out.push(`${off}:${count}:${Bun.hash(new Uint8Array(x.memory.buffer, word(off), count * size))}`);
    if (!re) continue;
    const h: (number | bigint)[] = [];
    for (let i = 0; i < count; i++) {
      const n = x[re](i);
      h.push(Bun.hash(new Uint8Array(x.memory.buffer, word(L.ST_REQUEST), n)));
    }
    out.push(`${re}:${Bun.hash(h.join(","))}`);
  }
  return out;
}

const med = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];

using ns = createNetns("nh-parse-");
const t0 = performance.now();
buildTable(ns.name);
const v4 = capture(ns.path, RTM_GETROUTE, AF_INET);
const all = [
  ...capture(ns.path, RTM_GETROUTE, AF_UNSPEC), ...capture(ns.path, RTM_GETLINK, AF_UNSPEC),
  ...capture(ns.path, RTM_GETADDR, AF_UNSPEC), ...capture(ns.path, RTM_GETNEIGH, AF_UNSPEC),
];
const bytes = v4.reduce((s, g) => s + g.length, 0);
console.log(`captured ${v4.length} datagrams (${(bytes / 1e6).toFixed(2)} MB) of the AF_INET route dump in ${(performance.now() - t0).toFixed(0)} ms`);

const builds = wasms.map((f) => ({ f, w: instantiate(f), size: readFileSync(f).length, ms: [] as number[] }));
const prints = builds.map((b) => {
  try {
    return fingerprint(b.w, all).join(" ");
  } catch (e) {
    return `unreadable with this layout.ts: ${(e as Error).message}`; // a build of another layout
  }
});
const same = prints.every((p) => p === prints[0]);
for (let i = 0; i < 3; i++) for (const b of builds) replay(b.w, v4); // warm-up (and table growth)
for (let i = 0; i < N; i++) {
  for (const b of i % 2 ? [...builds].reverse() : builds) {
    Bun.gc(true);
    b.ms.push(replay(b.w, v4));
  }
}
// The same builds on the live dump, alternating with the raw loop: bench.ts's ratio (b)/(a)
// for each build under the same load (without the wrapper's JS around parse()).
const rawBuf = new Uint8Array(64 * 1024);
const raws: number[] = [];
const lives = builds.map(() => [] as number[]);
for (let i = 0; i < 3; i++) { liveRaw(ns.path, rawBuf); builds.forEach((b) => liveCodec(ns.path, b.w)); }
for (let i = 0; i < N; i++) {
  const order = [-1, ...builds.keys()];
  for (const k of i % 2 ? order.reverse() : order) {
    Bun.gc(true);
    if (k < 0) raws.push(liveRaw(ns.path, rawBuf));
    else lives[k].push(liveCodec(ns.path, builds[k].w));
  }
}
console.log(`live dump, raw recv loop (64 KiB, header walk): min ${Math.min(...raws).toFixed(2)} / median ${med(raws).toFixed(2)} ms`);
builds.forEach((b, k) => {
  console.log(`live dump into ${b.f}: min ${Math.min(...lives[k]).toFixed(2)} / median ${med(lives[k]).toFixed(2)} ms; median ratio to the raw loop ${(med(lives[k]) / med(raws)).toFixed(3)}`);
});
for (const b of builds) {
  console.log(`${b.f}: ${b.size} B wasm; parse of ${ROUTES} routes: min ${Math.min(...b.ms).toFixed(2)} / median ${med(b.ms).toFixed(2)} ms over ${N} rounds`);
}
if (builds.length > 1) {
  console.log(`median ratio ${builds.slice(1).map((b) => (med(b.ms) / med(builds[0].ms)).toFixed(3)).join(", ")} (vs the first); min ratio ${builds.slice(1).map((b) => (Math.min(...b.ms) / Math.min(...builds[0].ms)).toFixed(3)).join(", ")}`);
}
console.log(`rows and re-emitted bytes of route/link/addr/neigh dumps identical across builds: ${same ? "yes" : "NO"}`);
if (!same) process.exitCode = 1;
