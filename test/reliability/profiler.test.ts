// Profiling the real executable (issue 10): a BUN_OPTIONS made only of the CPU profiler's flags is
// kept (src/guard.ts isProfilerOptions), so `BUN_OPTIONS="--cpu-prof-md --cpu-prof-dir=DIR"
// dist/nexthop` writes a profile of a real ADD; the plugin's results and the kernel state are the
// clean run's. Anything else in BUN_OPTIONS is still removed before the plugin runs
// (hostile.test.ts), also when it comes with profiler flags.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isProfilerOptions } from "../../src/guard";
import { baseConfig } from "./cases";
import { call, disposePlugins, envCycle, makeWorld, type World } from "./lib";

let w: World;
let dir: string;
beforeAll(() => {
  w = makeWorld({ eth0: true });
  dir = mkdtempSync(join(tmpdir(), "nh-prof-"));
});
afterAll(() => {
  w?.dispose();
  disposePlugins();
  rmSync(dir, { recursive: true, force: true });
});

const config = baseConfig("macvlan", {}, { addresses: [{ address: "192.0.2.41/24", gateway: "192.0.2.1" }], routes: [{ dst: "0.0.0.0/0", gws: ["192.0.2.2"] }] });

/** ADD, CHECK, DEL and VERSION with `extraEnv`; what they printed and the pod's state after ADD. */
const session = (extraEnv: Record<string, string>) => envCycle(w, config, { extraEnv, containerId: "nh-prof", ifnames: ["net1"] });

function profiles(sub: string): string[] {
  return readdirSync(join(dir, sub)).filter((f) => f.endsWith(".md")).sort();
}

describe("BUN_OPTIONS with only the CPU profiler's flags", () => {
  test("which values count as profiler-only", () => {
    const yes = [
      "--cpu-prof-md",
      "--cpu-prof",
      " --cpu-prof-md  --cpu-prof-interval=50 --cpu-prof-dir=/tmp/x-1/y ",
      "--cpu-prof --cpu-prof-name=add.cpuprofile --cpu-prof-dir=/",
    ];
    const no = [
      "",
      "   ",
      "--smol",
      "--cpu-prof-md --smol",
      "--cpu-prof-md --preload /tmp/p.js",
      "--cpu-prof-dir /tmp", // a separate value: not the = form
      "--cpu-prof-dir=relative",
      "--cpu-prof-dir=\"/tmp\"",
      "--cpu-prof-dir=/tmp/a b",
      "--cpu-prof-name=../x",
      "--cpu-prof-name=a/b",
      "--cpu-prof-interval=",
      "--cpu-prof-interval=5x",
      "--cpu-profX",
      "--cpu-prof-md\n--smol",
      "--cpu-prof-md=1",
    ];
    expect(yes.filter((v) => !isProfilerOptions(v))).toEqual([]);
    expect(no.filter((v) => isProfilerOptions(v))).toEqual([]);
  });

  test("ADD, CHECK, DEL and VERSION give the clean run's results, and each writes a profile", () => {
    const clean = session({});
    expect(clean.add.exitCode).toBe(0);
    rmSync(join(dir, "on"), { recursive: true, force: true });
    require("node:fs").mkdirSync(join(dir, "on"));
    const got = session({ BUN_OPTIONS: `--cpu-prof-md --cpu-prof-interval=50 --cpu-prof-dir=${join(dir, "on")}` });
    expect(got).toEqual(clean);
    const files = profiles("on");
    // one per process: ADD, CHECK, DEL, VERSION (the profiler is not dropped by a re-exec: none happens)
    expect(files.length).toBe(4);
    for (const f of files) expect(readFileSync(join(dir, "on", f), "utf8")).toStartWith("# CPU Profile");
    // the ADD's profile holds the plugin's own code, not just the runtime's start-up
    expect(files.some((f) => readFileSync(join(dir, "on", f), "utf8").includes("src/net/attach.ts"))).toBe(true);
  });

  test("with any other flag beside them, BUN_OPTIONS is removed whole: the clean run's results, no profile", () => {
    const clean = session({});
    rmSync(join(dir, "mixed"), { recursive: true, force: true });
    require("node:fs").mkdirSync(join(dir, "mixed"));
    const got = session({ BUN_OPTIONS: `--cpu-prof-md --cpu-prof-dir=${join(dir, "mixed")} --cwd=/` });
    expect(got).toEqual(clean);
    // Bun started the profiler before nexthop's first line, so the first process writes its
    // profile; the plugin runs in the clean copy, which has none.
    const files = profiles("mixed");
    expect(files.length).toBe(4);
    expect(files.filter((f) => readFileSync(join(dir, "mixed", f), "utf8").includes("src/net/")).length).toBe(0);
  });

  test("the profiler running during the re-exec never kills the plugin (SIGPWR pending at execve)", () => {
    // Before the clean copy ran as a child while profiling, about 1 run in 10 died of SIGPWR with
    // nothing on stdout; 20 runs of each kind make a regression all but certain to show.
    const expected = call(w.host, { plugin: "macvlan", command: "VERSION", config, netns: w.pod.path });
    const sub = join(dir, "race");
    rmSync(sub, { recursive: true, force: true });
    require("node:fs").mkdirSync(sub);
    const outs = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const envs: Record<string, string>[] = [{ BUN_OPTIONS: `--cpu-prof-md --smol --cpu-prof-dir=${sub}` }, { BUN_OPTIONS: `--cpu-prof-md --cpu-prof-dir=${sub}`, MIMALLOC_VERBOSE: "0" }];
      for (const extraEnv of envs) {
        const r = call(w.host, { plugin: "macvlan", command: "VERSION", config, netns: w.pod.path, extraEnv });
        outs.add(JSON.stringify({ exitCode: r.exitCode, signal: r.signal, stdout: r.stdout }));
      }
    }
    expect([...outs]).toEqual([JSON.stringify({ exitCode: 0, signal: expected.signal, stdout: expected.stdout })]);
  });

  test("kept across the re-exec that removes another runtime variable", () => {
    const clean = session({});
    rmSync(join(dir, "reexec"), { recursive: true, force: true });
    require("node:fs").mkdirSync(join(dir, "reexec"));
    const got = session({ BUN_OPTIONS: `--cpu-prof-md --cpu-prof-dir=${join(dir, "reexec")}`, BUN_GARBAGE_COLLECTOR_LEVEL: "2" });
    expect(got).toEqual(clean);
    // while profiling the clean copy runs as a child (no execve, see the next test): each
    // invocation writes the first process's profile and the child's, and only the child's holds
    // the plugin's code
    const files = profiles("reexec");
    expect(files.length).toBe(8);
    expect(files.filter((f) => readFileSync(join(dir, "reexec", f), "utf8").includes("src/net/attach.ts")).length).toBeGreaterThanOrEqual(1);
  });
});
