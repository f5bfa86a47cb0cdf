// Shared pieces of the reliability sweep (issue 7): a world of throw-away namespaces, the plugin
// run exactly as a runtime runs it but from inside a throw-away "host" netns (so the host side can
// be compared before and after without other processes on this machine changing it), and the
// structured kernel state the sweep compares.
//
//   host netns  ── m0 (veth, the macvlan/ipvlan master) ── m0p (its peer, in the lan netns)
//   pod netns   ── eth0 (veth, peer in the lan netns) with 192.0.2.10/24 and 2001:db8:0:1::10/64,
//                  defaults via 192.0.2.1 / 2001:db8:0:1::1 (when `eth0`), which ADDs join
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { binary, cniEnv, pluginDir } from "../lib/cni";
import { createNetns, ipJson, sh, type Netns } from "../lib/netns";

export { binary };

export interface World {
  host: Netns;
  pod: Netns;
  lan: Netns;
  /** The master's name in the host netns. */
  master: string;
  /** Snapshots of host and pod the bad-input cases compare against. */
  baseline?: unknown[];
  dispose(): void;
}

function noDad(ns: Netns): void {
  sh(["ip", "netns", "exec", ns.name, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]);
}

/** Makes a world; `pods` extra pod netns share the host and its master. */
export function makeWorld(opts: { eth0?: boolean; dad?: boolean } = {}): World {
  const host = createNetns();
  const pod = createNetns();
  const lan = createNetns();
  if (!opts.dad) for (const ns of [host, pod, lan]) noDad(ns);
  sh(["ip", "-n", host.name, "link", "add", "m0", "type", "veth", "peer", "name", "m0p", "netns", lan.name]);
  // No addresses on the master (its link-local would appear asynchronously, racing the snapshots).
  sh(["ip", "netns", "exec", host.name, "sysctl", "-qw", "net.ipv6.conf.m0.disable_ipv6=1"]);
  sh(["ip", "-n", host.name, "link", "set", "m0", "up"]);
  sh(["ip", "-n", host.name, "link", "set", "lo", "up"]);
  sh(["ip", "-n", lan.name, "link", "set", "m0p", "up"]);
  if (opts.eth0) addEth0(pod, lan);
  return { host, pod, lan, master: "m0", dispose: () => [pod, host, lan].forEach((n) => n.delete()) };
}

let eth0Peers = 0;
/** Gives `pod` an eth0 with addresses and both defaults (peer in `lan`). */
export function addEth0(pod: Netns, lan: Netns): void {
  const peer = `e0p${eth0Peers++}`;
  sh(["ip", "link", "add", "eth0", "netns", pod.name, "type", "veth", "peer", "name", peer, "netns", lan.name]);
  sh(["ip", "-n", pod.name, "addr", "add", "192.0.2.10/24", "dev", "eth0"]);
  sh(["ip", "-n", pod.name, "addr", "add", "2001:db8:0:1::10/64", "dev", "eth0", "nodad"]);
  sh(["ip", "-n", pod.name, "link", "set", "eth0", "up"]);
  sh(["ip", "-n", lan.name, "link", "set", peer, "up"]);
  sh(["ip", "-n", pod.name, "route", "add", "default", "via", "192.0.2.1", "dev", "eth0"]);
  sh(["ip", "-n", pod.name, "-6", "route", "add", "default", "via", "2001:db8:0:1::1", "dev", "eth0"]);
}

// ------------------------------------------------------------------------------------------------
// Structured state

const LINK_KEYS = ["ifname", "link_type", "address", "mtu", "master", "link", "txqlen"] as const;

/** Links, addresses and the routes of every table in both families, as structures. */
export function snapshot(ns: Netns): unknown {
  const links = (ipJson(["-d", "link", "show"], ns.name) as any[]).map((l) => {
    const o: Record<string, unknown> = {};
    for (const k of LINK_KEYS) if (l[k] !== undefined) o[k] = l[k];
    o.up = (l.flags ?? []).includes("UP");
    o.kind = l.linkinfo?.info_kind ?? "";
    o.mode = l.linkinfo?.info_data?.mode;
    return o;
  }).sort((a, b) => String(a.ifname).localeCompare(String(b.ifname)));
  const addrs = (ipJson(["addr", "show"], ns.name) as any[]).flatMap((l) =>
    (l.addr_info ?? []).map((a: any) => ({ dev: l.ifname, family: a.family, local: a.local, prefixlen: a.prefixlen, broadcast: a.broadcast, scope: a.scope })),
  ).sort((a: any, b: any) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  const routes = ["-4", "-6"].flatMap((f) =>
    (ipJson([f, "route", "show", "table", "all"], ns.name) as any[]).map((r) => {
      const { expires, cache, ...rest } = r;
      void expires;
      void cache;
      return { family: f, ...rest };
    }),
  ).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  return { links, addrs, routes };
}

/** Names of links in `ns` that nexthop made: CNI ifnames given, or temporary names (nh + 12 hex). */
export function nexthopLinks(ns: Netns, ifnames: string[]): string[] {
  return (ipJson(["link", "show"], ns.name) as any[]).map((l) => l.ifname as string)
    .filter((n) => ifnames.includes(n) || /^nh[0-9a-f]{12}$/.test(n) || /^veth[0-9a-f]{8}$/.test(n));
}

// ------------------------------------------------------------------------------------------------
// Running the plugin from inside the host netns

let bin: ReturnType<typeof pluginDir> | undefined;
export function plugins(): string {
  return (bin ??= pluginDir()).dir;
}
export function disposePlugins(): void {
  bin?.dispose();
  bin = undefined;
}

export interface Call {
  plugin: string;
  command: string;
  config: unknown;
  netns?: string;
  ifname?: string;
  containerId?: string;
  args?: string;
  /** Replaces the whole CNI environment (for protocol cases). */
  env?: Record<string, string>;
  extraEnv?: Record<string, string>;
  cwd?: string;
}

export function callEnv(c: Call): Record<string, string> {
  return c.env ?? cniEnv({ ...c, cniPath: plugins() }, { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", containerId: "nh-rel" });
}

/** argv running the plugin inside the host netns (nsenter: the plugin's own netns is `host`). */
export function argvIn(host: Netns | undefined, plugin: string): string[] {
  const exe = join(plugins(), plugin);
  return host ? ["nsenter", `--net=${host.path}`, exe] : [exe];
}

export interface Out {
  exitCode: number;
  signal?: string;
  stdout: string;
  stderr: string;
}

export function call(host: Netns | undefined, c: Call): Out {
  const stdin = typeof c.config === "string" ? c.config : JSON.stringify(c.config);
  const r = Bun.spawnSync(argvIn(host, c.plugin), { env: callEnv(c), cwd: c.cwd, stdin: Buffer.from(stdin), stdout: "pipe", stderr: "pipe" });
  return { exitCode: r.exitCode ?? -1, signal: r.signalCode ? String(r.signalCode) : undefined, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** The spawn of `call`, not waited for (kill sweep, concurrency). */
export function start(host: Netns | undefined, c: Call) {
  const stdin = typeof c.config === "string" ? c.config : JSON.stringify(c.config);
  return Bun.spawn(argvIn(host, c.plugin), { env: callEnv(c), stdin: Buffer.from(stdin), stdout: "pipe", stderr: "pipe" });
}

export async function finish(p: ReturnType<typeof start>): Promise<Out> {
  const [stdout, stderr] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  const exitCode = await p.exited;
  return { exitCode, signal: p.signalCode ? String(p.signalCode) : undefined, stdout, stderr };
}

/**
 * Whether stdout is exactly one CNI error object (code, msg, optional details; nothing else) in
 * Go's layout; returns why not, or undefined.
 */
export function oneErrorObject(stdout: string): string | undefined {
  let v: any;
  try {
    v = JSON.parse(stdout);
  } catch {
    return `stdout is not one JSON document: ${JSON.stringify(stdout.slice(0, 300))}`;
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "not an object";
  const keys = Object.keys(v);
  if (keys.some((k) => !["code", "msg", "details"].includes(k))) return `unexpected keys ${keys.join(",")}`;
  if (typeof v.code !== "number" || typeof v.msg !== "string") return "code/msg missing";
  // Go's encoder escapes <, > and & (and U+2028/2029).
  const again = JSON.stringify(v, null, 4).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  if (stdout !== again) return `stdout holds more than the error object: ${JSON.stringify(stdout.slice(0, 300))}`;
  return undefined;
}

/** Number of entries in the lock directory (nexthop's only files). */
export function lockFiles(): number {
  try {
    return readdirSync("/run/nexthop").length;
  } catch {
    return 0;
  }
}

/** Prints one figure line of the sweep, readable in the test output. */
export function figure(text: string): void {
  process.stdout.write(`[reliability] ${text}\n`);
}

// ------------------------------------------------------------------------------------------------
// The bad-input table, run

import type { BadCase } from "./cases";

/** Runs one bad case in `w`; returns what was wrong with the outcome (empty: it behaved). */
export function runBadCase(w: World, k: BadCase): string[] {
  const command = k.command ?? k.env?.CNI_COMMAND ?? "ADD";
  // Taken once and kept while nothing changes (every case leaves both netns as they were).
  const before = command === "ADD" ? (w.baseline ??= [snapshot(w.host), snapshot(w.pod)]) : undefined;
  const netns = k.netns ?? w.pod.path;
  const env = k.env
    ? Object.fromEntries(Object.entries({ PATH: "/usr/sbin:/usr/bin:/sbin:/bin", ...k.env }).map(([n, v]) => [n, v === "@pod" ? w.pod.path : v === "@bin" ? plugins() : v]))
    : undefined;
  const out = call(w.host, { plugin: k.plugin, command, config: k.config, netns, ifname: k.ifname, containerId: k.containerId, args: k.args, env });
  const wrong: string[] = [];
  if (out.exitCode !== 1) wrong.push(`exit ${out.exitCode}${out.signal ? ` (${out.signal})` : ""}`);
  const shape = oneErrorObject(out.stdout);
  if (shape) wrong.push(shape);
  else {
    const e = JSON.parse(out.stdout);
    if (e.code !== k.code) wrong.push(`code ${e.code}, expected ${k.code} (${e.msg})`);
    const text = `${e.msg} ${e.details ?? ""}`;
    // Nothing was done before any of these failures, so nothing can be left half undone.
    if (text.includes("rollback incomplete")) wrong.push(`claims an incomplete rollback: ${JSON.stringify(text)}`);
    for (const n of k.names) if (!text.includes(n)) wrong.push(`message does not name ${JSON.stringify(n)}: ${JSON.stringify(e.msg)}${e.details ? ` details ${JSON.stringify(e.details)}` : ""}`);
  }
  if (before) {
    const after = [snapshot(w.host), snapshot(w.pod)];
    if (JSON.stringify(after[0]) !== JSON.stringify(before[0])) wrong.push(`host netns changed: ${JSON.stringify(after[0])}`);
    if (JSON.stringify(after[1]) !== JSON.stringify(before[1])) wrong.push(`pod netns changed: ${JSON.stringify(after[1])}`);
    w.baseline = after;
  }
  return wrong;
}

/**
 * One ADD, CHECK, DEL and VERSION of macvlan `config` in `w` with `extraEnv` added to the
 * environment (and `cwd`): what each printed, the pod's state after ADD without what is random per
 * ADD, and the nexthop links among `ifnames` left after DEL. The environment tests compare it
 * with the same cycle run clean.
 */
export function envCycle(w: World, config: Record<string, unknown>, o: { extraEnv: Record<string, string>; cwd?: string; containerId: string; ifnames: string[] }) {
  const c = (command: string, cfg: unknown = config) =>
    call(w.host, { plugin: "macvlan", command, config: cfg, netns: w.pod.path, extraEnv: o.extraEnv, cwd: o.cwd, containerId: o.containerId });
  const add = c("ADD");
  let result: any;
  try {
    result = JSON.parse(add.stdout);
  } catch {}
  const joined = snapshot(w.pod);
  const check = result ? c("CHECK", { ...config, prevResult: result }) : undefined;
  const del = c("DEL");
  const version = c("VERSION");
  if (result?.interfaces) for (const i of result.interfaces) delete i.mac;
  return {
    add: { exitCode: add.exitCode, result },
    joined: anonymous(joined),
    check: check && { exitCode: check.exitCode, stdout: check.stdout },
    del: { exitCode: del.exitCode, stdout: del.stdout },
    version: { exitCode: version.exitCode, stdout: version.stdout },
    left: nexthopLinks(w.pod, o.ifnames),
  };
}

/** A snapshot without what is random per ADD: the MAC and so the link-local address. */
function anonymous(state: any): string {
  const strip = (x: unknown) => JSON.stringify(x).replace(/"address":"[0-9a-f:]{17}"/g, "").replace(/fe80::[0-9a-f:]+/g, "fe80::");
  return JSON.stringify(Object.fromEntries(Object.entries(state).map(([k, v]) => [k, (v as unknown[]).map(strip).sort()])));
}
