// CNI results on the wire, as the Go library (pkg/types/{020,040,100}) handles them:
//   - the wire forms of each result type and convertResult between them;
//   - parseResult / parsePrevResult: any accepted version back to the internal 1.1.0 Result, with
//     Go's decoding rules (case-insensitive keys, last duplicate wins, ParseIP/ParseCIDR) and its
//     error messages.
import { CniError, ErrCode } from "./errors.ts";
import { goField, goKind, isObject } from "./go/json.ts";
import { byteOrder } from "./go/marshal.ts";
import { goList, goQuote } from "./go/quote.ts";
import type { DNS, Interface, IPConfig, Result, Route } from "./types.ts";
import { CURRENT_VERSION, FAMILY_020, FAMILY_040, FAMILY_100 } from "./version.ts";
import { formatCIDR, formatIP, parseCIDR, parseIP } from "../ip.ts";

// ------------------------------------------------------------------------------------------------
// Wire forms. Routes are copied whole between forms (as Go copies types.Route), so the internal
// fields `weight` and `gws` survive an in-process conversion; they are never printed.

export interface Wire040 {
  cniVersion: string;
  interfaces: { name: string; mac?: string; sandbox?: string }[];
  ips: { version: string; interface?: number; address: string; gateway?: string }[];
  routes: Route[];
  dns: DNS;
}

export interface Wire020IP {
  ip: string;
  gateway?: string;
  routes: Route[];
}

export interface Wire020 {
  cniVersion: string;
  ip4?: Wire020IP;
  ip6?: Wire020IP;
  dns: DNS;
}

function copyDNS(d: DNS | undefined): DNS {
  const out: DNS = {};
  if (d?.nameservers?.length) out.nameservers = [...d.nameservers];
  if (d?.domain) out.domain = d.domain;
  if (d?.search?.length) out.search = [...d.search];
  if (d?.options?.length) out.options = [...d.options];
  return out;
}

export function dnsIsEmpty(d: DNS | undefined): boolean {
  return !d?.nameservers?.length && !d?.domain && !d?.search?.length && !d?.options?.length;
}

/** IPv4 when the address parses as one (Go: IP.To4() != nil, IPv4-mapped IPv6 included). */
function isV4(cidrOrIP: string): boolean {
  const c = cidrOrIP.includes("/") ? parseCIDR(cidrOrIP)?.ip : parseIP(cidrOrIP);
  return c?.family === 4;
}

export function to040(r: Result, version: string): Wire040 {
  return {
    cniVersion: version,
    interfaces: (r.interfaces ?? []).map((i) => ({ name: i.name, mac: i.mac, sandbox: i.sandbox })),
    ips: (r.ips ?? []).map((ip) => ({
      version: isV4(ip.address) ? "4" : "6",
      interface: ip.interface,
      address: ip.address,
      gateway: ip.gateway,
    })),
    routes: (r.routes ?? []).map((rt) => ({ ...rt })),
    dns: copyDNS(r.dns),
  };
}

/** types040 convertTo02x: the first IPv4 and first IPv6 address; routes by destination family. */
export function to020(r: Wire040, version: string): Wire020 {
  const out: Wire020 = { cniVersion: version, dns: copyDNS(r.dns) };
  for (const ip of r.ips) {
    if (ip.version === "4" && !out.ip4) out.ip4 = { ip: ip.address, gateway: ip.gateway, routes: [] };
    else if (ip.version === "6" && !out.ip6) out.ip6 = { ip: ip.address, gateway: ip.gateway, routes: [] };
    if (out.ip4 && out.ip6) break;
  }
  for (const rt of r.routes) {
    const reduced: Route = { dst: rt.dst };
    if (rt.gw !== undefined) reduced.gw = rt.gw;
    if (rt.gws !== undefined) reduced.gws = rt.gws;
    if (rt.weight !== undefined) reduced.weight = rt.weight;
    if (rt.field !== undefined) reduced.field = rt.field;
    if (rt.dstText !== undefined) reduced.dstText = rt.dstText;
    const target = isV4(rt.dst) ? out.ip4 : out.ip6;
    target?.routes.push(reduced);
  }
  if (!out.ip4 && !out.ip6) throw new CniError(ErrCode.Internal, "cannot convert: no valid IP addresses");
  return out;
}

function from020(r: Wire020): Wire040 {
  const out: Wire040 = { cniVersion: "0.4.0", interfaces: [], ips: [], routes: [], dns: copyDNS(r.dns) };
  for (const [v, ipc] of [["4", r.ip4], ["6", r.ip6]] as const) {
    if (!ipc) continue;
    out.ips.push({ version: v, address: ipc.ip, gateway: ipc.gateway });
    for (const rt of ipc.routes) out.routes.push({ ...rt });
  }
  return out;
}

function from040(r: Wire040): Result {
  const out: Result = { cniVersion: CURRENT_VERSION };
  if (r.interfaces.length) out.interfaces = r.interfaces.map((i) => strip({ name: i.name, mac: i.mac, sandbox: i.sandbox }));
  if (r.ips.length) {
    out.ips = r.ips.map((ip) => strip({ address: ip.address, gateway: ip.gateway, interface: ip.interface }));
  }
  if (r.routes.length) out.routes = r.routes.map((rt) => ({ ...rt }));
  if (!dnsIsEmpty(r.dns)) out.dns = copyDNS(r.dns);
  return out;
}

function strip<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/**
 * The result as the given version can carry it, back in the internal 1.1.0 form: what a plugin
 * reading this plugin's output in that version would see (0.x drops interface mtu/socketPath/
 * pciID; 0.1.0/0.2.0 keep one address per family and reduce routes to dst and gw). The internal
 * route fields `weight` and `gws` are kept. Throws CniError 999 as Go's conversion does
 * ("cannot convert: no valid IP addresses") and for an unknown version.
 */
export function convertResult(result: Result, version: string): Result {
  if (FAMILY_100.includes(version)) return canonical({ ...structuredClone(result), cniVersion: CURRENT_VERSION });
  if (FAMILY_040.includes(version)) return canonical(from040(to040(result, version)));
  if (FAMILY_020.includes(version) && version !== "") {
    return canonical(from040(from020(to020(to040(result, "0.4.0"), version))));
  }
  throw new CniError(ErrCode.Internal, `no converter for CNI result version ${CURRENT_VERSION} to ${version}`);
}

/** Addresses as a reader of the printed result gets them back (Go's canonical forms). */
function canonical(r: Result): Result {
  for (const ip of r.ips ?? []) {
    ip.address = printCIDR(ip.address);
    if (ip.gateway !== undefined) ip.gateway = printIP(ip.gateway);
    if (ip.gateway === undefined) delete ip.gateway;
  }
  for (const rt of r.routes ?? []) {
    rt.dst = printCIDR(rt.dst);
    if (rt.gw !== undefined) rt.gw = printIP(rt.gw);
    if (rt.gw === undefined) delete rt.gw;
    if (rt.gws) rt.gws = rt.gws.map((g) => printIP(g) ?? g);
  }
  return r;
}

// ------------------------------------------------------------------------------------------------
// Canonical forms (what a reader of the printed result gets back)

/** A CIDR as Go prints the parsed net.IPNet (canonical address, host bits kept); as is if unparseable. */
export function printCIDR(s: string): string {
  const c = parseCIDR(s);
  return c ? formatCIDR(c) : s;
}

/** An IP as Go prints a parsed net.IP; undefined for "" (nil, so omitted). */
export function printIP(s: string | undefined): string | undefined {
  if (s === undefined || s === "") return undefined;
  const ip = parseIP(s);
  return ip ? formatIP(ip) : s;
}

export const nonZero = (n: number | undefined) => (n ? n : undefined);
export const nonEmpty = <T>(a: T[] | undefined) => (a && a.length ? a : undefined);
export const nonEmptyStr = (s: string | undefined) => (s ? s : undefined);

// ------------------------------------------------------------------------------------------------
// Parsing (Go's decoding of types100/types040/types020 results)

class Decoder {
  constructor(readonly struct: string) {}

  typeError(v: unknown, field: string, type: string): Error {
    const what = typeof v === "number" && !Number.isInteger(v) ? `number ${v}` : goKind(v);
    return new Error(`json: cannot unmarshal ${what} into Go struct field ${this.struct}.${field} of type ${type}`);
  }

  str(o: Record<string, unknown>, field: string): string | undefined {
    const v = goField(o, field);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") throw this.typeError(v, field, "string");
    return v;
  }

  int(o: Record<string, unknown>, field: string): number | undefined {
    const v = goField(o, field);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v)) throw this.typeError(v, field, "int");
    return v;
  }

  strList(o: Record<string, unknown>, field: string): string[] | undefined {
    const v = goField(o, field);
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) throw this.typeError(v, field, "[]string");
    return v.map((x) => {
      if (typeof x !== "string") throw this.typeError(x, field, "string");
      return x;
    });
  }

  /** net.IP: "" is nil; anything else must parse. Printed canonically. */
  ip(o: Record<string, unknown>, field: string): string | undefined {
    const v = goField(o, field);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") throw this.typeError(v, field, "net.IP");
    return ipText(v);
  }

  /** types.IPNet: missing is the zero IPNet (Go prints "<nil>"); null or "" do not parse. */
  cidr(o: Record<string, unknown>, field: string): string {
    const v = goField(o, field);
    if (v === undefined) return "<nil>";
    if (v !== null && typeof v !== "string") {
      throw new Error(`json: cannot unmarshal ${goKind(v)} into Go value of type string`);
    }
    const s = v ?? "";
    const c = parseCIDR(s);
    if (!c) throw new Error(`invalid CIDR address: ${s}`);
    return formatCIDR(c);
  }

  objects(o: Record<string, unknown>, field: string, type: string): Record<string, unknown>[] {
    const v = goField(o, field);
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw this.typeError(v, field, `[]*${type}`);
    return v.map((x) => {
      if (x === null) throw new Error(`invalid null entry in ${field}`);
      if (!isObject(x)) throw new Error(`json: cannot unmarshal ${goKind(x)} into Go value of type ${type}`);
      return x;
    });
  }

  object(o: Record<string, unknown>, field: string, type: string): Record<string, unknown> | undefined {
    const v = goField(o, field);
    if (v === undefined || v === null) return undefined;
    if (!isObject(v)) throw this.typeError(v, field, type);
    return v;
  }
}

function ipText(v: string): string | undefined {
  if (v === "") return undefined;
  const ip = parseIP(v);
  if (!ip) throw new Error(`invalid IP address: ${v}`);
  return formatIP(ip);
}

function decodeRoute(o: Record<string, unknown>): Route {
  const d = new Decoder("route");
  const rt: Route = { dst: d.cidr(o, "dst") };
  const gw = d.ip(o, "gw");
  if (gw !== undefined) rt.gw = gw;
  // Extension: several gateways for one destination (read, never printed).
  const gws = d.strList(o, "gws");
  if (gws !== undefined) rt.gws = gws.map((g) => ipText(g)).filter((g): g is string => g !== undefined);
  // mtu, advmss and priority are plain ints (0 means unset); table and scope are pointers.
  for (const k of ["mtu", "advmss", "priority"] as const) {
    const n = d.int(o, k);
    if (n) rt[k] = n;
  }
  for (const k of ["table", "scope"] as const) {
    const n = d.int(o, k);
    if (n !== undefined) rt[k] = n;
  }
  return rt;
}

function decodeDNS(o: Record<string, unknown> | undefined): DNS {
  if (!o) return {};
  const d = new Decoder("DNS");
  return strip({
    nameservers: d.strList(o, "nameservers"),
    domain: d.str(o, "domain"),
    search: d.strList(o, "search"),
    options: d.strList(o, "options"),
  });
}

function decodeResultVersion(raw: Record<string, unknown>, struct: string): string {
  return new Decoder(struct).str(raw, "cniVersion") ?? "";
}

function checkFamily(family: readonly string[], got: string): void {
  if (!family.includes(got)) {
    throw new Error(`result type supports ${goList(family)} but unmarshalled CNIVersion is ${goQuote(got)}`);
  }
}

function decode100(raw: Record<string, unknown>): Result {
  const d = new Decoder("Result");
  const version = decodeResultVersion(raw, "Result");
  checkFamily(FAMILY_100, version);
  const result: Result = { cniVersion: CURRENT_VERSION };
  const interfaces = d.objects(raw, "interfaces", "types100.Interface").map((o) => {
    const di = new Decoder("Interface");
    const mtu = di.int(o, "mtu");
    return strip<Interface>({
      name: di.str(o, "name") ?? "",
      mac: nonEmptyStr(di.str(o, "mac")),
      mtu: nonZero(mtu),
      sandbox: nonEmptyStr(di.str(o, "sandbox")),
      socketPath: nonEmptyStr(di.str(o, "socketPath")),
      pciID: nonEmptyStr(di.str(o, "pciID")),
    });
  });
  const ips = d.objects(raw, "ips", "types100.IPConfig").map((o) => {
    const di = new Decoder("ipConfig");
    return strip<IPConfig>({ interface: di.int(o, "interface"), address: di.cidr(o, "address"), gateway: di.ip(o, "gateway") });
  });
  const routes = d.objects(raw, "routes", "types.Route").map(decodeRoute);
  const dns = decodeDNS(d.object(raw, "dns", "types.DNS"));
  if (interfaces.length) result.interfaces = interfaces;
  if (ips.length) result.ips = ips;
  if (routes.length) result.routes = routes;
  if (!dnsIsEmpty(dns)) result.dns = dns;
  return result;
}

function decode040(raw: Record<string, unknown>): Wire040 {
  const d = new Decoder("Result");
  const version = decodeResultVersion(raw, "Result");
  checkFamily(FAMILY_040, version);
  return {
    cniVersion: version,
    interfaces: d.objects(raw, "interfaces", "types040.Interface").map((o) => {
      const di = new Decoder("Interface");
      return { name: di.str(o, "name") ?? "", mac: di.str(o, "mac"), sandbox: di.str(o, "sandbox") };
    }),
    ips: d.objects(raw, "ips", "types040.IPConfig").map((o) => {
      const di = new Decoder("ipConfig");
      return {
        version: di.str(o, "version") ?? "",
        interface: di.int(o, "interface"),
        address: di.cidr(o, "address"),
        gateway: di.ip(o, "gateway"),
      };
    }),
    routes: d.objects(raw, "routes", "types.Route").map(decodeRoute),
    dns: decodeDNS(d.object(raw, "dns", "types.DNS")),
  };
}

function decode020(raw: Record<string, unknown>): Wire020 {
  const d = new Decoder("Result");
  const version = decodeResultVersion(raw, "Result");
  checkFamily(FAMILY_020, version);
  const ipc = (field: string): Wire020IP | undefined => {
    const o = d.object(raw, field, "types020.IPConfig");
    if (!o) return undefined;
    const di = new Decoder("ipConfig");
    return { ip: di.cidr(o, "ip"), gateway: di.ip(o, "gateway"), routes: di.objects(o, "routes", "types.Route").map(decodeRoute) };
  };
  // Go keeps an empty version as is, and then finds no converter for it.
  if (version === "") throw new Error(`no converter for CNI result version  to ${CURRENT_VERSION}`);
  return { cniVersion: version, ip4: ipc("ip4"), ip6: ipc("ip6"), dns: decodeDNS(d.object(raw, "dns", "types.DNS")) };
}

/**
 * Go's create.Create(version, json) followed by conversion to 1.1.0 (NewResultFromResult):
 * `version` selects the result type (1.0.0/1.1.0, 0.3.0/0.3.1/0.4.0, or 0.1.0/0.2.0) and the
 * result's own cniVersion must belong to the same type. 0.x `ips[].version` is dropped and the
 * 0.1.0/0.2.0 ip4/ip6 form becomes ips and routes. Throws Errors with Go's messages.
 */
export function parseResult(raw: unknown, version: string): Result {
  const family = [FAMILY_100, FAMILY_040, FAMILY_020].find((f) => f.includes(version));
  if (!family) throw new Error(`unsupported CNI result version ${goQuote(version)}`);
  const type = family === FAMILY_100 ? "types100.Result" : family === FAMILY_040 ? "types040.Result" : "types020.Result";
  if (raw !== null && !isObject(raw)) throw new Error(`json: cannot unmarshal ${goKind(raw)} into Go value of type ${type}`);
  const obj = raw ?? {};
  if (family === FAMILY_100) return decode100(obj);
  if (family === FAMILY_040) return from040(decode040(obj));
  return from040(from020(decode020(obj)));
}

/**
 * version.ParsePrevResult plus the conversion to 1.1.0 every upstream plugin does: the config's
 * `prevResult` (any key case; undefined when absent or null) read with the result type of the
 * config's cniVersion. A prevResult without a "CNIVersion" key gets the config's version; a
 * "cniVersion" key still wins (Go re-marshals the map with sorted keys and the last
 * case-insensitive match wins). Throws CniError 999 "could not parse prevResult: …".
 */
export function parsePrevResult(config: Record<string, unknown>): Result | undefined {
  const raw = goField(config, "prevResult");
  if (raw === undefined || raw === null) return undefined;
  try {
    if (!isObject(raw)) {
      throw new Error(
        `json: cannot unmarshal ${goKind(raw)} into Go struct field PluginConf.prevResult of type map[string]interface {}`,
      );
    }
    const v = goField(config, "cniVersion");
    const confVersion = typeof v === "string" ? v : "";
    const m: Record<string, unknown> = { ...raw };
    if (!("CNIVersion" in m) || m.CNIVersion === "") m.CNIVersion = confVersion;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(m).sort(byteOrder)) sorted[k] = m[k];
    return parseResult(sorted, confVersion);
  } catch (err) {
    throw new CniError(ErrCode.Internal, `could not parse prevResult: ${(err as Error).message}`);
  }
}
