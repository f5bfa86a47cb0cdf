// Hostile environment (issue 7, defect 4): what the runtime's environment and cwd hold must not
// change what dist/nexthop does. Bun reads BUN_OPTIONS, BUN_JSC_*, MIMALLOC_* … before nexthop's
// first line: the executable re-executes itself without them (src/guard.ts); --preload/--require/
// --import in BUN_OPTIONS are refused by Bun itself (the build embeds
// --disallow-code-generation-from-strings=strict), so the file never runs; .env and bunfig.toml
// autoload are off in the build; NODE_OPTIONS is not read by Bun. BUN_BE_BUN=1 cannot be
// neutralised from inside (Bun never starts the embedded program): README "Security".
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { baseConfig } from "./cases";
import { call, disposePlugins, envCycle, figure, makeWorld, snapshot, type World } from "./lib";
import { COMPILE_FLAGS } from "../../build.ts";

let w: World;
let dir: string;
let marker: string;
let preload: string;
let tried = 0;
let changed = 0;
beforeAll(() => {
  w = makeWorld({ eth0: true });
  dir = mkdtempSync(join(tmpdir(), "nh-hostile-"));
  marker = join(dir, "ran");
  preload = join(dir, "preload.js");
  writeFileSync(preload, `require("fs").writeFileSync(${JSON.stringify(marker)}, "x"); console.log('{"cniVersion":"1.1.0"}'); process.exit(0);\n`);
  writeFileSync(join(dir, "env.txt"), "CNI_COMMAND=DEL\nCNI_IFNAME=evil0\n");
  // The runtime's cwd: a .env and a bunfig.toml that would change the command and preload code.
  writeFileSync(join(dir, ".env"), "CNI_COMMAND=DEL\nCNI_IFNAME=evil0\nCNI_NETNS=/proc/self/ns/net\n");
  writeFileSync(join(dir, "bunfig.toml"), `preload = [${JSON.stringify(preload)}]\n`);
});
afterAll(() => {
  w?.dispose();
  disposePlugins();
  rmSync(dir, { recursive: true, force: true });
  figure(`hostile environment: ${tried} environments tried, ${changed} changed what the plugin did`);
});

const config = baseConfig("macvlan", {}, { addresses: [{ address: "192.0.2.40/24", gateway: "192.0.2.1" }], routes: [{ dst: "0.0.0.0/0", gws: ["192.0.2.2"] }] });

/** ADD, CHECK, DEL and VERSION with the given environment additions / cwd; what they printed. */
const session = (extraEnv: Record<string, string>, cwd?: string) =>
  envCycle(w, config, { extraEnv, cwd, containerId: "nh-hostile", ifnames: ["net1", "evil0"] });

let clean: ReturnType<typeof session>;
beforeAll(() => {
  clean = session({});
  expect(clean.add.exitCode).toBe(0);
});

describe("the environment and cwd do not change the plugin", () => {
  const cases: [string, Record<string, string>, boolean][] = [
    ["BUN_OPTIONS=--smol", { BUN_OPTIONS: "--smol" }, false],
    ["BUN_OPTIONS=--env-file (sets CNI_COMMAND=DEL)", { BUN_OPTIONS: "--env-file=@dir/env.txt" }, false],
    ["BUN_OPTIONS=--cwd=/", { BUN_OPTIONS: "--cwd=/" }, false],
    ["BUN_OPTIONS=--inspect-wait", { BUN_OPTIONS: "--inspect-wait=127.0.0.1:9" }, false],
    ["BUN_JSC_useJIT=0 (would break FFI)", { BUN_JSC_useJIT: "0" }, false],
    ["JSC_useJIT=0", { JSC_useJIT: "0" }, false],
    ["MIMALLOC_VERBOSE=1", { MIMALLOC_VERBOSE: "1", MIMALLOC_SHOW_STATS: "1" }, false],
    ["BUN_GARBAGE_COLLECTOR_LEVEL=2", { BUN_GARBAGE_COLLECTOR_LEVEL: "2" }, false],
    ["NODE_OPTIONS=--require FILE", { NODE_OPTIONS: "--require @dir/preload.js" }, false],
    [".env and bunfig.toml (preload) in the cwd", {}, true],
  ];
  test.each(cases)("%s", (_name, env, inDir) => {
    tried++;
    const e = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replace("@dir", dir)]));
    const got = session(e, inDir ? dir : undefined);
    if (JSON.stringify(got) !== JSON.stringify(clean) || existsSync(marker)) changed++;
    expect(got).toEqual(clean);
    expect(existsSync(marker)).toBe(false);
  });

  test("BUN_OPTIONS=--preload FILE: Bun refuses to run FILE (the plugin does not run either); nothing changes", () => {
    for (const flag of ["--preload", "--require", "--import"]) {
      tried++;
      const before = snapshot(w.pod);
      const r = call(w.host, { plugin: "macvlan", command: "ADD", config, netns: w.pod.path, extraEnv: { BUN_OPTIONS: `${flag} ${preload}` } });
      const bad = r.exitCode !== 1 || r.stdout !== "" || existsSync(marker) || JSON.stringify(snapshot(w.pod)) !== JSON.stringify(before);
      if (bad) changed++;
      expect({ exitCode: r.exitCode, stdout: r.stdout, ran: existsSync(marker) }).toEqual({ exitCode: 1, stdout: "", ran: false });
      expect(r.stderr).toContain("Code generation from strings disallowed");
      expect(snapshot(w.pod)).toEqual(before);
    }
  });

  test("BUN_BE_BUN=1 turns the executable into the Bun CLI: not fixable from inside (README: Security)", () => {
    const r = call(w.host, { plugin: "macvlan", command: "DEL", config, netns: w.pod.path, extraEnv: { BUN_BE_BUN: "1" } });
    expect(r.stdout).toContain("Bun is a fast JavaScript runtime");
  });
});

// src/guard.ts skips reading /proc/self/environ (and binding libc) when process.env holds no
// runtime variable. That relies on Bun: a compiled program's process.env lists every such variable
// it was started with, whatever its value (empty included) and whether or not Bun itself reads it.
describe("the guard's fast path: process.env shows every runtime variable as exec'd", () => {
  test("a program compiled with build.ts's flags sees each of them", () => {
    const src = join(dir, "env-probe.ts");
    const exe = join(dir, "env-probe");
    writeFileSync(src, `process.stdout.write(JSON.stringify(Object.keys(process.env).filter((k) => /^(BUN_|JSC_|MIMALLOC_)/.test(k)).sort()));\n`);
    const b = Bun.spawnSync([process.execPath, "build", src, ...COMPILE_FLAGS, "--outfile", exe], { stdout: "pipe", stderr: "pipe" });
    expect(b.exitCode).toBe(0);
    const env: Record<string, string> = {
      BUN_OPTIONS: "", BUN_JSC_useJIT: "1", JSC_useJIT: "1", MIMALLOC_VERBOSE: "0", BUN_GARBAGE_COLLECTOR_LEVEL: "0",
      BUN_FEATURE_FLAG_NOTHING: "1", BUN_INSPECT: "", BUN_CONFIG_VERBOSE_FETCH: "0", BUN_NOT_A_VARIABLE_BUN_KNOWS: "x",
    };
    const r = Bun.spawnSync([exe], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, stdout: "pipe", stderr: "pipe" });
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout.toString())).toEqual(Object.keys(env).sort());
    rmSync(exe, { force: true });
  });
});
