// CNI spec versions and results on the wire, as the Go library (containernetworking/cni v1.3,
// pkg/version and pkg/types/{020,040,100}) handles them:
//   - the version lists and ParseVersion / GreaterThanOrEqualTo;
//   - formatResult: the internal 1.1.0 Result printed in any version, byte for byte as
//     types.PrintResult prints it (MarshalIndent with 4 spaces, no trailing newline; 1.x keys
//     sorted because Result.MarshalJSON goes through a map; 0.x in struct field order with
//     "dns" always present; 0.1.0/0.2.0 in the ip4/ip6 form);
//   - parseResult / parsePrevResult: any accepted version back to the internal 1.1.0 Result, with
//     Go's decoding rules (case-insensitive keys, last duplicate wins, ParseIP/ParseCIDR) and its
//     error messages.
import { CniError, ErrCode } from "./errors.ts";
import { byteOrder, goField, goKind, goList, goMarshal, goQuote, isObject, sortKeysDeep } from "./json.ts";
import type { DNS, Interface, IPConfig, Result, Route } from "./types.ts";
import { formatCIDR, formatIP, parseCIDR, parseIP } from "../ip.ts";

/** version.All: every spec version the Go library knows, oldest first. */
export const ALL_VERSIONS: readonly string[] = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

/** version.Current(): what VERSION reports as its own cniVersion. */
export const CURRENT_VERSION = "1.1.0";

/** version.VersionsStartingFrom(min): the versions of ALL_VERSIONS from `min` on (empty if unknown). */
export function versionsStartingFrom(min: string): string[] {
  const i = ALL_VERSIONS.indexOf(min);
  return i < 0 ? [] : ALL_VERSIONS.slice(i);
}

/** strconv.Atoi, with its error messages. */
function atoi(s: string): number {
  if (!/^[+-]?[0-9]+$/.test(s)) throw new Error(`strconv.Atoi: parsing ${goQuote(s)}: invalid syntax`);
  const n = BigInt(s);
  if (n > 9223372036854775807n || n < -9223372036854775808n) {
    throw new Error(`strconv.Atoi: parsing ${goQuote(s)}: value out of range`);
  }
  return Number(n);
}

/**
 * version.ParseVersion: "major[.minor[.micro]]", each part an integer (strconv.Atoi, so signs are
 * accepted). Throws with Go's messages. The empty string is an error here; callers that read a
 * config's cniVersion map "" to "0.1.0" first (see configVersion).
 */
export function parseVersion(version: string): [number, number, number] {
  if (version === "") throw new Error(`invalid version ${goQuote(version)}: the version is empty`);
  const parts = version.split(".");
  if (parts.length >= 4) throw new Error(`invalid version ${goQuote(version)}: too many parts`);
  const names = ["major", "minor", "micro"];
  const out: [number, number, number] = [0, 0, 0];
  parts.forEach((p, i) => {
    try {
      out[i] = atoi(p);
    } catch (err) {
      throw new Error(`failed to convert ${names[i]} version part ${goQuote(p)}: ${(err as Error).message}`);
    }
  });
  return out;
}

/** version.GreaterThanOrEqualTo(a, b); throws when either does not parse. */
export function greaterThanOrEqualTo(a: string, b: string): boolean {
  const [a1, a2, a3] = parseVersion(a);
  const [b1, b2, b3] = parseVersion(b);
  if (a1 !== b1) return a1 > b1;
  if (a2 !== b2) return a2 > b2;
  return a3 >= b3;
}

/**
 * The config's cniVersion as version.ConfigDecoder reads it: missing, null or "" mean "0.1.0".
 * A value that is not a string is a decoding error (code 6 upstream).
 */
export function configVersion(config: unknown): string {
  if (!isObject(config)) return "0.1.0";
  const v = goField(config, "cniVersion");
  if (v === undefined || v === null || v === "") return "0.1.0";
  if (typeof v !== "string") {
    throw new CniError(
      ErrCode.DecodingFailure,
      `decoding version from network config: json: cannot unmarshal ${goKind(v)} into Go struct field .cniVersion of type string`,
    );
  }
  return v;
}

const FAMILY_100: readonly string[] = ["1.0.0", "1.1.0"];
const FAMILY_040: readonly string[] = ["0.3.0", "0.3.1", "0.4.0"];
const FAMILY_020: readonly string[] = ["", "0.1.0", "0.2.0"];

// ------------------------------------------------------------------------------------------------
// Wire forms. Routes are copied whole between forms (as Go copies types.Route), so the internal
// fields `weight` and `gws` survive an in-process conversion; they are never printed.

interface Wire040 {
  cniVersion: string;
  interfaces: { name: string; mac?: string; sandbox?: string }[];
  ips: { version: string; interface?: number; address: string; gateway?: string }[];
  routes: Route[];
  dns: DNS;
}

interface Wire020IP {
  ip: string;
  gateway?: string;
  routes: Route[];
}

interface Wire020 {
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

function dnsIsEmpty(d: DNS | undefined): boolean {
  return !d?.nameservers?.length && !d?.domain && !d?.search?.length && !d?.options?.length;
}

/** IPv4 when the address parses as one (Go: IP.To4() != nil, IPv4-mapped IPv6 included). */
function isV4(cidrOrIP: string): boolean {
  const c = cidrOrIP.includes("/") ? parseCIDR(cidrOrIP)?.ip : parseIP(cidrOrIP);
  return c?.family === 4;
}

function to040(r: Result, version: string): Wire040 {
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
function to020(r: Wire040, version: string): Wire020 {
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
  const out: Result = { cniVersion: "1.1.0" };
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
  if (FAMILY_100.includes(version)) return canonical({ ...structuredClone(result), cniVersion: "1.1.0" });
  if (FAMILY_040.includes(version)) return canonical(from040(to040(result, version)));
  if (FAMILY_020.includes(version) && version !== "") {
    return canonical(from040(from020(to020(to040(result, "0.4.0"), version))));
  }
  throw new CniError(ErrCode.Internal, `no converter for CNI result version 1.1.0 to ${version}`);
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
// Printing

/** A CIDR as Go prints the parsed net.IPNet (canonical address, host bits kept); as is if unparseable. */
function printCIDR(s: string): string {
  const c = parseCIDR(s);
  return c ? formatCIDR(c) : s;
}

/** An IP as Go prints a parsed net.IP; undefined for "" (nil, so omitted). */
function printIP(s: string | undefined): string | undefined {
  if (s === undefined || s === "") return undefined;
  const ip = parseIP(s);
  return ip ? formatIP(ip) : s;
}

const nonZero = (n: number | undefined) => (n ? n : undefined);
const nonEmpty = <T>(a: T[] | undefined) => (a && a.length ? a : undefined);
const nonEmptyStr = (s: string | undefined) => (s ? s : undefined);

/** types.Route's JSON: dst, gw, mtu, advmss, priority, table, scope (table/scope are pointers). */
function routeJSON(rt: Route): Record<string, unknown> {
  return {
    dst: printCIDR(rt.dst),
    gw: printIP(rt.gw),
    mtu: nonZero(rt.mtu),
    advmss: nonZero(rt.advmss),
    priority: nonZero(rt.priority),
    table: rt.table,
    scope: rt.scope,
  };
}

function dnsJSON(d: DNS): Record<string, unknown> {
  return {
    nameservers: nonEmpty(d.nameservers),
    domain: nonEmptyStr(d.domain),
    search: nonEmpty(d.search),
    options: nonEmpty(d.options),
  };
}

function json100(r: Result, version: string): Record<string, unknown> {
  const interfaces = (r.interfaces ?? []).map((i: Interface) => ({
    name: i.name,
    mac: nonEmptyStr(i.mac),
    mtu: nonZero(i.mtu),
    sandbox: nonEmptyStr(i.sandbox),
    socketPath: nonEmptyStr(i.socketPath),
    pciID: nonEmptyStr(i.pciID),
  }));
  const ips = (r.ips ?? []).map((ip: IPConfig) => ({
    interface: ip.interface,
    address: printCIDR(ip.address),
    gateway: printIP(ip.gateway),
  }));
  return {
    cniVersion: version,
    interfaces: nonEmpty(interfaces),
    ips: nonEmpty(ips),
    routes: nonEmpty((r.routes ?? []).map(routeJSON)),
    dns: dnsIsEmpty(r.dns) ? undefined : dnsJSON(r.dns!),
  };
}

function json040(w: Wire040): Record<string, unknown> {
  return {
    cniVersion: w.cniVersion,
    interfaces: nonEmpty(
      w.interfaces.map((i) => ({ name: i.name, mac: nonEmptyStr(i.mac), sandbox: nonEmptyStr(i.sandbox) })),
    ),
    ips: nonEmpty(
      w.ips.map((ip) => ({
        version: ip.version,
        interface: ip.interface,
        address: printCIDR(ip.address),
        gateway: printIP(ip.gateway),
      })),
    ),
    routes: nonEmpty(w.routes.map(routeJSON)),
    dns: dnsJSON(w.dns),
  };
}

function json020(w: Wire020): Record<string, unknown> {
  const ipc = (c: Wire020IP | undefined) =>
    c && {
      ip: printCIDR(c.ip),
      gateway: printIP(c.gateway),
      routes: nonEmpty(c.routes.map((rt) => ({ dst: printCIDR(rt.dst), gw: printIP(rt.gw) }))),
    };
  return { cniVersion: w.cniVersion, ip4: ipc(w.ip4), ip6: ipc(w.ip6), dns: dnsJSON(w.dns) };
}

/**
 * The result printed in `version` exactly as Go's types.PrintResult prints it: 4-space indent, no
 * trailing newline. Throws CniError 999 when the version cannot carry it (0.1.0/0.2.0 without any
 * address: "cannot convert: no valid IP addresses") or is unknown.
 */
export function formatResult(result: Result, version: string): string {
  if (FAMILY_100.includes(version)) return goMarshal(sortKeysDeep(json100(result, version)), "    ");
  if (FAMILY_040.includes(version)) return goMarshal(json040(to040(result, version)), "    ");
  if (version === "0.1.0" || version === "0.2.0") {
    return goMarshal(json020(to020(to040(result, "0.4.0"), version)), "    ");
  }
  throw new CniError(ErrCode.Internal, `no converter for CNI result version 1.1.0 to ${version}`);
}

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
  const result: Result = { cniVersion: "1.1.0" };
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
  if (version === "") throw new Error("no converter for CNI result version  to 1.1.0");
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
