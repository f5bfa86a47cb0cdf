// nexthop's ConfigureIface: addresses, IPv6 sysctls, link up, DAD wait, then routes as nexthop
// sets. Runs with a socket opened inside the pod's namespace; every change is recorded in the
// undo log so a failed ADD leaves the namespace as it was.
import { CniError, ErrCode, errorText, step } from "../cni/errors";
import { writeStderr } from "../cni/skel";
import type { Result } from "../cni/types";
import { addAddr } from "../netlink/addr";
import { AF_INET6, RTNLGRP_IPV6_IFADDR } from "../netlink/constants";
import { linkByName, setLinkUp } from "../netlink/link";
import { withNetns } from "../netlink/netns";
import { effectiveMetric } from "../netlink/key";
import { NetlinkSocket } from "../netlink/socket";
import { waitForDad } from "./dad";
import { parseCIDR } from "../ip";
import { defaultGateways, planRoutes, type Ecmp, type RouteWrite } from "./plan";
import { joinNexthops, RouteTables } from "./routes";
import { readSysctl, writeSysctl } from "./sysctl";
import type { UndoLog } from "./undo";

/** What upstream does before the first IPv6 address: make sure IPv6 is on and addresses survive a down. */
function enableIpv6(ifname: string): void {
  for (const dev of ["lo", ifname]) {
    const key = `net/ipv6/conf/${dev}/disable_ipv6`;
    let old: string;
    try {
      old = readSysctl(key);
    } catch (e) {
      writeStderr(`ipam: failed to read sysctl ${key}: ${errorText(e)}\n`);
      continue;
    }
    if (old === "0") continue;
    step(`failed to enable IPv6 for interface "${dev}" (${key}=${old})`, () => writeSysctl(key, "0"));
  }
  step(`failed to enable keep_addr_on_down for interface "${ifname}"`, () => writeSysctl(`net/ipv6/conf/${ifname}/keep_addr_on_down`, "1"));
}

function routeText(w: RouteWrite, ifname: string): string {
  const k = w.set.key;
  const via = w.set.nexthops.map((nh) => nh.gateway ?? "<nil>").join(",");
  return `${k.dst} via ${via} dev ${ifname} metric ${effectiveMetric(k.family, k.priority)} (Scope: ${k.scope}, Table: ${k.table})`;
}

/** Installs one planned write, recording its undo. */
function installRoute(tables: RouteTables, w: RouteWrite, log: UndoLog): void {
  if (w.how === "join") {
    joinNexthops(tables, w.set, log);
    return;
  }
  tables.write("prepend", w.set.key, w.set.nexthops, { mtu: w.set.mtu, advmss: w.set.advmss });
  log.push(`add route ${w.set.key.dst}`, () => {
    tables.beforeUndo(log);
    tables.remove(w.set.key, w.set.nexthops);
  });
}

/** Configures the interface and returns the route writes it planned and installed. */
export function configureInterface(netns: string, sock: NetlinkSocket, ifname: string, result: Result, ecmp: Ecmp, log: UndoLog, routesAt?: string): RouteWrite[] {
  if (!result.interfaces?.length) throw new CniError(ErrCode.Internal, "no interfaces to configure");
  const link = linkByName(sock, ifname);
  if (!link) throw new CniError(ErrCode.Internal, `failed to lookup "${ifname}": Link not found`);
  // Everything is validated before the first change.
  const writes = planRoutes(result, ifname, link.index, ecmp, routesAt);
  const ips = (result.ips ?? []).filter((ip) => ip.interface !== undefined);
  for (const ip of ips) {
    if (result.interfaces[ip.interface!]?.name !== ifname) {
      throw new CniError(ErrCode.Internal, `failed to add IP addr ${ip.address} to "${ifname}": invalid interface index`);
    }
    if (!parseCIDR(ip.address)) throw new CniError(ErrCode.InvalidNetworkConfig, `ips: invalid CIDR "${ip.address}"`);
  }
  // Routes wait for DAD whenever IPv6 routes go through the interface, not only with a gateway on
  // an address: a route that exists while the address is tentative sends flows out of this
  // interface with another interface's source address (docs/multipath.md §6).
  const settle = defaultGateways(result, ifname).v6 !== undefined || writes.some((w) => w.set.key.family === AF_INET6);
  // Joined before any address exists, so no DAD notification can be missed.
  const notify = settle ? NetlinkSocket.open(netns, [RTNLGRP_IPV6_IFADDR]) : undefined;
  try {
    let ipv6Ready = false;
    for (const ip of ips) {
      const cidr = parseCIDR(ip.address)!;
      if (cidr.ip.family === 6 && !ipv6Ready) {
        withNetns(netns, () => enableIpv6(ifname));
        ipv6Ready = true;
      }
      step(`failed to add IP addr ${ip.address} to "${ifname}"`, () => addAddr(sock, link.index, cidr.ip, cidr.prefix));
    }
    step(`failed to set "${ifname}" UP`, () => setLinkUp(sock, link.index));
    if (notify) {
      step(`failed to settle addresses for "${ifname}"`, () => waitForDad(sock, notify, link.index, ifname));
    }
    // The routes are read here, after the addresses made their connected routes: each table the
    // writes name once, kept current by the writes themselves.
    const tables = new RouteTables(sock).expect(writes.map((w) => w.set.key));
    for (const w of writes) {
      step(`failed to add route '${routeText(w, ifname)}'`, () => installRoute(tables, w, log));
    }
    return writes;
  } finally {
    notify?.close();
  }
}
