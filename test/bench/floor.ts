// The design's floor for a macvlan+static ADD / CHECK / DEL (issue 10: "for a row that cannot pass,
// the measured floor that blocks it"). floorProbeSource() returns a small program that does, once
// each and in the cheapest way found, what any such command in nexthop's fixed design has to do
// before and around its own work, and nothing of nexthop's own logic:
//
//  - Bun's runtime starts (the executable is compiled with build.ts's own flags);
//  - the config is read from stdin and validated by a zod/mini schema of the macvlan+static shape
//    (zod validates every config: fixed by design);
//  - its addresses, gateways and destinations are parsed by ip-address (fixed by design), with the
//    same per-family imports src/ip.ts uses;
//  - libc is bound through bun:ffi with only the calls a command makes (socket, sendto, recvfrom,
//    open, setns, read, write, close);
//  - the pod netns (CNI_NETNS) is opened and entered and left again;
//  - the AssemblyScript codec (build/codec.wasm) is compiled and instantiated, one RTM_GETLINK
//    request is encoded by it, sent, and its answer parsed by it;
//  - a one-line answer is written to stdout and the process exits.
//
// The wasm bytes are inlined as base64, so no file is read and node:fs is never loaded; zod runs
// jitless without its locale (nexthop loads messages for its refusals). test/bench/bench.ts runs
// it alternated with the real commands (section 3a) and test/bench/budget.ts beside its pieces:
// what it takes is the least a command can take here, so where it alone exceeds a target, that
// target cannot pass inside the design on that machine, and by at least the difference.
import { readFileSync } from "node:fs";
import { join } from "node:path";

export function floorProbeSource(root: string): string {
  const wasm = readFileSync(join(root, "build/codec.wasm")).toString("base64");
  const at = (p: string) => JSON.stringify(join(root, p));
  // Bare specifiers resolved from the repository, so the program can be written anywhere.
  const mod = (spec: string) => JSON.stringify(Bun.resolveSync(spec, root));
  return `
import { dlopen, FFIType } from "bun:ffi";
import * as z from ${mod("zod/mini")};
import { Address4 } from ${mod("ip-address/dist/ipv4")};
import { Address6 } from ${mod("ip-address/dist/ipv6")};
import * as L from ${at("codec/layout.ts")};

const WASM = "${wasm}";
z.config({ jitless: true });
const c = dlopen("libc.so.6", {
  socket: { args: ["i32", "i32", "i32"], returns: "i32" },
  sendto: { args: ["i32", "ptr", "u64", "i32", "ptr", "u32"], returns: FFIType.i64_fast },
  recvfrom: { args: ["i32", "ptr", "u64", "i32", "ptr", "ptr"], returns: FFIType.i64_fast },
  open: { args: ["ptr", "i32"], returns: "i32" },
  setns: { args: ["i32", "i32"], returns: "i32" },
  read: { args: ["i32", "ptr", "u64"], returns: FFIType.i64_fast },
  write: { args: ["i32", "ptr", "u64"], returns: FFIType.i64_fast },
  close: { args: ["i32"], returns: "i32" },
}).symbols;
const fail = (what) => { console.error("floor probe: " + what); process.exit(1); };

// stdin
const chunks = [];
const buf = new Uint8Array(65536);
for (;;) {
  const n = Number(c.read(0, buf, buf.length));
  if (n < 0) fail("read stdin");
  if (n === 0) break;
  chunks.push(buf.slice(0, n));
}
const config = JSON.parse(Buffer.concat(chunks).toString("utf8"));

// zod
const address = z.looseObject({ address: z.string(), gateway: z.optional(z.string()) });
const route = z.looseObject({ dst: z.string(), gw: z.optional(z.string()) });
const schema = z.looseObject({
  cniVersion: z.string(), name: z.string(), type: z.string(), master: z.string(), mode: z.optional(z.string()),
  ipam: z.looseObject({ type: z.string(), addresses: z.optional(z.array(address)), routes: z.optional(z.array(route)) }),
  dns: z.optional(z.looseObject({ nameservers: z.optional(z.array(z.string())) })),
});
const conf = schema.parse(config);

// ip-address
const ip = (s) => (s.includes(":") ? new Address6(s) : new Address4(s));
let parsed = 0;
for (const a of conf.ipam.addresses ?? []) { ip(a.address); parsed++; if (a.gateway) { ip(a.gateway); parsed++; } }
for (const r of conf.ipam.routes ?? []) { ip(r.dst); parsed++; if (r.gw) { ip(r.gw); parsed++; } }

// the pod netns, entered and left
const cstr = (s) => Buffer.from(s + "\\0");
const CLONE_NEWNET = 0x40000000;
const O_RDONLY_CLOEXEC = 0o2000000;
const netns = process.env.CNI_NETNS;
const home = c.open(cstr("/proc/self/ns/net"), O_RDONLY_CLOEXEC);
const pod = netns ? c.open(cstr(netns), O_RDONLY_CLOEXEC) : -1;
if (home < 0 || (netns && pod < 0)) fail("open netns");
if (pod >= 0 && c.setns(pod, CLONE_NEWNET) !== 0) fail("setns into the pod");

// the codec and one netlink round trip
const x = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(WASM, "base64")), {}).exports;
const st = x.init();
if (st === 0) fail("codec init");
const fd = c.socket(16 /* AF_NETLINK */, 3 | 0o2000000 /* SOCK_RAW|SOCK_CLOEXEC */, 0 /* NETLINK_ROUTE */);
if (fd < 0) fail("socket");
const word = (off) => new DataView(x.memory.buffer).getUint32(st + off, true);
const len = x.encodeDump(18 /* RTM_GETLINK */, 1, 0);
if (Number(c.sendto(fd, new Uint8Array(x.memory.buffer, word(L.ST_REQUEST), len), len, 0, null, 0)) !== len) fail("sendto");
for (;;) {
  const n = Number(c.recvfrom(fd, new Uint8Array(x.memory.buffer, word(L.ST_RECV), L.RECV_SIZE), L.RECV_SIZE, 0, null, null));
  if (n <= 0) fail("recvfrom");
  const s = x.parse(n);
  if (s === L.STATUS_DONE) break;
  if (s !== L.STATUS_MORE) fail("parse status " + s);
}
const links = word(L.ST_LINK_COUNT);
c.close(fd);
if (pod >= 0 && c.setns(home, CLONE_NEWNET) !== 0) fail("setns back");
if (pod >= 0) c.close(pod);
c.close(home);

const out = Buffer.from(JSON.stringify({ parsed, links }) + "\\n");
c.write(1, out, out.length);
process.exit(0);
`;
}
