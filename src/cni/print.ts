// Printing a CNI result: the internal 1.1.0 Result in any version, byte for byte as Go's
// types.PrintResult prints it (MarshalIndent with 4 spaces, no trailing newline; 1.x keys sorted
// because Result.MarshalJSON goes through a map; 0.x in struct field order with "dns" always
// present; 0.1.0/0.2.0 in the ip4/ip6 form).
import { CniError, ErrCode } from "./errors.ts";
import { goMarshal, sortKeysDeep } from "./go/marshal.ts";
import { dnsIsEmpty, nonEmpty, nonEmptyStr, nonZero, printCIDR, printIP, to020, to040, type Wire020, type Wire020IP, type Wire040 } from "./result.ts";
import type { DNS, Interface, IPConfig, Result, Route } from "./types.ts";
import { CURRENT_VERSION, FAMILY_040, FAMILY_100 } from "./version.ts";

// ------------------------------------------------------------------------------------------------
// Printing

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
  throw new CniError(ErrCode.Internal, `no converter for CNI result version ${CURRENT_VERSION} to ${version}`);
}
