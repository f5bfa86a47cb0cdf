// static IPAM through the in-process protocol driver: env vars and stdin exactly as a runtime
// passes them, so codes, messages and the per-version output are all exercised.
//
// "upstream" tests mirror plugins/ipam/static/static_test.go (containernetworking/plugins v1.9.1,
// plus the ECMP case of #1248, reverted by #1251, whose expectation still holds for the static
// result) and run, as there, once per spec version.
import { describe, expect, test } from "bun:test";
import { runPlugin } from "../../src/cni/skel";
import { ownPlugin } from "../../src/cni/delegate";
import { ALL_VERSIONS } from "../../src/cni/version";
import type { CmdArgs, Result } from "../../src/cni/types";
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
