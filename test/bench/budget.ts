// Start-up budget (issue 10): where the milliseconds of `static` VERSION and of a macvlan+static
// ADD / CHECK / DEL go. `npm run budget` (builds first); NEXTHOP_BUDGET_N=runs per measurement
// (default 30); NEXTHOP_BUDGET_EXE=another executable to measure. Root, the host's netns for the
// master link (as test/bench/bench.ts), a throw-away sink netns and one fresh pod netns per cycle, all removed at the end. Writes
// test-results/budget.md. Three views, each printed as a table:
//
//  1. Whole-process wall and CPU time (test/bench/timer.c, fork to wait4) of small executables
//     compiled with build.ts's flags, each adding one piece to an empty program (`export {}`, the
//     runtime floor), beside the real commands: what each piece costs on its own.
//  2. System calls of one real ADD, CHECK and DEL under `strace -f -T -yy`: netlink round trips,
//     sysctl writes, netns switches, the result's write, with the time spent inside them.
//  3. The compiled executable's own CPU profile (BUN_OPTIONS=--cpu-prof-md, which src/guard.ts
//     lets through), self time summed by where the code comes from, averaged over the runs.
//     Sampling adds overhead and misses short functions: shares, not exact milliseconds.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { COMPILE_FLAGS } from "../../build.ts";
import { floorProbeSource } from "./floor.ts";

const ROOT = join(import.meta.dir, "../..");
// NEXTHOP_BUDGET_EXE: another build to measure (e.g. an older commit's), instead of dist/nexthop
const DIST = process.env.NEXTHOP_BUDGET_EXE ?? join(ROOT, "dist/nexthop");
const N = Math.max(3, Number(process.env.NEXTHOP_BUDGET_N ?? 30));
const TAG = `nhbud${process.pid % 100000}`;
const PARENT = `${TAG}m`;
const PEER = `${TAG}p`;
const SINK = `${TAG}-sink`;
const PATH_ENV = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" };

const work = mkdtempSync(join(tmpdir(), "nh-budget-"));
const netnsLeft = new Set<string>();
const out: string[] = [];
const say = (s = "") => {
  console.log(s);
  out.push(s);
};

function sh(cmd: string[], opts: { env?: Record<string, string>; input?: string } = {}): string {
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: "utf8", env: opts.env ?? process.env, input: opts.input });
  if (r.status !== 0) throw new Error(`${cmd.join(" ")} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}

function cleanup(): void {
  for (const ns of netnsLeft) spawnSync("ip", ["netns", "delete", ns]);
  netnsLeft.clear();
  spawnSync("ip", ["link", "delete", PARENT]);
  rmSync(work, { recursive: true, force: true });
}
process.on("SIGINT", () => {
  cleanup();
  process.exit(130);
});

// ------------------------------------------------------------------------------------------------
// timing

interface Timed { exit: number; wall: number; cpu: number; rss: number }

let TIMER = "";
function timed(argv: string[], env: Record<string, string>, stdin?: string): Timed {
  const args = [TIMER];
  if (stdin) args.push("-i", stdin);
  args.push("-o", join(work, "out"), "-e", join(work, "err"), "--", ...argv);
  const line = sh(args, { env }).trim();
  const kv = Object.fromEntries(line.split(" ").map((p) => p.split("=")).map(([k, v]) => [k, Number(v)]));
  return { exit: kv.exit, wall: kv.wall_us / 1000, cpu: kv.cpu_us / 1000, rss: kv.maxrss_kb / 1024 };
}

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "–");

function mdTable(head: string[], rows: string[][]): string[] {
  return [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)];
}

// ------------------------------------------------------------------------------------------------
// 1. probes

const src = (p: string) => JSON.stringify(join(ROOT, p));

/** Each probe adds one piece to the empty program; compiled with build.ts's flags. */
const PROBES: { name: string; what: string; code: string }[] = [
  { name: "floor", what: "runtime floor: `export {}`", code: "export {};\n" },
  { name: "guard", what: "environment check (src/guard.ts), no runtime variable set: process.env only",
    code: `import { neutraliseRuntimeEnvironment } from ${src("src/guard.ts")};\nneutraliseRuntimeEnvironment();\n` },
  { name: "fs", what: "node:fs loaded (one statSync)", code: `import { statSync } from "node:fs";\nstatSync("/");\n` },
  { name: "zod", what: "zod/mini loaded, a static-like schema built and one config parsed",
    code: `import { z } from ${src("src/cni/zod.ts")};\n` +
      `const s = z.looseObject({ type: z.string(), addresses: z.optional(z.array(z.looseObject({ address: z.string(), gateway: z.optional(z.string()) }))), ` +
      `routes: z.optional(z.array(z.looseObject({ dst: z.string(), gw: z.optional(z.string()) }))) });\n` +
      `s.parse({ type: "static", addresses: [{ address: "10.0.0.2/24", gateway: "10.0.0.1" }], routes: [{ dst: "0.0.0.0/0" }] });\n` },
  { name: "ip", what: "ip-address: one IPv4 and one IPv6 CIDR parsed and printed (src/ip.ts)",
    code: `import { formatCIDR, parseCIDR } from ${src("src/ip.ts")};\nformatCIDR(parseCIDR("10.0.0.2/24")); formatCIDR(parseCIDR("2001:db8::2/64"));\n` },
  { name: "socket", what: "libc FFI binding + one netlink socket opened and closed",
    code: `import { NetlinkSocket } from ${src("src/netlink/socket.ts")};\nNetlinkSocket.open().close();\n` },
  { name: "dump", what: "the same + codec compile/instantiate + one link dump parsed",
    code: `import { NetlinkSocket } from ${src("src/netlink/socket.ts")};\nimport { listLinks } from ${src("src/netlink/link.ts")};\n` +
      `const s = NetlinkSocket.open(); listLinks(s); s.close();\n` },
  { name: "design", what: "the design floor (test/bench/floor.ts): runtime, zod, ip-address, FFI, netns, codec, one request, all in one",
    code: "" },
];

function buildProbes(): Map<string, string> {
  const exes = new Map<string, string>();
  for (const p of PROBES) {
    const file = join(work, `probe-${p.name}.ts`);
    writeFileSync(file, p.name === "design" ? floorProbeSource(ROOT) : p.code);
    const exe = join(work, `probe-${p.name}`);
    sh([process.execPath, "build", file, ...COMPILE_FLAGS, "--outfile", exe]);
    exes.set(p.name, exe);
  }
  return exes;
}

// ------------------------------------------------------------------------------------------------
// the real commands

function netConf() {
  return {
    cniVersion: "1.0.0", name: "nh-budget", type: "macvlan", master: PARENT, mode: "bridge",
    ipam: {
      type: "static",
      addresses: [
        { address: "198.51.100.10/24", gateway: "198.51.100.1" },
        { address: "2001:db8:a::10/64", gateway: "2001:db8:a::1" },
      ],
      routes: [{ dst: "0.0.0.0/0", gw: "198.51.100.1" }, { dst: "::/0", gw: "2001:db8:a::1" }],
    },
  };
}

function setupMaster(): void {
  sh(["ip", "netns", "add", SINK]);
  netnsLeft.add(SINK);
  sh(["ip", "link", "add", PARENT, "type", "veth", "peer", "name", PEER, "netns", SINK]);
  writeFileSync(`/proc/sys/net/ipv6/conf/${PARENT}/disable_ipv6`, "1");
  sh(["ip", "link", "set", PARENT, "up"]);
  sh(["ip", "-n", SINK, "link", "set", PEER, "up"]);
}

let podSeq = 0;
type Cmd = "ADD" | "CHECK" | "DEL";

/**
 * One ADD → CHECK → DEL cycle in a fresh pod netns (accept_dad=0, so no DAD wait is measured);
 * `run` executes each command and returns what it measured.
 */
function cycle<T>(dir: string, run: (cmd: Cmd, argv: string[], env: Record<string, string>, stdin: string) => T): Map<Cmd, T> {
  const ns = `${TAG}-pod${podSeq++}`;
  const got = new Map<Cmd, T>();
  sh(["ip", "netns", "add", ns]);
  netnsLeft.add(ns);
  try {
    sh(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]);
    const env = (cmd: Cmd) => ({ ...PATH_ENV, CNI_COMMAND: cmd, CNI_CONTAINERID: `nh-budget-${ns}`, CNI_NETNS: `/var/run/netns/${ns}`, CNI_IFNAME: "eth0", CNI_PATH: dir });
    const conf = netConf();
    const confFile = join(work, "net.json");
    writeFileSync(confFile, JSON.stringify(conf));
    const exe = join(dir, "macvlan");
    got.set("ADD", run("ADD", [exe], env("ADD"), confFile));
    const result = JSON.parse(readFileSync(join(work, "out"), "utf8"));
    const prev = join(work, "prev.json");
    writeFileSync(prev, JSON.stringify({ ...conf, prevResult: result }));
    got.set("CHECK", run("CHECK", [exe], env("CHECK"), prev));
    got.set("DEL", run("DEL", [exe], env("DEL"), prev));
  } finally {
    spawnSync("ip", ["netns", "delete", ns]);
    netnsLeft.delete(ns);
  }
  return got;
}

/** The timer's run of one command; throws when it failed. */
function timedOk(cmd: string, argv: string[], env: Record<string, string>, stdin: string): Timed {
  const t = timed(argv, env, stdin);
  if (t.exit !== 0) throw new Error(`${cmd} failed (exit ${t.exit}): ${readFileSync(join(work, "out"), "utf8")}${readFileSync(join(work, "err"), "utf8")}`);
  return t;
}

// ------------------------------------------------------------------------------------------------
// 2. strace

interface Calls { n: number; ms: number }

/** Counts and in-syscall time by what the call does, from `strace -f -T -yy` output. */
function classify(trace: string): Map<string, Calls> {
  const m = new Map<string, Calls>();
  const add = (k: string, us: number) => {
    const c = m.get(k) ?? { n: 0, ms: 0 };
    c.n++;
    c.ms += us / 1000;
    m.set(k, c);
  };
  for (const line of trace.split("\n")) {
    const t = /<(\d+\.\d+)>\s*$/.exec(line);
    if (!t) continue;
    const us = Number(t[1]) * 1e6;
    const call = /^(?:\[pid\s+\d+\]\s+|\d+\s+)?(\w+)\(/.exec(line)?.[1];
    if (!call) continue;
    const netlink = line.includes("NETLINK");
    if ((call === "sendto" || call === "sendmsg") && netlink) add("netlink request sent (sendto)", us);
    else if ((call === "recvfrom" || call === "recvmsg") && netlink) add("netlink answer received (recvfrom)", us);
    else if (call === "poll" || call === "ppoll") add("poll (waiting for a netlink answer)", us);
    else if (call === "socket" && line.includes("AF_NETLINK")) add("netlink socket opened", us);
    else if (call === "setns") add("netns switch (setns)", us);
    else if (call === "write" && /^\S*\s*write\(1[<,]/.test(line.replace(/^\[pid\s+\d+\]\s+|^\d+\s+/, ""))) add("result written (write to fd 1)", us);
    else if (call === "write" && line.includes("/proc/sys/")) add("sysctl written", us);
    else if ((call === "read" || call === "pread64") && line.includes("/proc/sys/")) add("sysctl read", us);
    else if (call === "flock") add("lock (flock)", us);
    else if (call === "execve") add("execve", us);
    else if (call === "mmap" || call === "munmap" || call === "mprotect" || call === "madvise" || call === "brk") add("memory (mmap, mprotect, madvise, brk)", us);
    else if (call === "openat" || call === "read" || call === "close" || call === "newfstatat" || call === "fstat" || call === "statx" || call === "readlink" || call === "access") add("files (openat, read, close, stat…)", us);
    else add("other", us);
  }
  return m;
}

/** The raw trace, kept beside the report (test-results/budget-strace-CMD.txt). */
function keepTrace(cmd: string, file: string): void {
  mkdirSync(join(ROOT, "test-results"), { recursive: true });
  copyFileSync(file, join(ROOT, `test-results/budget-strace-${cmd}.txt`));
}

// ------------------------------------------------------------------------------------------------
// 3. CPU profile buckets

const PROFILE_BUCKETS: [string, (fn: string, loc: string) => boolean][] = [
  ["zod (config validation)", (_f, l) => l.includes("node_modules/zod/")],
  ["ip-address (address parsing)", (_f, l) => l.includes("node_modules/ip-address/")],
  ["codec: wasm compile + instantiate + parse", (fn, l) => l.includes("src/netlink/codec") || l.startsWith("codec/") || /^(Module|Instance|instantiate|compile)$/.test(fn)],
  ["FFI: bun:ffi, dlopen, libc calls", (fn, l) => l.startsWith("bun:ffi") || fn === "dlopen" ||
    (l === "[native code]" && /^(socket|bind|sendto|recvfrom|setsockopt|getsockopt|poll|close|setns|flock|ioctl|open|read|write|execve|__errno_location|strerror)$/.test(fn))],
  ["netlink wrapper (src/netlink)", (_f, l) => l.startsWith("src/netlink/")],
  ["net: configure, routes, netns, sysctl (src/net)", (_f, l) => l.startsWith("src/net/")],
  ["plugins + static IPAM (src/plugins, src/ipam)", (_f, l) => l.startsWith("src/plugins/") || l.startsWith("src/ipam/")],
  ["protocol: skel, JSON, results (src/cni)", (_f, l) => l.startsWith("src/cni/")],
  ["entry, guard, main, ip.ts", (_f, l) => /^src\/(entry|guard|main|ip)\.ts/.test(l)],
  ["node builtins (node:fs, node:path, …)", (_f, l) => l.startsWith("node:") || l.startsWith("internal:")],
  ["bundle code without a source position (module top level, bundler helpers)", (_f, l) => l.startsWith("/$bunfs/")],
  ["runtime (native: module loading, JSON, strings, GC, …)", () => true],
];

function profileBuckets(dir: string): { runs: number; total: number; by: Map<string, number> } {
  const by = new Map<string, number>();
  let total = 0;
  const files = readdirSync(dir).filter((x) => x.endsWith(".md"));
  for (const file of files) {
    const text = readFileSync(join(dir, file), "utf8");
    const hot = text.split("## Hot Functions (Self Time)")[1]?.split("\n## ")[0] ?? "";
    for (const line of hot.split("\n")) {
      const m = /^\|\s*[\d.]+%\s*\|\s*([\d.]+)(us|ms|s)\s*\|.*?\|\s*`([^`]*)`\s*\|\s*`([^`]*)`\s*\|/.exec(line);
      if (!m) continue;
      const ms = Number(m[1]) * (m[2] === "us" ? 0.001 : m[2] === "s" ? 1000 : 1);
      const bucket = PROFILE_BUCKETS.find(([, test]) => test(m[3], m[4]))![0];
      by.set(bucket, (by.get(bucket) ?? 0) + ms);
      total += ms;
    }
  }
  const runs = files.length;
  for (const [k, v] of by) by.set(k, v / Math.max(1, runs));
  return { runs, total: total / Math.max(1, runs), by };
}

// ------------------------------------------------------------------------------------------------

function main(): void {
  if (process.getuid?.() !== 0) throw new Error("budget needs root (netns, macvlan)");
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run \`bun build.ts\` (npm run budget does)`);
  const started = Date.now();
  const rev = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).stdout.trim();
  say(`nexthop start-up budget ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC: ${cpus().length} vCPU (${cpus()[0]?.model.trim()}), ` +
    `kernel ${sh(["uname", "-r"]).trim()}, bun ${Bun.version}, nexthop ${rev}; N=${N} runs per row, medians`);

  TIMER = join(work, "timer");
  const cc = spawnSync("gcc", ["-O2", "-static", "-o", TIMER, join(import.meta.dir, "timer.c")]);
  if (cc.status !== 0) sh(["gcc", "-O2", "-o", TIMER, join(import.meta.dir, "timer.c")]);

  // A private copy of the executable under every plugin name.
  const nh = join(work, "nh");
  mkdirSync(nh);
  copyFileSync(DIST, join(nh, "nexthop"));
  for (const name of ["static", "macvlan", "ipvlan", "vrf"]) symlinkSync("nexthop", join(nh, name));
  const versionConf = join(work, "version.json");
  writeFileSync(versionConf, JSON.stringify({ cniVersion: "1.0.0", name: "nh-budget", type: "static" }));

  try {
    setupMaster();
    const probes = buildProbes();
    const designConf = join(work, "design.json");
    writeFileSync(designConf, JSON.stringify(netConf()));

    // 1. whole process, alternating every executable run by run
    const rows = new Map<string, Timed[]>();
    const push = (k: string, t: Timed) => rows.set(k, [...(rows.get(k) ?? []), t]);
    for (let i = 0; i < N + 2; i++) {
      const keep = i >= 2; // two warm-up rounds
      for (const [name, exe] of probes) {
        // The design floor reads a config on stdin and enters a netns, as a command does.
        const t = name === "design" ? timed([exe], { ...PATH_ENV, CNI_NETNS: `/var/run/netns/${SINK}` }, designConf) : timed([exe], PATH_ENV);
        if (t.exit !== 0) throw new Error(`probe ${name} exited ${t.exit}: ${readFileSync(join(work, "err"), "utf8")}`);
        if (keep) push(name, t);
      }
      const v = timedOk("VERSION", [join(nh, "static")], { ...PATH_ENV, CNI_COMMAND: "VERSION", CNI_PATH: nh }, versionConf);
      if (keep) push("VERSION", v);
      const c = cycle(nh, (cmd, argv, env, stdin) => timedOk(cmd, argv, env, stdin));
      if (keep) for (const [cmd, t] of c) push(cmd, t);
    }
    const med = (k: string, pick: (t: Timed) => number) => median((rows.get(k) ?? []).map(pick));
    const floor = med("floor", (t) => t.wall);
    const floorCpu = med("floor", (t) => t.cpu);
    const t1: string[][] = [];
    for (const p of PROBES) {
      const w = med(p.name, (t) => t.wall);
      t1.push([p.what, f(w), p.name === "floor" ? "" : `+${f(w - floor)}`, f(med(p.name, (t) => t.cpu)), p.name === "floor" ? "" : `+${f(med(p.name, (t) => t.cpu) - floorCpu)}`, f(med(p.name, (t) => t.rss), 1)]);
    }
    for (const k of ["VERSION", "ADD", "CHECK", "DEL"]) {
      const w = med(k, (t) => t.wall);
      t1.push([`**nexthop ${k === "VERSION" ? "`static` VERSION" : `macvlan+static ${k}`}**`, f(w), `+${f(w - floor)}`, f(med(k, (t) => t.cpu)), `+${f(med(k, (t) => t.cpu) - floorCpu)}`, f(med(k, (t) => t.rss), 1)]);
    }
    say("\n### 1. Whole process (fork to wait4), each piece alone over the runtime floor\n");
    for (const l of mdTable(["program", "wall ms", "over floor", "cpu ms", "over floor", "max RSS MiB"], t1)) say(l);
    say(`\nVERSION / floor: ${f(med("VERSION", (t) => t.wall) / floor)}× (wall medians).`);

    // 2. strace of one cycle
    const traces = new Map<string, Map<string, Calls>>();
    const vtrace = join(work, "strace-VERSION");
    spawnSync("strace", ["-f", "-T", "-yy", "-o", vtrace, join(nh, "static")], { env: { ...PATH_ENV, CNI_COMMAND: "VERSION" }, input: "" });
    traces.set("VERSION", classify(readFileSync(vtrace, "utf8")));
    keepTrace("VERSION", vtrace);
    cycle(nh, (cmd, argv, env, stdin) => {
      const file = join(work, `strace-${cmd}`);
      const r = spawnSync("strace", ["-f", "-T", "-yy", "-o", file, ...argv], { env, input: readFileSync(stdin) });
      writeFileSync(join(work, "out"), r.stdout);
      if (r.status !== 0) throw new Error(`${cmd} under strace failed: ${r.stdout}${r.stderr}`);
      traces.set(cmd, classify(readFileSync(file, "utf8")));
      keepTrace(cmd, file);
    });
    const kinds = [...new Set([...traces.values()].flatMap((m) => [...m.keys()]))].sort();
    const cmds = ["VERSION", "ADD", "CHECK", "DEL"];
    say("\n### 2. System calls of one run (strace -f -T -yy): count / ms inside the calls\n");
    for (const l of mdTable(["system calls", ...cmds], kinds.map((k) => [k, ...cmds.map((c) => {
      const x = traces.get(c)?.get(k);
      return x ? `${x.n} / ${f(x.ms)}` : "–";
    })]))) say(l);
    say("\nstrace slows every call down; the counts are exact, the times are upper bounds.");

    // 3. CPU profiles
    const profs = new Map<string, ReturnType<typeof profileBuckets>>();
    const profDir = (cmd: string) => join(work, `prof-${cmd}`);
    for (const c of cmds) mkdirSync(profDir(c));
    const profEnv = (cmd: string) => ({ BUN_OPTIONS: `--cpu-prof-md --cpu-prof-interval=50 --cpu-prof-dir=${profDir(cmd)}` });
    try {
      for (let i = 0; i < N; i++) {
        timedOk("VERSION", [join(nh, "static")], { ...PATH_ENV, CNI_COMMAND: "VERSION", CNI_PATH: nh, ...profEnv("VERSION") }, versionConf);
        cycle(nh, (cmd, argv, env, stdin) => timedOk(cmd, argv, { ...env, ...profEnv(cmd) }, stdin));
      }
    } catch (e) {
      // A build whose guard removes BUN_OPTIONS (before issue 10) re-executes with the profiler
      // running, and now and then dies of it (docs/bun.md §9): no profile of it.
      say(`\n### 3. CPU profile: not available for this build (${(e as Error).message.split("\n")[0]})`);
      return;
    }
    for (const c of cmds) profs.set(c, profileBuckets(profDir(c)));
    const buckets = PROFILE_BUCKETS.map(([b]) => b).filter((b) => cmds.some((c) => (profs.get(c)!.by.get(b) ?? 0) > 0));
    say(`\n### 3. CPU profile of the executable (--cpu-prof-md, 50 µs interval, mean of ${N} runs): self ms\n`);
    const t3 = buckets.map((b) => [b, ...cmds.map((c) => f(profs.get(c)!.by.get(b) ?? 0))]);
    t3.push(["**profiled total**", ...cmds.map((c) => f(profs.get(c)!.total))]);
    t3.push(["whole-process wall median without the profiler (table 1)", ...cmds.map((c) => f(med(c, (t) => t.wall)))]);
    for (const l of mdTable(["where", ...cmds], t3)) say(l);
    say("\nThe profiler samples only while JavaScript runs; the runtime's own start-up before the entry point (the floor) is outside it.");
  } finally {
    cleanup();
    say(`\n(${Math.round((Date.now() - started) / 1000)} s)`);
    mkdirSync(join(ROOT, "test-results"), { recursive: true });
    writeFileSync(join(ROOT, process.env.NEXTHOP_BUDGET_EXE ? "test-results/budget-other.md" : "test-results/budget.md"), out.join("\n") + "\n");
  }
}

main();
