// Delegation (docs/upstream.md): registered plugins run in-process; anything
// else is found in CNI_PATH and executed like Go's invoke package does. The executed delegates
// here are small shell scripts in a temp dir.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  delegateAdd,
  delegateCheck,
  delegateDel,
  delegateGc,
  delegateStatus,
  findInPath,
} from "../../src/cni/delegate";
import { ownPlugin, registeredPlugins, registerPlugin, unregisterPlugin } from "../../src/plugins/registry";
import { CniError } from "../../src/cni/errors";
import { runPlugin } from "../../src/cni/skel";
import type { CmdArgs, Plugin, Result } from "../../src/cni/types";
import { ALL_VERSIONS, versionsStartingFrom } from "../../src/cni/version";

let dir: string;

function script(name: string, body: string, mode = 0o755): void {
  writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
  chmodSync(join(dir, name), mode);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "nh-delegate-"));
  script("ok-result", `cat > "${"$"}REC_DIR/stdin"; env > "${"$"}REC_DIR/env"; echo "ipam says hi" >&2
printf '%s' '{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24","gateway":"10.0.0.1"}],"routes":[{"dst":"0.0.0.0/0"}]}'`);
  script("no-version", `printf '%s' '{"ips":[{"version":"4","address":"10.0.0.2/24"}]}'`);
  script("null-result", `printf null`);
  script("error-object", `printf '%s' '{"code":7,"msg":"bad ipam config","details":"field x"}'; echo "log" >&2; exit 1`);
  script("garbage-exit1", `printf 'not json'; exit 1`);
  script("stderr-only", `echo "it broke" >&2; exit 3`);
  script("silent-fail", `exit 2`);
  script("garbage-exit0", `printf 'garbage'`);
  script("garbage-logged", `printf '%s' "$CNI_COMMAND" > "${dir}/garbage-logged.ran"; printf 'garbage'`);
  script("empty-exit0", `exit 0`);
  script("killed", `kill -9 $$`);
  script("wrong-family", `printf '%s' '{"cniVersion":"0.4.0","ips":[]}'`);
  script("future", `printf '%s' '{"cniVersion":"9.9.9"}'`);
  script("not-executable", `exit 0`, 0o644);
  script("record-env", `env > "${"$"}REC_DIR/env"; exit 0`);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function args(over: Partial<CmdArgs> = {}, config: Record<string, unknown> = { cniVersion: "1.0.0", name: "n", ipam: { type: "x" } }): CmdArgs {
  const stdin = new TextEncoder().encode(JSON.stringify(config));
  return {
    command: "ADD",
    containerId: "ctr",
    netns: "/var/run/netns/x",
    ifname: "eth0",
    args: "IgnoreUnknown=1",
    path: [join(dir, "missing"), dir],
    stdin,
    config,
    cniVersion: (config.cniVersion as string) || "0.1.0",
    env: { CNI_COMMAND: "ADD", CNI_CONTAINERID: "ctr", CNI_PATH: dir, REC_DIR: dir, EXTRA: "kept" },
    ...over,
  };
}

function caught(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    return e as CniError;
  }
  throw new Error("expected an error");
}

describe("findInPath", () => {
  test("upstream's errors", () => {
    expect(caught(() => findInPath("", [dir])).message).toBe("no plugin name provided");
    expect(caught(() => findInPath("../x", [dir])).message).toBe("invalid plugin name: ../x");
    expect(caught(() => findInPath("x", [])).message).toBe("no paths provided");
    expect(caught(() => findInPath("nope", ["/a", "/b"])).message).toBe('failed to find plugin "nope" in path [/a /b]');
    expect(caught(() => findInPath("nope", ["/a"])).code).toBe(999);
  });

  test("the first regular file wins; directories are skipped; the exec bit is not checked", () => {
    expect(findInPath("ok-result", ["/nonexistent", dir])).toBe(join(dir, "ok-result"));
    expect(findInPath("not-executable", [dir])).toBe(join(dir, "not-executable"));
    expect(() => findInPath("tmp", ["/"])).toThrow('failed to find plugin "tmp" in path [/]');
  });
});

describe("executed delegate", () => {
  test("ADD: result converted to 1.1.0; whole config on stdin; env inherited with CNI_COMMAND overridden; stderr forwarded", () => {
    const a = args({ command: "CHECK" });
    let result: Result | undefined;
    const run = runPlugin(
      {
        name: "outer",
        supportedVersions: ALL_VERSIONS,
        add: () => (result = delegateAdd("ok-result", a)),
        del() {},
        check() {},
      },
      { CNI_COMMAND: "ADD", CNI_CONTAINERID: "c", CNI_NETNS: "/nonexistent", CNI_IFNAME: "eth0", CNI_PATH: dir },
      JSON.stringify({ cniVersion: "1.0.0", name: "n" }),
    );
    // Inside runPlugin the delegate's stderr is part of the run's stderr.
    expect(run.stderr).toBe("ipam says hi\n");
    expect(result).toEqual({
      cniVersion: "1.1.0",
      ips: [{ address: "10.0.0.2/24", gateway: "10.0.0.1" }],
      routes: [{ dst: "0.0.0.0/0" }],
    });
    expect(readFileSync(join(dir, "stdin"), "utf8")).toBe(new TextDecoder().decode(a.stdin));
    const env = readFileSync(join(dir, "env"), "utf8").split("\n");
    expect(env).toContain("CNI_COMMAND=ADD");
    expect(env).toContain("EXTRA=kept");
    expect(env).toContain("CNI_CONTAINERID=ctr");
  });

  test("a result without cniVersion is read in the config's version", () => {
    const r = delegateAdd("no-version", args({}, { cniVersion: "0.4.0", name: "n" }));
    expect(r).toEqual({ cniVersion: "1.1.0", ips: [{ address: "10.0.0.2/24" }] });
    expect(delegateAdd("null-result", args())).toEqual({ cniVersion: "1.1.0" });
  });

  test("a result is read in its own version; an unknown version is an error", () => {
    // The result's own cniVersion picks the result type (invoke's fixupResultVersion).
    expect(delegateAdd("wrong-family", args())).toEqual({ cniVersion: "1.1.0" });
    expect(caught(() => delegateAdd("future", args())).toJSON()).toEqual({
      code: 999,
      msg: 'unsupported CNI result version "9.9.9"',
    });
  });

  test("the delegate's error object keeps its code, msg and details", () => {
    const e = caught(() => delegateAdd("error-object", args()));
    expect(e.toJSON()).toEqual({ code: 7, msg: "bad ipam config", details: "field x" });
  });

  test("Go's fallbacks when the delegate fails without an error object (code 0, as upstream)", () => {
    expect(caught(() => delegateDel("garbage-exit1", args())).toJSON()).toEqual({
      code: 0,
      msg: `netplugin failed but error parsing its diagnostic message "not json": invalid character 'o' in literal null (expecting 'u')`,
    });
    expect(caught(() => delegateDel("stderr-only", args())).toJSON()).toEqual({
      code: 0,
      msg: 'netplugin failed: "it broke\\n": exit status 3',
    });
    expect(caught(() => delegateDel("silent-fail", args())).toJSON()).toEqual({
      code: 0,
      msg: "netplugin failed with no error message: exit status 2",
    });
    expect(caught(() => delegateDel("killed", args())).message).toBe("netplugin failed with no error message: signal: killed");
    expect(caught(() => delegateDel("not-executable", args())).message).toBe(
      `netplugin failed with no error message: fork/exec ${join(dir, "not-executable")}: permission denied`,
    );
  });

  test("ADD output that is not a result", () => {
    expect(caught(() => delegateAdd("garbage-exit0", args())).message).toBe(
      "failed to unmarshal raw result: invalid character 'g' looking for beginning of value result garbage",
    );
    expect(caught(() => delegateAdd("empty-exit0", args())).message).toBe(
      "failed to unmarshal raw result: unexpected end of JSON input result ",
    );
    // DEL ignores stdout: the delegate ran, and its garbage is no error
    expect(delegateDel("garbage-logged", args())).toBeUndefined();
    expect(readFileSync(join(dir, "garbage-logged.ran"), "utf8")).toBe("DEL");
  });

  test("each verb sets CNI_COMMAND", () => {
    for (const [fn, verb] of [
      [delegateCheck, "CHECK"],
      [delegateDel, "DEL"],
      [delegateStatus, "STATUS"],
      [delegateGc, "GC"],
    ] as const) {
      fn("record-env", args());
      expect(readFileSync(join(dir, "env"), "utf8").split("\n")).toContain(`CNI_COMMAND=${verb}`);
    }
  });

  test("without CmdArgs.env the process environment is used, with the CmdArgs' CNI variables", () => {
    process.env.REC_DIR = dir;
    try {
      delegateDel("record-env", args({ env: undefined, containerId: "from-args", ifname: "net9" }));
    } finally {
      delete process.env.REC_DIR;
    }
    const env = readFileSync(join(dir, "env"), "utf8").split("\n");
    expect(env).toContain("CNI_COMMAND=DEL");
    expect(env).toContain("CNI_IFNAME=net9");
  });

  test("not found in CNI_PATH", () => {
    expect(caught(() => delegateAdd("host-local", args({ path: ["/nonexistent"] }))).message).toBe(
      'failed to find plugin "host-local" in path [/nonexistent]',
    );
  });
});

describe("registered delegate (in-process)", () => {
  const seen: CmdArgs[] = [];
  const fakeIpam: Plugin = {
    name: "fake-ipam",
    supportedVersions: ALL_VERSIONS,
    add: (a) => {
      seen.push(a);
      return {
        cniVersion: "1.1.0",
        ips: [{ address: "10.0.0.2/24" }, { address: "10.0.0.3/24" }, { address: "fd00::2/64" }],
        routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.1", weight: 3 }],
      };
    },
    del: (a) => void seen.push(a),
    check: (a) => void seen.push(a),
    status: () => {
      throw new CniError(50, "ipam not ready");
    },
  };

  beforeAll(() => registerPlugin(fakeIpam));
  afterAll(() => unregisterPlugin("fake-ipam"));

  test("registry", () => {
    expect(ownPlugin("fake-ipam")).toBe(fakeIpam);
    registerPlugin(fakeIpam); // the same object again: still one registration
    expect(ownPlugin("fake-ipam")).toBe(fakeIpam);
    expect(registeredPlugins().filter((n) => n === "fake-ipam")).toEqual(["fake-ipam"]);
    expect(() => registerPlugin({ ...fakeIpam })).toThrow('plugin "fake-ipam" is already registered');
  });

  test("runs in this process with the same CmdArgs and the verb as command; weights survive", () => {
    seen.length = 0;
    const a = args({ command: "ADD" }, { cniVersion: "1.1.0", name: "n" });
    const r = delegateAdd("fake-ipam", a);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toEqual({ ...a, command: "ADD" });
    expect(r.routes).toEqual([{ dst: "0.0.0.0/0", gw: "10.0.0.1", weight: 3 }]);
    delegateDel("fake-ipam", { ...a, command: "CHECK" });
    expect(seen[1].command).toBe("DEL");
    delegateCheck("fake-ipam", a);
    expect(seen[2].command).toBe("CHECK");
  });

  test("the result goes through the config's version, as it would through stdout", () => {
    const r = delegateAdd("fake-ipam", args({}, { cniVersion: "0.2.0", name: "n" }));
    expect(r.ips).toEqual([{ address: "10.0.0.2/24" }, { address: "fd00::2/64" }]);
  });

  test("errors propagate with their code; a missing GC function is a success", () => {
    expect(caught(() => delegateStatus("fake-ipam", args({}, { cniVersion: "1.1.0", name: "n" }))).toJSON()).toEqual({
      code: 50,
      msg: "ipam not ready",
    });
    const before = seen.length;
    expect(delegateGc("fake-ipam", args({}, { cniVersion: "1.1.0", name: "n" }))).toBeUndefined();
    expect(seen.length).toBe(before);
  });

  test("the delegate's supported versions are checked like its own skel would", () => {
    registerPlugin({ ...fakeIpam, name: "fake-new", supportedVersions: versionsStartingFrom("1.0.0") });
    try {
      const e = caught(() => delegateAdd("fake-new", args({}, { cniVersion: "0.4.0", name: "n" })));
      expect(e.toJSON()).toEqual({
        code: 1,
        msg: "incompatible CNI versions",
        details: 'config is "0.4.0", plugin supports ["1.0.0" "1.1.0"]',
      });
    } finally {
      unregisterPlugin("fake-new");
    }
  });
});
