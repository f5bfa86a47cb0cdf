// skel: the protocol driver, in-process. Every code and message of upstream's skel
// (docs/upstream.md).
import { describe, expect, test } from "bun:test";
import { CniError, ErrCode } from "../../src/cni/errors";
import { MAX_STDIN_BYTES, NEXTHOP_VERSION, runPlugin, splitList, writeStderr, type Env } from "../../src/cni/skel";
import type { CmdArgs, Plugin, Result } from "../../src/cni/types";
import { ALL_VERSIONS, versionsStartingFrom } from "../../src/cni/version";

const RESULT: Result = { cniVersion: "1.1.0", ips: [{ address: "10.1.2.3/24", gateway: "10.1.2.1" }] };

interface Calls {
  add: CmdArgs[];
  del: CmdArgs[];
  check: CmdArgs[];
  status: CmdArgs[];
  gc: CmdArgs[];
}

function fake(over: Partial<Plugin> = {}): Plugin & { calls: Calls } {
  const calls: Calls = { add: [], del: [], check: [], status: [], gc: [] };
  return {
    name: "fake",
    supportedVersions: ALL_VERSIONS,
    add: (a) => (calls.add.push(a), RESULT),
    del: (a) => void calls.del.push(a),
    check: (a) => void calls.check.push(a),
    calls,
    ...over,
  };
}

const ENV: Env = {
  CNI_COMMAND: "ADD",
  CNI_CONTAINERID: "ctr-1",
  CNI_NETNS: "/var/run/netns/does-not-exist",
  CNI_IFNAME: "eth0",
  CNI_PATH: "/opt/cni/bin:/usr/lib/cni",
};

const conf = (v: unknown = "1.1.0", extra: object = {}) => JSON.stringify({ cniVersion: v, name: "net1", type: "fake", ...extra });

/** A JSON string as Go writes it: like JSON.stringify, plus <, > and & escaped. */
const goStr = (s: string) =>
  JSON.stringify(s).replace(/[<>&]/g, (c) => "\\u00" + c.charCodeAt(0).toString(16));

/** The error object skel prints: 4-space indent, no trailing newline, details only when set. */
function errorText(code: number, msg: string, details?: string): string {
  const d = details === undefined ? "" : `,\n    "details": ${goStr(details)}`;
  return `{\n    "code": ${code},\n    "msg": ${goStr(msg)}${d}\n}`;
}

function expectError(out: ReturnType<typeof runPlugin>, code: number, msg: string, details?: string) {
  expect(out.stdout).toBe(errorText(code, msg, details));
  expect(out.exitCode).toBe(1);
}

describe("environment", () => {
  test("CNI_COMMAND unset: about text on stderr, nothing on stdout, exit 0, stdin not read", () => {
    let read = false;
    const out = runPlugin(fake(), {}, () => ((read = true), new Uint8Array()));
    expect(out).toEqual({
      stdout: "",
      stderr: `CNI fake plugin v${NEXTHOP_VERSION} (nexthop)\nCNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0\n`,
      exitCode: 0,
    });
    expect(read).toBe(false);
  });

  test("CNI_COMMAND empty is unset", () => {
    const out = runPlugin(fake(), { CNI_COMMAND: "" }, "");
    expect(out.exitCode).toBe(0);
    expect(out.stderr).toStartWith("CNI fake plugin");
  });

  test("about lists the plugin's own versions", () => {
    const out = runPlugin(fake({ supportedVersions: versionsStartingFrom("0.3.1") }), {}, "", { about: "CNI vrf plugin vX" });
    expect(out.stderr).toBe("CNI vrf plugin vX\nCNI protocol versions supported: 0.3.1, 0.4.0, 1.0.0, 1.1.0\n");
  });

  const required: [string, string[]][] = [
    ["ADD", ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"]],
    ["CHECK", ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"]],
    ["DEL", ["CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH"]],
    ["GC", ["CNI_PATH"]],
    ["STATUS", ["CNI_PATH"]],
  ];
  for (const [cmd, vars] of required) {
    test(`${cmd} requires ${vars.join(", ")} (code 4, all missing ones listed in skel's order)`, () => {
      const out = runPlugin(fake(), { CNI_COMMAND: cmd }, conf());
      expectError(out, 4, `required env variables [${vars.join(",")}] missing`);
      for (const v of vars) {
        const env = { ...ENV, CNI_COMMAND: cmd, [v]: "" };
        expectError(runPlugin(fake(), env, conf()), 4, `required env variables [${v}] missing`);
      }
    });
  }

  test("DEL does not need CNI_NETNS; GC and STATUS need no container id or ifname", () => {
    const p = fake();
    expect(runPlugin(p, { ...ENV, CNI_COMMAND: "DEL", CNI_NETNS: undefined }, conf()).exitCode).toBe(0);
    expect(p.calls.del[0].netns).toBe("");
    expect(runPlugin(p, { CNI_COMMAND: "GC", CNI_PATH: "/x" }, conf()).exitCode).toBe(0);
    expect(runPlugin(p, { CNI_COMMAND: "STATUS", CNI_PATH: "/x" }, conf()).exitCode).toBe(0);
  });

  test("VERSION needs nothing but CNI_COMMAND and ignores stdin", () => {
    let read = false;
    const out = runPlugin(fake(), { CNI_COMMAND: "VERSION" }, () => ((read = true), new Uint8Array()));
    expect(out.stdout).toBe('{"cniVersion":"1.1.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}\n');
    expect(out.exitCode).toBe(0);
    expect(read).toBe(false);
  });

  test("VERSION reports cniVersion 1.1.0 and the plugin's own list", () => {
    const out = runPlugin(fake({ supportedVersions: versionsStartingFrom("0.3.1") }), { CNI_COMMAND: "VERSION" }, "garbage");
    expect(out.stdout).toBe('{"cniVersion":"1.1.0","supportedVersions":["0.3.1","0.4.0","1.0.0","1.1.0"]}\n');
  });

  test("unknown command: code 4 after the config is validated", () => {
    expectError(runPlugin(fake(), { ...ENV, CNI_COMMAND: "FOO" }, conf()), 4, "unknown CNI_COMMAND: FOO");
    expectError(runPlugin(fake(), { ...ENV, CNI_COMMAND: "add" }, conf()), 4, "unknown CNI_COMMAND: add");
    // stdin is still parsed first, as skel does
    expect(JSON.parse(runPlugin(fake(), { CNI_COMMAND: "FOO" }, "").stdout).code).toBe(6);
  });

  test("container id: upstream's pattern, code 4, the id as details", () => {
    for (const id of ["-abc", "a b", "a/b", "_x", ".x", "abc!", "ä"]) {
      expectError(runPlugin(fake(), { ...ENV, CNI_CONTAINERID: id }, conf()), 4, "invalid characters in containerID", id);
    }
    for (const id of ["a", "A-b_c.d", "0123456789abcdef", "x".repeat(300)]) {
      expect(runPlugin(fake(), { ...ENV, CNI_CONTAINERID: id }, conf()).exitCode).toBe(0);
    }
  });

  test("container id is validated before missing variables are reported (skel's loop order)", () => {
    expectError(
      runPlugin(fake(), { CNI_COMMAND: "ADD", CNI_CONTAINERID: "a/b" }, conf()),
      4,
      "invalid characters in containerID",
      "a/b",
    );
  });

  test("container id and ifname are not validated for GC/STATUS", () => {
    const env = { CNI_COMMAND: "GC", CNI_PATH: "/x", CNI_CONTAINERID: "a/b", CNI_IFNAME: "a/b" };
    expect(runPlugin(fake(), env, conf()).exitCode).toBe(0);
  });

  test("interface name rules (code 4)", () => {
    const cases: [string, string, string?][] = [
      ["a".repeat(16), "interface name is too long", "interface name should be less than 16 characters"],
      ["é".repeat(8), "interface name is too long", "interface name should be less than 16 characters"], // 16 bytes
      [".", "interface name is . or .."],
      ["..", "interface name is . or .."],
      ["a/b", "interface name contains / or : or whitespace characters"],
      ["a:b", "interface name contains / or : or whitespace characters"],
      ["a b", "interface name contains / or : or whitespace characters"],
      ["a\tb", "interface name contains / or : or whitespace characters"],
      ["a\u00a0b", "interface name contains / or : or whitespace characters"],
      ["a\u2003b", "interface name contains / or : or whitespace characters"],
    ];
    for (const [name, msg, details] of cases) {
      expectError(runPlugin(fake(), { ...ENV, CNI_IFNAME: name }, conf()), 4, msg, details);
    }
    for (const name of ["a".repeat(15), "eth0.100", "net-1", "é".repeat(7), "..."]) {
      expect(runPlugin(fake(), { ...ENV, CNI_IFNAME: name }, conf()).exitCode).toBe(0);
    }
  });

  test("CmdArgs carries the environment, CNI_PATH split like filepath.SplitList", () => {
    const p = fake();
    runPlugin(p, { ...ENV, CNI_ARGS: "IgnoreUnknown=1;IP=10.0.0.1", CNI_PATH: "/a::/b" }, conf("0.4.0", { x: 1 }));
    const a = p.calls.add[0];
    expect(a).toMatchObject({
      command: "ADD",
      containerId: "ctr-1",
      netns: "/var/run/netns/does-not-exist",
      ifname: "eth0",
      args: "IgnoreUnknown=1;IP=10.0.0.1",
      path: ["/a", "", "/b"],
      cniVersion: "0.4.0",
      config: { cniVersion: "0.4.0", name: "net1", type: "fake", x: 1 },
    });
    expect(new TextDecoder().decode(a.stdin)).toBe(conf("0.4.0", { x: 1 }));
    expect(a.env?.CNI_ARGS).toBe("IgnoreUnknown=1;IP=10.0.0.1");
    expect(splitList("")).toEqual([]);
    expect(splitList("/a")).toEqual(["/a"]);
  });
});

describe("stdin and network config", () => {
  test("malformed JSON: code 6 with Go's message", () => {
    const cases: [string, string][] = [
      ["", "unexpected end of JSON input"],
      ["{", "unexpected end of JSON input"],
      ["{'name': 1}", "invalid character '\\'' looking for beginning of object key string"],
      ['{"name":"n",}', "invalid character '}' looking for beginning of object key string"],
      ["nope", "invalid character 'o' in literal null (expecting 'u')"],
      ['{"name":"n"} x', "invalid character 'x' after top-level value"],
      ["<xml/>", "invalid character '<' looking for beginning of value"],
    ];
    for (const [input, msg] of cases) {
      expectError(runPlugin(fake(), ENV, input), 6, `error unmarshall network config: ${msg}`);
    }
  });

  test("Go escapes <, > and & in the printed message", () => {
    expect(runPlugin(fake(), ENV, "<").stdout).toContain('"msg": "error unmarshall network config: invalid character \'\\u003c\' looking');
  });

  test("wrong JSON types: code 6 with Go's messages", () => {
    expectError(
      runPlugin(fake(), ENV, '{"name": 5}'),
      6,
      "error unmarshall network config: json: cannot unmarshal number into Go struct field .name of type string",
    );
    expectError(
      runPlugin(fake(), ENV, "[1]"),
      6,
      'error unmarshall network config: json: cannot unmarshal array into Go value of type struct { Name string "json:\\"name\\"" }',
    );
    expectError(
      runPlugin(fake(), ENV, '{"name": "n", "cniVersion": 1}'),
      6,
      "decoding version from network config: json: cannot unmarshal number into Go struct field .cniVersion of type string",
    );
  });

  test("network name: missing is code 7, bad characters code 7 with the name as details", () => {
    expectError(runPlugin(fake(), ENV, '{"cniVersion":"1.0.0"}'), 7, "missing network name");
    expectError(runPlugin(fake(), ENV, '{"name":""}'), 7, "missing network name");
    expectError(runPlugin(fake(), ENV, '{"name":null}'), 7, "missing network name");
    expectError(runPlugin(fake(), ENV, "null"), 7, "missing network name");
    expectError(runPlugin(fake(), ENV, '{"name":"my net"}'), 7, "invalid characters found in network name", "my net");
    expectError(runPlugin(fake(), ENV, '{"name":"-net"}'), 7, "invalid characters found in network name", "-net");
  });

  test("keys match case-insensitively, the last one winning (Go's decoder)", () => {
    expect(runPlugin(fake(), ENV, '{"NAME":"n","CNIVERSION":"0.4.0"}').stdout).toContain('"cniVersion": "0.4.0"');
    expectError(runPlugin(fake(), ENV, '{"name":"ok","Name":"b a d"}'), 7, "invalid characters found in network name", "b a d");
  });

  test("a byte order mark is an error, as in Go", () => {
    expectError(
      runPlugin(fake(), ENV, new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(conf())])),
      6,
      "error unmarshall network config: invalid character 'ï' looking for beginning of value",
    );
  });

  test(`stdin larger than ${MAX_STDIN_BYTES} bytes is refused (code 7) before parsing`, () => {
    const big = conf("1.1.0", { pad: "x".repeat(MAX_STDIN_BYTES) });
    const out = runPlugin(fake(), ENV, big);
    expectError(out, 7, `network configuration on stdin is too large: more than ${MAX_STDIN_BYTES} bytes`);
    const fits = conf("1.1.0", { pad: "x".repeat(MAX_STDIN_BYTES - 100) });
    expect(runPlugin(fake(), ENV, fits).exitCode).toBe(0);
  });

  test("a stdin read failure is code 5", () => {
    const out = runPlugin(fake(), ENV, () => {
      throw new Error("EIO: i/o error, read");
    });
    expectError(out, 5, "error reading from stdin: EIO: i/o error, read");
  });
});

describe("versions", () => {
  test("missing or empty cniVersion means 0.1.0", () => {
    const p = fake();
    const out = runPlugin(p, ENV, '{"name":"n"}');
    expect(p.calls.add[0].cniVersion).toBe("0.1.0");
    expect(out.stdout).toBe('{\n    "cniVersion": "0.1.0",\n    "ip4": {\n        "ip": "10.1.2.3/24",\n        "gateway": "10.1.2.1"\n    },\n    "dns": {}\n}');
    expect(runPlugin(fake(), ENV, conf("")).stdout).toContain('"cniVersion": "0.1.0"');
  });

  test("unsupported version: code 1 with Go %q details", () => {
    const p = fake({ supportedVersions: versionsStartingFrom("0.3.1") });
    expectError(
      runPlugin(p, ENV, conf("0.2.0")),
      1,
      "incompatible CNI versions",
      'config is "0.2.0", plugin supports ["0.3.1" "0.4.0" "1.0.0" "1.1.0"]',
    );
    expectError(
      runPlugin(fake(), ENV, conf("1.1")),
      1,
      "incompatible CNI versions",
      'config is "1.1", plugin supports ["0.1.0" "0.2.0" "0.3.0" "0.3.1" "0.4.0" "1.0.0" "1.1.0"]',
    );
    expectError(runPlugin(p, { ...ENV, CNI_COMMAND: "DEL" }, '{"name":"n"}'), 1, "incompatible CNI versions",
      'config is "0.1.0", plugin supports ["0.3.1" "0.4.0" "1.0.0" "1.1.0"]');
  });

  test("CHECK needs 0.4.0 or later", () => {
    const env = { ...ENV, CNI_COMMAND: "CHECK" };
    for (const v of ["0.1.0", "0.2.0", "0.3.0", "0.3.1", ""]) {
      expectError(runPlugin(fake(), env, conf(v)), 1, "config version does not allow CHECK");
    }
    const p = fake();
    for (const v of ["0.4.0", "1.0.0", "1.1.0"]) expect(runPlugin(p, env, conf(v)).stdout).toBe("");
    expect(p.calls.check.map((a) => a.cniVersion)).toEqual(["0.4.0", "1.0.0", "1.1.0"]);
  });

  test("CHECK: no plugin version high enough, unknown-but-valid version, unparsable version", () => {
    const env = { ...ENV, CNI_COMMAND: "CHECK" };
    expectError(runPlugin(fake(), env, conf("2.0.0")), 1, "plugin version does not allow CHECK");
    expectError(runPlugin(fake(), env, conf("0.5.0")), 1, "incompatible CNI versions",
      'config is "0.5.0", plugin supports ["0.1.0" "0.2.0" "0.3.0" "0.3.1" "0.4.0" "1.0.0" "1.1.0"]');
    expectError(runPlugin(fake(), env, conf("1.x.0")), 6,
      'failed to convert minor version part "x": strconv.Atoi: parsing "x": invalid syntax');
    expectError(runPlugin(fake(), env, conf("1.0.0.0")), 6, 'invalid version "1.0.0.0": too many parts');
  });

  for (const cmd of ["STATUS", "GC"]) {
    test(`${cmd} needs 1.1.0; without the function it succeeds silently`, () => {
      const env = { ...ENV, CNI_COMMAND: cmd };
      for (const v of ["0.4.0", "1.0.0"]) expectError(runPlugin(fake(), env, conf(v)), 1, `config version does not allow ${cmd}`);
      expectError(runPlugin(fake(), env, conf("1.2.0")), 1, `plugin version does not allow ${cmd}`);
      expect(runPlugin(fake(), env, conf())).toEqual({ stdout: "", stderr: "", exitCode: 0 });
      const p = fake({
        status: () => {
          throw new CniError(ErrCode.PluginNotAvailable, "not ready");
        },
        gc: () => {
          throw new CniError(ErrCode.PluginNotAvailableLimitedConnectivity, "degraded");
        },
      });
      const out = runPlugin(p, env, conf());
      if (cmd === "STATUS") expectError(out, 50, "not ready");
      else expectError(out, 51, "degraded");
    });
  }
});

describe("results and errors", () => {
  test("ADD prints the result in the config's version (no trailing newline)", () => {
    const out = runPlugin(fake(), ENV, conf("1.0.0"));
    expect(out).toEqual({
      stdout: '{\n    "cniVersion": "1.0.0",\n    "ips": [\n        {\n            "address": "10.1.2.3/24",\n            "gateway": "10.1.2.1"\n        }\n    ]\n}',
      stderr: "",
      exitCode: 0,
    });
  });

  test("ADD with a result 0.2.0 cannot carry: code 999 cannot convert", () => {
    const p = fake({ add: () => ({ cniVersion: "1.1.0", interfaces: [{ name: "eth0" }] }) });
    expectError(runPlugin(p, ENV, conf("0.2.0")), 999, "cannot convert: no valid IP addresses");
  });

  test("DEL and CHECK print nothing on success", () => {
    expect(runPlugin(fake(), { ...ENV, CNI_COMMAND: "DEL" }, conf())).toEqual({ stdout: "", stderr: "", exitCode: 0 });
    expect(runPlugin(fake(), { ...ENV, CNI_COMMAND: "CHECK" }, conf())).toEqual({ stdout: "", stderr: "", exitCode: 0 });
  });

  test("a CniError keeps its code and details", () => {
    const p = fake({
      add: () => {
        throw new CniError(ErrCode.InvalidNetworkConfig, "bad thing", "more about it");
      },
    });
    expectError(runPlugin(p, ENV, conf()), 7, "bad thing", "more about it");
  });

  test("an unexpected exception is code 999 with its message; the stack goes to stderr only", () => {
    const p = fake({
      del: () => {
        throw new TypeError("x is not a function");
      },
    });
    const out = runPlugin(p, { ...ENV, CNI_COMMAND: "DEL" }, conf());
    expectError(out, 999, "x is not a function");
    expect(out.stdout).not.toContain(" at ");
    expect(out.stderr).toContain("TypeError: x is not a function");
    expect(out.stderr).toContain("skel.test.ts");
  });

  test("a thrown non-Error is code 999 too", () => {
    const p = fake({
      add: () => {
        throw "plain string";
      },
    });
    expectError(runPlugin(p, ENV, conf()), 999, "plain string");
  });

  test("writeStderr inside a plugin lands in the run's stderr", () => {
    const p = fake({ del: () => writeStderr("log line\n") });
    expect(runPlugin(p, { ...ENV, CNI_COMMAND: "DEL" }, conf())).toEqual({ stdout: "", stderr: "log line\n", exitCode: 0 });
  });
});

describe("netns check before ADD and DEL (issue 7, defect 1)", () => {
  const own = { ...ENV, CNI_NETNS: "/proc/self/ns/net" };
  const msg = "plugin's netns and netns from CNI_NETNS should not be the same";

  test("ADD in the plugin's own netns: refused before the plugin runs, one JSON document (upstream prints the result first)", () => {
    let called = 0;
    const out = runPlugin(fake({ add: () => (called++, { cniVersion: "1.1.0" }) }), own, conf());
    expectError(out, 8, msg);
    expect(called).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ code: 8, msg });
  });

  test("DEL in the plugin's own netns: code 8", () => {
    expectError(runPlugin(fake(), { ...own, CNI_COMMAND: "DEL" }, conf()), 8, msg);
  });

  test("CNI_NETNS_OVERRIDE=1 or true (any case) skips it; CHECK is never checked", () => {
    for (const o of ["1", "true", "TRUE", "True"]) {
      expect(runPlugin(fake(), { ...own, CNI_NETNS_OVERRIDE: o }, conf()).exitCode).toBe(0);
    }
    expect(runPlugin(fake(), { ...own, CNI_NETNS_OVERRIDE: "yes" }, conf()).exitCode).toBe(1);
    expect(runPlugin(fake(), { ...own, CNI_COMMAND: "CHECK" }, conf()).exitCode).toBe(0);
  });

  test("a path that cannot be opened is not the plugin's netns", () => {
    expect(runPlugin(fake(), { ...ENV, CNI_COMMAND: "DEL", CNI_NETNS: "" }, conf()).exitCode).toBe(0);
    expect(runPlugin(fake(), ENV, conf()).exitCode).toBe(0);
  });

  test("DEL in the plugin's own netns: the plugin is never called", () => {
    let called = 0;
    expectError(runPlugin(fake({ del: () => void called++ }), { ...own, CNI_COMMAND: "DEL" }, conf()), 8, msg);
    expect(called).toBe(0);
  });
});
