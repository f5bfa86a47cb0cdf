// static IPAM through the in-process protocol driver: env vars and stdin exactly as a runtime
// passes them, so codes, messages and the per-version output are all exercised.
//
// "upstream" tests mirror plugins/ipam/static/static_test.go (containernetworking/plugins v1.9.1,
// plus the ECMP case of #1248, reverted by #1251, whose expectation still holds for the static
// result) and run, as there, once per spec version.
import { describe, expect, test } from "bun:test";
import { runPlugin } from "../../src/cni/skel";
import { ownPlugin } from "../../src/plugins/registry";
import { ALL_VERSIONS } from "../../src/cni/version";
import type { CmdArgs, Result } from "../../src/cni/types";
import "../../src/plugins/index";
import staticIpam from "../../src/plugins/static";

// ── Driver helpers ──────────────────────────────────────────────────────────────────────────

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

function run(command: string, config: unknown, cniArgs?: string, extraEnv: Record<string, string> = {}): Run {
  const env: Record<string, string> = {
    CNI_COMMAND: command,
    CNI_CONTAINERID: "dummy",
    CNI_NETNS: "/some/where",
    CNI_IFNAME: "eth0",
    CNI_PATH: "/opt/cni/bin",
    ...(cniArgs !== undefined ? { CNI_ARGS: cniArgs } : {}),
    ...extraEnv,
  };
  const stdin = typeof config === "string" ? config : JSON.stringify(config);
  return runPlugin(staticIpam, env, stdin);
}

/** A result as upstream's types100.GetResult sees it, whatever version it was printed in. */
interface Seen {
  ips: { address: string; gateway?: string }[];
  routes: Record<string, unknown>[];
  dns?: Record<string, unknown>;
}

function normalize(out: any): Seen {
  if ("ip4" in out || "ip6" in out) {
    const ips: Seen["ips"] = [];
    const routes: Seen["routes"] = [];
    for (const k of ["ip4", "ip6"]) {
      const c = out[k];
      if (!c) continue;
      ips.push(c.gateway ? { address: c.ip, gateway: c.gateway } : { address: c.ip });
      routes.push(...(c.routes ?? []));
    }
    return { ips, routes, dns: out.dns };
  }
  const ips = (out.ips ?? []).map((ip: any) => {
    const { version: _v, ...rest } = ip;
    return rest;
  });
  return { ips, routes: out.routes ?? [], dns: out.dns };
}

function add(config: unknown, cniArgs?: string): { raw: string; json: any; seen: Seen } {
  const r = run("ADD", config, cniArgs);
  if (r.exitCode !== 0) throw new Error(`ADD failed (${r.exitCode}): ${r.stdout} ${r.stderr}`);
  const json = JSON.parse(r.stdout);
  return { raw: r.stdout, json, seen: normalize(json) };
}

function expectError(r: Run, code: number, msg: string): void {
  expect(r.exitCode).toBe(1);
  expect(JSON.parse(r.stdout)).toEqual({ code, msg });
}

function expectDelOk(config: unknown, cniArgs?: string): void {
  const r = run("DEL", config, cniArgs);
  expect(r).toEqual({ exitCode: 0, stdout: "", stderr: "" });
}

const hasIPVersion = (v: string) => ["0.3.0", "0.3.1", "0.4.0"].includes(v);
const hasMultipleIPs = (v: string) => !["0.1.0", "0.2.0"].includes(v);

const docDNS = { nameservers: ["8.8.8.8"], domain: "example.com", search: ["example.com"] };

// ── Upstream's static_test.go, every case for every version ─────────────────────────────────

describe.each(ALL_VERSIONS.map((v) => [v]))("upstream static tests [%s]", (ver) => {
  test(`[${ver}] allocates and releases addresses with ADD/DEL`, () => {
    const conf = {
      cniVersion: ver,
      name: "mynet",
      type: "ipvlan",
      master: "foo0",
      ipam: {
        type: "static",
        addresses: [
          { address: "10.10.0.1/24", gateway: "10.10.0.254" },
          { address: "3ffe:ffff:0:01ff::1/64", gateway: "3ffe:ffff:0::1" },
        ],
        routes: [{ dst: "0.0.0.0/0" }, { dst: "192.168.0.0/16", gw: "10.10.5.1" }, { dst: "3ffe:ffff:0:01ff::1/64" }],
        dns: docDNS,
      },
    };
    const { raw, json, seen } = add(conf);
    expect(json.cniVersion).toBe(ver);
    if (hasIPVersion(ver)) expect(raw).toContain('"version":');
    expect(seen.ips).toEqual([
      { address: "10.10.0.1/24", gateway: "10.10.0.254" },
      { address: "3ffe:ffff:0:1ff::1/64", gateway: "3ffe:ffff::1" },
    ]);
    expect(seen.routes).toEqual([{ dst: "0.0.0.0/0" }, { dst: "192.168.0.0/16", gw: "10.10.5.1" }, { dst: "3ffe:ffff:0:1ff::1/64" }]);
    expect(seen.dns).toEqual(docDNS);
    expectDelOk(conf);
  });

  // #1248 (reverted by #1251 because it claimed kernel ECMP); the static result it expected,
  // both same-destination routes as separate entries in order, is still upstream's behaviour.
  test(`[${ver}] keeps multiple gateways for the same destination (ECMP)`, () => {
    const conf = {
      cniVersion: ver,
      name: "mynet",
      type: "ipvlan",
      master: "foo0",
      ipam: {
        type: "static",
        addresses: [{ address: "10.10.0.1/24", gateway: "10.10.0.254" }],
        routes: [
          { dst: "0.0.0.0/0", gw: "10.10.0.254" },
          { dst: "0.0.0.0/0", gw: "10.10.0.253" },
        ],
      },
    };
    const { seen } = add(conf);
    expect(seen.routes).toEqual([
      { dst: "0.0.0.0/0", gw: "10.10.0.254" },
      { dst: "0.0.0.0/0", gw: "10.10.0.253" },
    ]);
    expectDelOk(conf);
  });

  test(`[${ver}] doesn't error when passed an unknown ID on DEL`, () => {
    expectDelOk({
      cniVersion: ver,
      name: "mynet",
      type: "ipvlan",
      master: "foo0",
      ipam: {
        type: "static",
        addresses: [
          { address: "10.10.0.1/24", gateway: "10.10.0.254" },
          { address: "3ffe:ffff:0:01ff::1/64", gateway: "3ffe:ffff:0::1" },
        ],
        routes: [{ dst: "0.0.0.0/0" }, { dst: "192.168.0.0/16", gw: "10.10.5.1" }, { dst: "3ffe:ffff:0:01ff::1/64" }],
        dns: docDNS,
      },
    });
  });

  test(`[${ver}] allocates and releases addresses with ADD/DEL, with ENV variables`, () => {
    const conf = {
      cniVersion: ver,
      name: "mynet",
      type: "ipvlan",
      master: "foo0",
      ipam: {
        type: "static",
        routes: [{ dst: "0.0.0.0/0" }, { dst: "192.168.0.0/16", gw: "10.10.5.1" }],
        dns: docDNS,
      },
    };
    const cniArgs = "IP=10.10.0.1/24;GATEWAY=10.10.0.254";
    const { raw, seen } = add(conf, cniArgs);
    if (hasIPVersion(ver)) expect(raw).toContain('"version":');
    expect(seen.ips).toEqual([{ address: "10.10.0.1/24", gateway: "10.10.0.254" }]);
    expect(seen.routes).toEqual([{ dst: "0.0.0.0/0" }, { dst: "192.168.0.0/16", gw: "10.10.5.1" }]);
    expectDelOk(conf, cniArgs);
  });

  test(`[${ver}] allocates and releases multiple addresses with ADD/DEL, with ENV variables`, () => {
    const conf = { cniVersion: ver, name: "mynet", type: "ipvlan", master: "foo0", ipam: { type: "static" } };
    const cniArgs = "IP=10.10.0.1/24,11.11.0.1/24;GATEWAY=10.10.0.254";
    if (!hasMultipleIPs(ver)) {
      expectError(run("ADD", conf, cniArgs), 999, `CNI version ${ver} does not support more than 1 address per family`);
      return;
    }
    const { raw, seen } = add(conf, cniArgs);
    if (hasIPVersion(ver)) expect(raw).toContain('"version":');
    expect(seen.ips).toEqual([{ address: "10.10.0.1/24", gateway: "10.10.0.254" }, { address: "11.11.0.1/24" }]);
    expectDelOk(conf, cniArgs);
  });

  const routesV4V6 = [
    { dst: "0.0.0.0/0", gw: "10.10.0.254" },
    { dst: "3ffe:ffff:0:01ff::1/64", gw: "3ffe:ffff:0::1" },
  ];
  const routesV4V6Printed = [
    { dst: "0.0.0.0/0", gw: "10.10.0.254" },
    { dst: "3ffe:ffff:0:1ff::1/64", gw: "3ffe:ffff::1" },
  ];

  test(`[${ver}] allocates and releases multiple addresses with ADD/DEL, from RuntimeConfig`, () => {
    const conf = {
      cniVersion: ver,
      name: "mynet",
      type: "ipvlan",
      master: "foo0",
      capabilities: { ips: true },
      ipam: { type: "static", routes: routesV4V6, dns: docDNS },
      RuntimeConfig: { ips: ["10.10.0.1/24", "3ffe:ffff:0:01ff::1/64"] },
    };
    const { raw, seen } = add(conf);
    if (hasIPVersion(ver)) expect(raw).toContain('"version":');
    expect(seen.ips).toEqual([{ address: "10.10.0.1/24" }, { address: "3ffe:ffff:0:1ff::1/64" }]);
    expect(seen.routes).toEqual(routesV4V6Printed);
    expectDelOk(conf);
  });

  test(`[${ver}] allocates and releases multiple addresses with ADD/DEL, from args`, () => {
    const conf = {
      cniVersion: ver,
      name: "mynet",
      type: "ipvlan",
      master: "foo0",
      ipam: { type: "static", routes: routesV4V6, dns: docDNS },
      args: { cni: { ips: ["10.10.0.1/24", "3ffe:ffff:0:01ff::1/64"] } },
    };
    const { raw, seen } = add(conf);
    if (hasIPVersion(ver)) expect(raw).toContain('"version":');
    expect(seen.ips).toEqual([{ address: "10.10.0.1/24" }, { address: "3ffe:ffff:0:1ff::1/64" }]);
    expect(seen.routes).toEqual(routesV4V6Printed);
    expectDelOk(conf);
  });

  test(`[${ver}] allocates and releases multiple addresses with ADD/DEL, from RuntimeConfig/ARGS/CNI_ARGS`, () => {
    const conf = {
      cniVersion: ver,
      name: "mynet",
      type: "ipvlan",
      master: "foo0",
      capabilities: { ips: true },
      ipam: { type: "static", routes: routesV4V6, dns: docDNS },
      RuntimeConfig: { ips: ["10.10.0.1/24", "3ffe:ffff:0:01ff::1/64"] },
      args: { cni: { ips: ["10.10.0.2/24", "3ffe:ffff:0:01ff::2/64"] } },
    };
    const cniArgs = "IP=10.10.0.3/24,11.11.0.3/24;GATEWAY=10.10.0.254";
    const { raw, seen } = add(conf, cniArgs);
    if (hasIPVersion(ver)) expect(raw).toContain('"version":');
    // only the runtimeConfig addresses, because of its priority
    expect(seen.ips).toEqual([{ address: "10.10.0.1/24" }, { address: "3ffe:ffff:0:1ff::1/64" }]);
    expect(seen.routes).toEqual(routesV4V6Printed);
    expectDelOk(conf, cniArgs);
  });

  test(`[${ver}] is returning an error on missing ipam key when args are set`, () => {
    const conf = { cniVersion: ver, name: "mynet", type: "ipvlan", master: "foo0" };
    expectError(run("ADD", conf, "IP=10.10.0.1/24;GATEWAY=10.10.0.254"), 999, "IPAM config missing 'ipam' key");
  });

  test(`[${ver}] is returning an error on missing ipam key when runtimeConfig is set`, () => {
    const conf = { cniVersion: ver, name: "mynet", type: "ipvlan", master: "foo0", runtimeConfig: { ips: ["10.10.0.1/24"] } };
    expectError(run("ADD", conf), 999, "IPAM config missing 'ipam' key");
  });

  test(`[${ver}] errors when passed an invalid CIDR via ipam config`, () => {
    const conf = { cniVersion: ver, name: "mynet", type: "bridge", ipam: { type: "static", addresses: [{ address: "10.10.0.1" }] } };
    expectError(run("ADD", conf), 999, "the 'address' field is expected to be in CIDR notation, got: '10.10.0.1'");
  });

  // Upstream's name says "via Args", but the test uses CNI_ARGS.
  test(`[${ver}] errors when passed an invalid CIDR via Args`, () => {
    const conf = { cniVersion: ver, name: "mynet", type: "bridge", ipam: { type: "static", routes: [{ dst: "0.0.0.0/0" }] } };
    expectError(run("ADD", conf, "IP=10.10.0.1"), 999, "the 'ip' field is expected to be in CIDR notation, got: '10.10.0.1'");
  });

  // Upstream's name says "via CNI_ARGS", but the test uses args.cni.ips.
  test(`[${ver}] errors when passed an invalid CIDR via CNI_ARGS`, () => {
    const conf = {
      cniVersion: ver,
      name: "mynet",
      type: "bridge",
      ipam: { type: "static", routes: [{ dst: "0.0.0.0/0" }] },
      args: { cni: { ips: ["10.10.0.1"] } },
    };
    expectError(run("ADD", conf), 999, "an entry in the 'ips' field is NOT in CIDR notation, got: '10.10.0.1'");
  });

  test(`[${ver}] errors when passed an invalid CIDR via RuntimeConfig`, () => {
    const conf = {
      cniVersion: ver,
      name: "mynet",
      type: "bridge",
      ipam: { type: "static", routes: [{ dst: "0.0.0.0/0" }] },
      RuntimeConfig: { ips: ["10.10.0.1"] },
    };
    expectError(run("ADD", conf), 999, "an entry in the 'ips' field is NOT in CIDR notation, got: '10.10.0.1'");
  });
});

// ── Beyond upstream's list ──────────────────────────────────────────────────────────────────

const base = (ipam: Record<string, unknown>, extra: Record<string, unknown> = {}, ver = "1.1.0") => ({
  cniVersion: ver,
  name: "mynet",
  type: "macvlan",
  master: "foo0",
  ipam: { type: "static", ...ipam },
  ...extra,
});

/** Calls the plugin function directly, as in-process delegation does: internal fields visible. */
function addInProcess(config: Record<string, unknown>, cniArgs = ""): Result {
  const bytes = new TextEncoder().encode(JSON.stringify(config));
  const args: CmdArgs = {
    command: "ADD",
    containerId: "dummy",
    netns: "/some/where",
    ifname: "eth0",
    args: cniArgs,
    path: ["/opt/cni/bin"],
    stdin: bytes,
    config,
    cniVersion: String(config.cniVersion ?? ""),
  };
  const r = staticIpam.add(args);
  // `field` and `dstText` are message metadata (never printed): not what these tests compare.
  for (const rt of r.routes ?? []) {
    delete rt.field;
    delete rt.dstText;
  }
  return r;
}

describe("protocol", () => {
  test("the plugin is registered as static, for every version", () => {
    expect(ownPlugin("static")?.supportedVersions).toEqual(["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]);
    expect(staticIpam.supportedVersions).toEqual(["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]);
  });

  test("VERSION", () => {
    const r = run("VERSION", "");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(
      '{"cniVersion":"1.1.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}\n',
    );
  });

  test("STATUS and GC succeed silently (1.1.0)", () => {
    for (const cmd of ["STATUS", "GC"]) {
      expect(run(cmd, base({}))).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    }
  });

  test("STATUS and GC need 1.1.0, as with skel", () => {
    expectError(run("STATUS", base({}, {}, "1.0.0")), 1, "config version does not allow STATUS");
    expectError(run("GC", base({}, {}, "1.0.0")), 1, "config version does not allow GC");
  });

  test("the doc example prints byte for byte as upstream (1.1.0: keys sorted, 4-space indent, no newline)", () => {
    const r = run(
      "ADD",
      base({
        addresses: [
          { address: "10.10.0.1/24", gateway: "10.10.0.254" },
          { address: "3ffe:ffff:0:01ff::1/64", gateway: "3ffe:ffff:0::1" },
        ],
        routes: [{ dst: "0.0.0.0/0" }, { dst: "192.168.0.0/16", gw: "10.10.5.1" }, { dst: "3ffe:ffff:0:01ff::1/64" }],
        dns: docDNS,
      }),
    );
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(
      [
        "{",
        '    "cniVersion": "1.1.0",',
        '    "dns": {',
        '        "domain": "example.com",',
        '        "nameservers": [',
        '            "8.8.8.8"',
        "        ],",
        '        "search": [',
        '            "example.com"',
        "        ]",
        "    },",
        '    "ips": [',
        "        {",
        '            "address": "10.10.0.1/24",',
        '            "gateway": "10.10.0.254"',
        "        },",
        "        {",
        '            "address": "3ffe:ffff:0:1ff::1/64",',
        '            "gateway": "3ffe:ffff::1"',
        "        }",
        "    ],",
        '    "routes": [',
        "        {",
        '            "dst": "0.0.0.0/0"',
        "        },",
        "        {",
        '            "dst": "192.168.0.0/16",',
        '            "gw": "10.10.5.1"',
        "        },",
        "        {",
        '            "dst": "3ffe:ffff:0:1ff::1/64"',
        "        }",
        "    ]",
        "}",
      ].join("\n"),
    );
  });

  test("0.1.0/0.2.0 cannot carry a result without addresses (upstream's conversion error)", () => {
    expectError(run("ADD", base({ routes: [{ dst: "0.0.0.0/0" }] }, {}, "0.2.0")), 999, "cannot convert: no valid IP addresses");
    const { json } = add(base({ routes: [{ dst: "0.0.0.0/0" }] }, {}, "0.4.0"));
    expect(json).toEqual({ cniVersion: "0.4.0", routes: [{ dst: "0.0.0.0/0" }], dns: {} });
  });
});

describe("CHECK", () => {
  const ipam = {
    addresses: [
      { address: "10.10.0.1/24", gateway: "10.10.0.254" },
      { address: "3ffe:ffff:0:01ff::1/64", gateway: "3ffe:ffff:0::1" },
    ],
  };
  const prev = (ips: unknown[], ver = "1.1.0") => ({ cniVersion: ver, ips });

  for (const ver of ["0.4.0", "1.0.0", "1.1.0"]) {
    const ip = (address: string, gateway?: string) =>
      ver === "0.4.0" ? { version: address.includes(":") ? "6" : "4", address, gateway } : { address, gateway };

    test(`[${ver}] a prevResult with the configured addresses and gateways passes`, () => {
      const conf = base(ipam, { prevResult: prev([ip("10.10.0.1/24", "10.10.0.254"), ip("3ffe:ffff:0:1ff::1/64", "3ffe:ffff::1")], ver) }, ver);
      expect(run("CHECK", conf)).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    });

    test(`[${ver}] Required prevResult missing`, () => {
      expectError(run("CHECK", base(ipam, {}, ver)), 999, "Required prevResult missing");
      expectError(run("CHECK", base(ipam, { prevResult: null }, ver)), 999, "Required prevResult missing");
    });

    test(`[${ver}] a different gateway fails`, () => {
      const conf = base(ipam, { prevResult: prev([ip("10.10.0.1/24", "10.10.0.1")], ver) }, ver);
      expectError(run("CHECK", conf), 999, "static: Failed to match addr 10.10.0.1 on interface eth0");
    });

    test(`[${ver}] a missing gateway fails, named with the interface`, () => {
      const conf = base(ipam, { prevResult: prev([ip("3ffe:ffff:0:1ff::1/64")], ver) }, ver);
      const r = run("CHECK", conf, undefined, { CNI_IFNAME: "net1" });
      expectError(r, 999, "static: Failed to match addr 3ffe:ffff:0:1ff::1 on interface net1");
    });
  }

  test("configured addresses missing from prevResult are not an error (as upstream)", () => {
    expect(run("CHECK", base(ipam, { prevResult: prev([ip4("192.0.2.1/24")]) })).exitCode).toBe(0);
    expect(run("CHECK", base(ipam, { prevResult: prev([]) })).exitCode).toBe(0);
  });

  test("an address configured without a gateway matches any gateway", () => {
    const conf = base({ addresses: [{ address: "10.10.0.1/24" }] }, { prevResult: prev([ip4("10.10.0.1/24", "10.10.0.99")]) });
    expect(run("CHECK", conf).exitCode).toBe(0);
  });

  test("addresses compare as IPs, not text (prefix and spelling do not matter)", () => {
    const conf = base(ipam, { prevResult: prev([ip4("10.10.0.1/16", "10.10.0.254"), { address: "3ffe:ffff:0:01ff:0::1/64", gateway: "3ffe:ffff:0:0::1" }]) });
    expect(run("CHECK", conf).exitCode).toBe(0);
  });

  test("CHECK applies the same precedence: runtimeConfig addresses carry no gateway", () => {
    const conf = base(ipam, {
      runtimeConfig: { ips: ["10.10.0.1/24"] },
      prevResult: prev([ip4("10.10.0.1/24", "10.10.0.77")]),
    });
    expect(run("CHECK", conf).exitCode).toBe(0);
  });

  test("CHECK applies CNI_ARGS gateways", () => {
    const conf = base({}, { prevResult: prev([ip4("10.10.0.1/24", "10.10.0.1")]) });
    expectError(run("CHECK", conf, "IP=10.10.0.1/24;GATEWAY=10.10.0.254"), 999, "static: Failed to match addr 10.10.0.1 on interface eth0");
  });

  test("CHECK loads the config first: its errors come before prevResult's", () => {
    expectError(run("CHECK", { cniVersion: "1.1.0", name: "mynet" }), 999, "IPAM config missing 'ipam' key");
  });

  test("CHECK before 0.4.0 is refused by the protocol driver", () => {
    expectError(run("CHECK", base(ipam, {}, "0.3.1")), 1, "config version does not allow CHECK");
  });

  function ip4(address: string, gateway?: string) {
    return gateway ? { address, gateway } : { address };
  }
});

describe("Go's case-insensitive keys", () => {
  test("top-level, ipam, address, route and dns keys in any case", () => {
    const conf = {
      cniVersion: "1.1.0",
      name: "mynet",
      type: "macvlan",
      IPAM: {
        Type: "static",
        Addresses: [{ ADDRESS: "10.10.0.1/24", Gateway: "10.10.0.254" }],
        ROUTES: [{ Dst: "0.0.0.0/0", GW: "10.10.0.254", MTU: 1400, AdvMSS: 1360, Priority: 5, Table: 10, Scope: 0 }],
        DNS: { NameServers: ["8.8.8.8"], Domain: "example.com", Search: ["a"], Options: ["ndots:2"] },
      },
    };
    const { json } = add(conf);
    expect(json).toEqual({
      cniVersion: "1.1.0",
      ips: [{ address: "10.10.0.1/24", gateway: "10.10.0.254" }],
      routes: [{ dst: "0.0.0.0/0", gw: "10.10.0.254", mtu: 1400, advmss: 1360, priority: 5, table: 10, scope: 0 }],
      dns: { nameservers: ["8.8.8.8"], domain: "example.com", search: ["a"], options: ["ndots:2"] },
    });
  });

  test("runtimeConfig and args in any case", () => {
    const a = add(base({}, { runtimeconfig: { IPs: ["10.10.0.1/24"] } }));
    expect(a.seen.ips).toEqual([{ address: "10.10.0.1/24" }]);
    const b = add(base({}, { Args: { CNI: { IPS: ["10.10.0.2/24"] } } }));
    expect(b.seen.ips).toEqual([{ address: "10.10.0.2/24" }]);
  });

  test("a route's gws key in any case", () => {
    const { json } = add(base({ routes: [{ dst: "0.0.0.0/0", GWs: ["10.0.0.1", "10.0.0.2"] }] }));
    expect(json.routes).toEqual([
      { dst: "0.0.0.0/0", gw: "10.0.0.1" },
      { dst: "0.0.0.0/0", gw: "10.0.0.2" },
    ]);
  });
});

describe("addresses: sources, precedence and canonical forms", () => {
  test("CNI_ARGS addresses are appended to config addresses; items are trimmed", () => {
    const { seen } = add(base({ addresses: [{ address: "10.10.0.1/24", gateway: "10.10.0.254" }] }), "IP=11.11.0.1/24, 3ffe::1/64 ");
    expect(seen.ips).toEqual([{ address: "10.10.0.1/24", gateway: "10.10.0.254" }, { address: "11.11.0.1/24" }, { address: "3ffe::1/64" }]);
  });

  test("a CNI_ARGS GATEWAY goes to CNI_ARGS addresses whose subnet holds it; the last match wins", () => {
    const { seen } = add(base({}), "IP=10.10.0.1/24,11.11.0.1/24,3ffe::1/64;GATEWAY=10.10.0.254,11.11.0.254,10.10.0.253,3ffe::fe");
    expect(seen.ips).toEqual([
      { address: "10.10.0.1/24", gateway: "10.10.0.253" },
      { address: "11.11.0.1/24", gateway: "11.11.0.254" },
      { address: "3ffe::1/64", gateway: "3ffe::fe" },
    ]);
  });

  // Upstream parses config addresses only after CNI_ARGS, so their subnet is still unknown when
  // GATEWAY is applied (code reading of LoadIPAMConfig; kept for parity).
  test("a CNI_ARGS GATEWAY does not reach config addresses (upstream quirk)", () => {
    const { seen } = add(base({ addresses: [{ address: "10.10.0.1/24" }] }), "GATEWAY=10.10.0.254");
    expect(seen.ips).toEqual([{ address: "10.10.0.1/24" }]);
  });

  test("CNI_ARGS: other keys need IgnoreUnknown; an empty IP is ignored", () => {
    expectError(run("ADD", base({}), "K8S_POD_NAME=p;IP=10.10.0.1/24"), 999, 'ARGS: unknown args ["K8S_POD_NAME=p"]');
    const { seen } = add(base({}), "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=p;IP=10.10.0.1/24");
    expect(seen.ips).toEqual([{ address: "10.10.0.1/24" }]);
    expect(add(base({ routes: [{ dst: "0.0.0.0/0" }] }), "IP=").json.ips).toBeUndefined();
  });

  test("CNI_ARGS errors", () => {
    expectError(run("ADD", base({}), "IP=10.10.0.1/24;GATEWAY=10.10.0.254, bogus"), 999, "invalid gateway address:  bogus");
    expectError(run("ADD", base({}), "IP=10.10.0.1/24=x"), 999, 'ARGS: invalid pair "IP=10.10.0.1/24=x"');
    expectError(run("ADD", base({}), "IP=10.10.0.1/24, 010.0.0.1/8"), 999, "the 'ip' field is expected to be in CIDR notation, got: '010.0.0.1/8'");
  });

  test("args.cni.ips and runtimeConfig.ips replace, and only when non-empty", () => {
    const conf = base({ addresses: [{ address: "10.10.0.1/24", gateway: "10.10.0.254" }] }, { runtimeConfig: { ips: [] }, args: { cni: { ips: [] } } });
    expect(add(conf).seen.ips).toEqual([{ address: "10.10.0.1/24", gateway: "10.10.0.254" }]);
  });

  test("replaced config addresses are never parsed", () => {
    const conf = base({ addresses: [{ address: "not-a-cidr" }] }, { runtimeConfig: { ips: ["10.10.0.1/24"] } });
    expect(add(conf).seen.ips).toEqual([{ address: "10.10.0.1/24" }]);
  });

  test("host bits are kept; IPv6 is printed compressed; IPv4-mapped addresses are IPv4", () => {
    const { json } = add(base({ addresses: [{ address: "3FFE:ffff:0000::0001/64" }, { address: "::ffff:10.10.0.1/120", gateway: "::ffff:10.10.0.254" }] }, {}, "0.4.0"));
    expect(json.ips).toEqual([
      { version: "6", address: "3ffe:ffff::1/64" },
      { version: "4", address: "10.10.0.1/24", gateway: "10.10.0.254" },
    ]);
  });

  test("an IPv4-mapped address counts as IPv4 for the one-per-family limit", () => {
    const conf = base({ addresses: [{ address: "10.10.0.1/24" }, { address: "::ffff:10.10.0.2/120" }] }, {}, "0.2.0");
    expectError(run("ADD", conf), 999, "CNI version 0.2.0 does not support more than 1 address per family");
    const ok = add(base({ addresses: [{ address: "10.10.0.1/24" }, { address: "3ffe::1/64" }] }, {}, "0.2.0"));
    expect(ok.json.ip4.ip).toBe("10.10.0.1/24");
    expect(ok.json.ip6.ip).toBe("3ffe::1/64");
  });

  test("without cniVersion the limit applies, with upstream's message for an empty version", () => {
    const conf = { name: "mynet", type: "macvlan", ipam: { type: "static", addresses: [{ address: "10.10.0.1/24" }, { address: "10.10.0.2/24" }] } };
    expectError(run("ADD", conf), 999, "CNI version  does not support more than 1 address per family");
  });

  test("an address entry without address, and null entries, fail as upstream", () => {
    expectError(run("ADD", base({ addresses: [{ gateway: "10.10.0.254" }] })), 999, "the 'address' field is expected to be in CIDR notation, got: ''");
    expectError(run("ADD", base({ addresses: [null] })), 999, "the 'address' field is expected to be in CIDR notation, got: ''");
  });

  test("no addresses at all: ips omitted (a main plugin rejects that, not static)", () => {
    const { json } = add(base({ routes: [{ dst: "0.0.0.0/0" }] }));
    expect(json).toEqual({ cniVersion: "1.1.0", routes: [{ dst: "0.0.0.0/0" }] });
  });
});

describe("config type errors (Go decode errors: code 999, field named)", () => {
  test.each([
    [{ addresses: [{ address: "10.10.0.1/24", gateway: "10.10.0.300" }] }, "ipam.addresses[0].gateway: invalid IP address: 10.10.0.300"],
    [{ routes: [{ dst: "0.0.0.0/0", gw: "fe80::1%eth0" }] }, "ipam.routes[0].gw: invalid IP address: fe80::1%eth0"],
    [{ routes: [{ dst: "10.0.0.0" }] }, "ipam.routes[0].dst: invalid CIDR address: 10.0.0.0"],
    [{ routes: [{ dst: null }] }, "ipam.routes[0].dst: invalid CIDR address: "],
    [{ routes: [{ dst: 5 }] }, "ipam.routes[0].dst: expected a string, got 5"],
    [{ routes: [{ dst: "0.0.0.0/0", mtu: 1.5 }] }, "ipam.routes[0].mtu: expected an integer, got 1.5"],
    [{ routes: [{ dst: "0.0.0.0/0", table: "main" }] }, 'ipam.routes[0].table: expected a number, got "main"'],
    [{ routes: "0.0.0.0/0" }, 'ipam.routes: expected a list, got "0.0.0.0/0"'],
    [{ routes: [null] }, "ipam.routes[0]: expected an object, got null"],
    [{ addresses: { address: "10.10.0.1/24" } }, 'ipam.addresses: expected a list, got {"address":"10.10.0.1/24"}'],
    [{ dns: { nameservers: "8.8.8.8" } }, 'ipam.dns.nameservers: expected a list, got "8.8.8.8"'],
    [{ dns: { domain: 1 } }, "ipam.dns.domain: expected a string, got 1"],
  ])("%j", (ipam, msg) => {
    expectError(run("ADD", base(ipam)), 999, msg);
  });

  test("top-level keys", () => {
    expectError(run("ADD", base({}, { ipam: "static" })), 999, 'ipam: expected an object, got "static"');
    expectError(run("ADD", base({}, { runtimeConfig: { ips: "10.10.0.1/24" } })), 999, 'runtimeConfig.ips: expected a list, got "10.10.0.1/24"');
    expectError(run("ADD", base({}, { args: { cni: { ips: [1] } } })), 999, "args.cni.ips[0]: expected a string, got 1");
  });

  test("ipam: null is a missing ipam", () => {
    expectError(run("ADD", base({}, { ipam: null })), 999, "IPAM config missing 'ipam' key");
  });

  test("a route without dst is refused (upstream would print \"dst\": \"<nil>\")", () => {
    expectError(run("ADD", base({ routes: [{ gw: "10.10.0.254" }] })), 7, "ipam.routes[0].dst: required");
  });
});

describe("routes: upstream behaviour without gws", () => {
  test("same-destination routes stay separate entries, in order, in both families", () => {
    const routes = [
      { dst: "0.0.0.0/0", gw: "10.10.0.254" },
      { dst: "::/0", gw: "3ffe::fe" },
      { dst: "0.0.0.0/0", gw: "10.10.0.253" },
      { dst: "::/0", gw: "3ffe::fd" },
    ];
    const { json } = add(base({ routes }));
    expect(json.routes).toEqual(routes);
    for (const r of addInProcess(base({ routes })).routes!) expect(r.weight).toBeUndefined();
  });

  test("a plain route's gw is not checked against the dst family (as upstream)", () => {
    const { json } = add(base({ routes: [{ dst: "0.0.0.0/0", gw: "3ffe::1" }] }));
    expect(json.routes).toEqual([{ dst: "0.0.0.0/0", gw: "3ffe::1" }]);
  });

  test("gw \"\" or null means no gateway", () => {
    const { json } = add(base({ routes: [{ dst: "0.0.0.0/0", gw: "" }, { dst: "::/0", gw: null }] }));
    expect(json.routes).toEqual([{ dst: "0.0.0.0/0" }, { dst: "::/0" }]);
  });

  test("mtu, advmss, priority, table and scope pass through (0 omitted where Go omits it)", () => {
    const routes = [
      { dst: "10.1.0.0/16", gw: "10.10.0.1", mtu: 1400, advmss: 1360, priority: 100, table: 200, scope: 0 },
      { dst: "10.2.0.0/16", mtu: 0, advmss: 0, priority: 0, table: 0, scope: 253 },
      { dst: "10.3.0.0/16", mtu: null, table: null },
    ];
    const printed = [
      { dst: "10.1.0.0/16", gw: "10.10.0.1", mtu: 1400, advmss: 1360, priority: 100, table: 200, scope: 0 },
      { dst: "10.2.0.0/16", table: 0, scope: 253 },
      { dst: "10.3.0.0/16" },
    ];
    for (const ver of ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]) {
      const { json } = add(base({ addresses: [{ address: "10.10.0.2/24" }], routes }, {}, ver));
      expect(json.routes).toEqual(printed);
    }
    // 0.1.0/0.2.0 routes carry dst and gw only.
    const { json } = add(base({ addresses: [{ address: "10.10.0.2/24" }], routes }, {}, "0.2.0"));
    expect(json.ip4.routes).toEqual([{ dst: "10.1.0.0/16", gw: "10.10.0.1" }, { dst: "10.2.0.0/16" }, { dst: "10.3.0.0/16" }]);
  });
});

describe("dns", () => {
  test("passes through every field", () => {
    const dns = { nameservers: ["8.8.8.8", "2001:4860:4860::8888"], domain: "example.com", search: ["a.example.com", "b"], options: ["ndots:2", "rotate"] };
    for (const ver of ALL_VERSIONS) {
      const { json } = add(base({ addresses: [{ address: "10.10.0.1/24" }], dns }, {}, ver));
      expect(json.dns).toEqual(dns);
    }
  });

  test("empty fields are dropped; an empty dns is omitted in 1.x and {} in 0.x", () => {
    const dns = { nameservers: [], domain: "", search: null, options: ["ndots:2"] };
    expect(add(base({ addresses: [{ address: "10.10.0.1/24" }], dns })).json.dns).toEqual({ options: ["ndots:2"] });
    expect(add(base({ addresses: [{ address: "10.10.0.1/24" }] })).json.dns).toBeUndefined();
    expect(add(base({ addresses: [{ address: "10.10.0.1/24" }] }, {}, "0.4.0")).json.dns).toEqual({});
    expect(add(base({ addresses: [{ address: "10.10.0.1/24" }] }, {}, "0.2.0")).json.dns).toEqual({});
  });
});

describe("extension: explicit ECMP with gws", () => {
  const addr = { addresses: [{ address: "10.10.0.1/24" }, { address: "3ffe:ffff::10/64" }] };
  const hops = (r: Result) => r.routes!.map((x) => [x.gw, x.weight]);

  test("one standard route entry per gateway, in order; weights in-process, never printed", () => {
    const ipam = { ...addr, routes: [{ dst: "0.0.0.0/0", gws: ["10.10.0.253", "10.10.0.254"] }] };
    const r = run("ADD", base(ipam));
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout).routes).toEqual([
      { dst: "0.0.0.0/0", gw: "10.10.0.253" },
      { dst: "0.0.0.0/0", gw: "10.10.0.254" },
    ]);
    expect(r.stdout).not.toContain("weight");
    expect(r.stdout).not.toContain("gws");
    expect(hops(addInProcess(base(ipam)))).toEqual([
      ["10.10.0.253", 1],
      ["10.10.0.254", 1],
    ]);
  });

  test("object entries carry weights 1..256; strings weigh 1", () => {
    const ipam = { ...addr, routes: [{ dst: "::/0", gws: [{ gw: "3ffe:ffff::1", weight: 256 }, "3ffe:ffff::2", { gw: "3ffe:ffff::3" }, { gw: "3ffe:ffff::4", weight: 1 }] }] };
    expect(hops(addInProcess(base(ipam)))).toEqual([
      ["3ffe:ffff::1", 256],
      ["3ffe:ffff::2", 1],
      ["3ffe:ffff::3", 1],
      ["3ffe:ffff::4", 1],
    ]);
  });

  test("gw is merged first, weight 1", () => {
    const ipam = { ...addr, routes: [{ dst: "0.0.0.0/0", gw: "10.10.0.252", gws: ["10.10.0.253", { gw: "10.10.0.254", weight: 2 }] }] };
    expect(hops(addInProcess(base(ipam)))).toEqual([
      ["10.10.0.252", 1],
      ["10.10.0.253", 1],
      ["10.10.0.254", 2],
    ]);
  });

  test("gw equal to a gws entry is not added again: that entry's position and weight stand", () => {
    const ipam = { ...addr, routes: [{ dst: "0.0.0.0/0", gw: "10.10.0.254", gws: ["10.10.0.253", { gw: "10.10.0.254", weight: 7 }] }] };
    expect(hops(addInProcess(base(ipam)))).toEqual([
      ["10.10.0.253", 1],
      ["10.10.0.254", 7],
    ]);
    // Equal as addresses, not as text.
    const v6 = { ...addr, routes: [{ dst: "::/0", gw: "3FFE:ffff:0::1", gws: ["3ffe:ffff::1"] }] };
    expect(hops(addInProcess(base(v6)))).toEqual([["3ffe:ffff::1", 1]]);
  });

  test("a single gateway in gws is a one-nexthop route with a weight", () => {
    const ipam = { ...addr, routes: [{ dst: "192.168.0.0/16", gws: [{ gw: "10.10.0.9", weight: 3 }] }] };
    const r = addInProcess(base(ipam));
    expect(r.routes).toEqual([{ dst: "192.168.0.0/16", gw: "10.10.0.9", weight: 3 }]);
  });

  test("every entry shares dst, mtu, advmss, priority, table and scope", () => {
    const route = { dst: "3ffe:1::/48", gws: ["3ffe:ffff::1", "3ffe:ffff::2"], mtu: 1400, advmss: 1340, priority: 10, table: 100, scope: 0 };
    const { json } = add(base({ ...addr, routes: [route] }));
    const shared = { dst: "3ffe:1::/48", mtu: 1400, advmss: 1340, priority: 10, table: 100, scope: 0 };
    expect(json.routes).toEqual([
      { ...shared, gw: "3ffe:ffff::1" },
      { ...shared, gw: "3ffe:ffff::2" },
    ]);
  });

  test("gws routes and plain routes keep their order and stay separate entries", () => {
    const routes = [
      { dst: "0.0.0.0/0", gw: "10.10.0.250" },
      { dst: "0.0.0.0/0", gws: ["10.10.0.251", "10.10.0.252"], priority: 5 },
      { dst: "10.99.0.0/16" },
    ];
    const r = addInProcess(base({ ...addr, routes }));
    expect(r.routes).toEqual([
      { dst: "0.0.0.0/0", gw: "10.10.0.250" },
      { dst: "0.0.0.0/0", gw: "10.10.0.251", priority: 5, weight: 1 },
      { dst: "0.0.0.0/0", gw: "10.10.0.252", priority: 5, weight: 1 },
      { dst: "10.99.0.0/16" },
    ]);
  });

  test("addresses print canonically; the dst keeps its host bits as upstream", () => {
    const { json } = add(base({ ...addr, routes: [{ dst: "3FFE:0001::5/48", gws: ["3ffe:ffff:0000::0001", { gw: "3FFE:FFFF::2" }] }] }));
    expect(json.routes).toEqual([
      { dst: "3ffe:1::5/48", gw: "3ffe:ffff::1" },
      { dst: "3ffe:1::5/48", gw: "3ffe:ffff::2" },
    ]);
    const v4 = add(base({ ...addr, routes: [{ dst: "::ffff:10.1.0.0/112", gws: ["::ffff:10.10.0.1"] }] }));
    expect(v4.json.routes).toEqual([{ dst: "10.1.0.0/16", gw: "10.10.0.1" }]);
  });

  test("gws: null is no gws", () => {
    const r = addInProcess(base({ ...addr, routes: [{ dst: "0.0.0.0/0", gw: "10.10.0.254", gws: null }] }));
    expect(r.routes).toEqual([{ dst: "0.0.0.0/0", gw: "10.10.0.254" }]);
  });

  test("every version prints the nexthops as separate entries (0.2.0: under ip4/ip6)", () => {
    const ipam = { ...addr, routes: [{ dst: "0.0.0.0/0", gws: ["10.10.0.253", "10.10.0.254"] }, { dst: "::/0", gws: ["3ffe:ffff::1", "3ffe:ffff::2"] }] };
    const expected = [
      { dst: "0.0.0.0/0", gw: "10.10.0.253" },
      { dst: "0.0.0.0/0", gw: "10.10.0.254" },
      { dst: "::/0", gw: "3ffe:ffff::1" },
      { dst: "::/0", gw: "3ffe:ffff::2" },
    ];
    for (const ver of ALL_VERSIONS) {
      const r = run("ADD", base(ipam, {}, ver));
      expect(r.exitCode).toBe(0);
      expect(r.stdout).not.toContain("weight");
      expect(normalize(JSON.parse(r.stdout)).routes).toEqual(expected);
    }
  });

  test("in-process delegation keeps the weights in every version", async () => {
    const { delegateAdd } = await import("../../src/cni/delegate");
    const ipam = { ...addr, routes: [{ dst: "0.0.0.0/0", gws: [{ gw: "10.10.0.253", weight: 3 }, "10.10.0.254"] }] };
    for (const ver of ALL_VERSIONS) {
      if (!hasMultipleIPs(ver)) continue;
      const config = base(ipam, {}, ver);
      const args: CmdArgs = {
        command: "ADD",
        containerId: "dummy",
        netns: "/some/where",
        ifname: "eth0",
        args: "",
        path: ["/opt/cni/bin"],
        stdin: new TextEncoder().encode(JSON.stringify(config)),
        config,
        cniVersion: ver,
      };
      expect(hops(delegateAdd("static", args))).toEqual([
        ["10.10.0.253", 3],
        ["10.10.0.254", 1],
      ]);
    }
  });
});

describe("extension: every mistake in gws is code 7, naming field and value", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["not a list", { dst: "0.0.0.0/0", gws: "10.0.0.1" }, 'ipam.routes[1].gws: expected a list, got "10.0.0.1"'],
    ["an object instead of a list", { dst: "0.0.0.0/0", gws: { gw: "10.0.0.1" } }, 'ipam.routes[1].gws: expected a list, got {"gw":"10.0.0.1"}'],
    ["empty", { dst: "0.0.0.0/0", gws: [] }, "ipam.routes[1].gws: expected at least one gateway, got []"],
    ["empty even with gw", { dst: "0.0.0.0/0", gw: "10.0.0.1", gws: [] }, "ipam.routes[1].gws: expected at least one gateway, got []"],
    ["a number entry", { dst: "0.0.0.0/0", gws: ["10.0.0.1", 5] }, 'ipam.routes[1].gws[1]: expected an IP address or {"gw": <ip>, "weight": <1..256>}, got 5'],
    ["a null entry", { dst: "0.0.0.0/0", gws: [null] }, 'ipam.routes[1].gws[0]: expected an IP address or {"gw": <ip>, "weight": <1..256>}, got null'],
    ["a list entry", { dst: "0.0.0.0/0", gws: [["10.0.0.1"]] }, 'ipam.routes[1].gws[0]: expected an IP address or {"gw": <ip>, "weight": <1..256>}, got ["10.0.0.1"]'],
    ["a malformed IP", { dst: "0.0.0.0/0", gws: ["10.0.0.1", "10.0.0.256"] }, 'ipam.routes[1].gws[1]: invalid IP address: "10.0.0.256"'],
    ["an empty IP", { dst: "0.0.0.0/0", gws: [""] }, 'ipam.routes[1].gws[0]: invalid IP address: ""'],
    ["a leading-zero octet", { dst: "0.0.0.0/0", gws: ["010.0.0.1"] }, 'ipam.routes[1].gws[0]: invalid IP address: "010.0.0.1"'],
    ["a zone", { dst: "::/0", gws: ["fe80::1%eth0"] }, 'ipam.routes[1].gws[0]: invalid IP address: "fe80::1%eth0"'],
    ["a CIDR", { dst: "0.0.0.0/0", gws: ["10.0.0.1/24"] }, 'ipam.routes[1].gws[0]: invalid IP address: "10.0.0.1/24"'],
    ["a malformed gw in an object", { dst: "0.0.0.0/0", gws: [{ gw: "10.0.0" }] }, 'ipam.routes[1].gws[0].gw: invalid IP address: "10.0.0"'],
    ["an object without gw", { dst: "0.0.0.0/0", gws: [{ weight: 2 }] }, "ipam.routes[1].gws[0].gw: required"],
    ["an object with a non-string gw", { dst: "0.0.0.0/0", gws: [{ gw: 10 }] }, "ipam.routes[1].gws[0].gw: expected a string, got 10"],
    ["an unknown key", { dst: "0.0.0.0/0", gws: [{ gw: "10.0.0.1", wieght: 2 }] }, 'ipam.routes[1].gws[0]: unknown key "wieght"'],
    ["weight 0", { dst: "0.0.0.0/0", gws: [{ gw: "10.0.0.1", weight: 0 }] }, "ipam.routes[1].gws[0].weight: expected an integer from 1 to 256, got 0"],
    ["weight 257", { dst: "0.0.0.0/0", gws: [{ gw: "10.0.0.1", weight: 257 }] }, "ipam.routes[1].gws[0].weight: expected an integer from 1 to 256, got 257"],
    ["weight -1", { dst: "0.0.0.0/0", gws: [{ gw: "10.0.0.1", weight: -1 }] }, "ipam.routes[1].gws[0].weight: expected an integer from 1 to 256, got -1"],
    ["weight 1.5", { dst: "0.0.0.0/0", gws: [{ gw: "10.0.0.1", weight: 1.5 }] }, "ipam.routes[1].gws[0].weight: expected an integer from 1 to 256, got 1.5"],
    ["weight as a string", { dst: "0.0.0.0/0", gws: [{ gw: "10.0.0.1", weight: "2" }] }, 'ipam.routes[1].gws[0].weight: expected an integer from 1 to 256, got "2"'],
    ["weight null", { dst: "0.0.0.0/0", gws: [{ gw: "10.0.0.1", weight: null }] }, "ipam.routes[1].gws[0].weight: expected an integer from 1 to 256, got null"],
    ["a duplicate", { dst: "0.0.0.0/0", gws: ["10.0.0.1", "10.0.0.2", "10.0.0.1"] }, 'ipam.routes[1].gws[2]: duplicate gateway "10.0.0.1"'],
    ["a duplicate in another spelling", { dst: "0.0.0.0/0", gws: ["10.0.0.1", { gw: "::ffff:10.0.0.1", weight: 2 }] }, 'ipam.routes[1].gws[1]: duplicate gateway "10.0.0.1"'],
    ["an IPv6 duplicate", { dst: "::/0", gws: ["3ffe::1", "3FFE:0::0:1"] }, 'ipam.routes[1].gws[1]: duplicate gateway "3ffe::1"'],
    ["mixed families", { dst: "0.0.0.0/0", gws: ["10.0.0.1", "3ffe::1"] }, 'ipam.routes[1].gws[1]: gateway "3ffe::1" is IPv6 but gws[0] "10.0.0.1" is IPv4; gws must not mix families'],
    ["IPv6 gateways for an IPv4 dst", { dst: "0.0.0.0/0", gws: ["3ffe::1", "3ffe::2"] }, 'ipam.routes[1].gws[0]: gateway "3ffe::1" is IPv6 but dst "0.0.0.0/0" is IPv4'],
    ["IPv4 gateways for an IPv6 dst", { dst: "::/0", gws: ["10.0.0.1"] }, 'ipam.routes[1].gws[0]: gateway "10.0.0.1" is IPv4 but dst "::/0" is IPv6'],
    ["gw of the other family than dst", { dst: "0.0.0.0/0", gw: "3ffe::1", gws: ["10.0.0.1"] }, 'ipam.routes[1].gw: gateway "3ffe::1" is IPv6 but dst "0.0.0.0/0" is IPv4'],
  ];

  test.each(cases)("%s", (_name, route, msg) => {
    const ipam = { addresses: [{ address: "10.10.0.1/24" }], routes: [{ dst: "10.1.0.0/16" }, route] };
    for (const ver of ALL_VERSIONS) expectError(run("ADD", base(ipam, {}, ver)), 7, msg);
    // CHECK loads the same config, so it fails the same way.
    expectError(run("CHECK", base(ipam, { prevResult: { cniVersion: "1.1.0" } })), 7, msg);
  });

  test("a malformed gw next to gws is upstream's decode error (999), as for any route", () => {
    const ipam = { routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.", gws: ["10.0.0.1"] }] };
    expectError(run("ADD", base(ipam)), 999, "ipam.routes[0].gw: invalid IP address: 10.0.0.");
  });
});
