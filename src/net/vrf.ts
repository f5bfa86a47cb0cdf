// VRF devices and enslaving a pod interface into one, with its routes and addresses
// (docs/vrf.md). Enslaving makes the kernel cycle the interface down and up: single-path routes
// through it are flushed in every table, its connected and local routes come back in the VRF's
// table, IPv6 global addresses go unless keep_addr_on_down is set, and multipath routes keep a
// live nexthop through it. So ADD snapshots the routes and addresses first, enslaves, restores the
// addresses (waiting for them on address events), then moves the interface's nexthops with
// move.ts. Every change is in the undo log; undoing the enslave puts back what the kernel flushed.
import { CniError, ErrCode, step } from "../cni/errors";
import { formatIP, ipEqual } from "../ip";
import { addAddr, listAddrs, type Addr } from "../netlink/addr";
import {
  AF_INET6, IFA_F_NODAD, RTNLGRP_IPV6_IFADDR, RT_SCOPE_UNIVERSE, RT_TABLE_DEFAULT, RT_TABLE_LOCAL,
} from "../netlink/constants";
import { createLink, deleteLink, linkByIndex, linkByName, listLinks, setLinkMaster, setLinkUp, type Link } from "../netlink/link";
import { withNetns } from "../netlink/netns";
import { routesThrough, tablesInUse } from "../netlink/route";
import { NetlinkSocket } from "../netlink/socket";
import { waitForDad } from "./dad";
import { applyMoves, planMoves, restoreSources, type NexthopMove } from "./move";
import { readSysctl } from "./proc-sys";
import type { UndoLog } from "./undo";

/** The table of the VRF `link` is enslaved to, or 0 when it has no VRF master. */
export function vrfTableOf(sock: NetlinkSocket, link: Link): number {
  if (!link.master) return 0;
  const master = linkByIndex(sock, link.master);
  return master?.kind === "vrf" ? master.vrfTable : 0;
}

/** The link called `name` when it is a VRF; an error when something else has the name. */
export function findVrf(sock: NetlinkSocket, name: string): Link | undefined {
  const link = linkByName(sock, name);
  if (link && link.kind !== "vrf") {
    throw new CniError(ErrCode.InvalidNetworkConfig, `vrfname "${name}": Netlink ${name} is not a VRF (a ${link.kind || "device"} has this name)`);
  }
  return link;
}

/**
 * The table for a new VRF when the config names none: the smallest id from 1 that no VRF uses,
 * that is not reserved (253 default, 254 main, 255 local) and that holds no route. Upstream only
 * skips the VRFs' tables (docs/vrf.md).
 */
export function freeTable(links: readonly Link[], routeTables: ReadonlySet<number>): number {
  const used = new Set([...links.filter((l) => l.kind === "vrf").map((l) => l.vrfTable), ...routeTables]);
  for (let t = 1; ; t++) {
    if (t >= RT_TABLE_DEFAULT && t <= RT_TABLE_LOCAL) continue;
    if (!used.has(t)) return t;
  }
}

/** net.vrf.strict_mode of the pod's namespace: one table per VRF when on. */
function strictMode(netns: string): boolean {
  try {
    return withNetns(netns, () => readSysctl("net/vrf/strict_mode")) === "1";
  } catch {
    return false;
  }
}

export interface VrfPlan {
  /** The VRF to create (undefined: it exists, as `vrf`). */
  create?: { name: string; table: number };
  vrf?: Link;
  table: number;
  link: Link;
  /** Global IPv6 addresses of the interface before the enslave (the kernel may flush them). */
  addrs: Addr[];
  moves: NexthopMove[];
}

/**
 * Reads the pod's state and decides everything ADD will do, refusing what cannot work before
 * any change: the interface missing or already enslaved, a name held by a non-VRF, a VRF with
 * another table, a table another VRF holds under strict mode.
 */
export function planEnslave(sock: NetlinkSocket, netns: string, ifname: string, name: string, table: number | undefined): VrfPlan {
  const link = linkByName(sock, ifname);
  if (!link) throw new CniError(ErrCode.Internal, `cmdAdd failed: could not get link by name ${ifname}`);
  const vrf = findVrf(sock, name);
  if (link.master) {
    const master = linkByIndex(sock, link.master);
    throw new CniError(ErrCode.Internal, `cmdAdd failed: interface ${ifname} has already a master set: ${master?.name ?? `#${link.master}`}`);
  }
  if (vrf && table !== undefined && vrf.vrfTable !== table) {
    throw new CniError(ErrCode.InvalidNetworkConfig, `cmdAdd failed: VRF ${name} already exist with different routing table ${vrf.vrfTable} (table: ${table})`);
  }
  // The routes through the interface: one dump the kernel filters by device.
  const through = routesThrough(sock, link.index);
  let create: VrfPlan["create"];
  if (!vrf) {
    const links = listLinks(sock);
    if (table === undefined) {
      // Which tables hold a route: one dump of every table, no route materialised.
      table = freeTable(links, tablesInUse(sock));
    } else {
      const holder = links.find((l) => l.kind === "vrf" && l.vrfTable === table);
      if (holder && strictMode(netns)) {
        throw new CniError(ErrCode.InvalidNetworkConfig, `table: ${table} is already used by VRF ${holder.name} and net.vrf.strict_mode is 1`);
      }
    }
    create = { name, table };
  }
  const vrfTable = vrf ? vrf.vrfTable : table!;
  const addrs = listAddrs(sock, AF_INET6, link.index).filter((a) => a.scope === RT_SCOPE_UNIVERSE);
  return { create, vrf, table: vrfTable, link, addrs, moves: planMoves(through, link.index, vrfTable) };
}

/** Adds back the addresses of `want` the interface lost; returns whether any was added. */
function restoreAddrs(sock: NetlinkSocket, link: Link, want: readonly Addr[]): boolean {
  const have = listAddrs(sock, AF_INET6, link.index);
  const missing = want.filter((a) => !have.some((h) => ipEqual(h.ip, a.ip) && h.prefixlen === a.prefixlen));
  for (const a of missing) {
    step(`could not restore address ${formatIP(a.ip)}/${a.prefixlen} to ${link.name}`, () => addAddr(sock, link.index, a.ip, a.prefixlen, a.flags & IFA_F_NODAD));
  }
  return missing.length > 0;
}

/**
 * Executes a plan: create and bring up the VRF, enslave, restore addresses, move nexthops.
 * `before(step)` runs ahead of each step that changes the kernel (fault injection in tests).
 */
export function applyEnslave(sock: NetlinkSocket, netns: string, plan: VrfPlan, log: UndoLog, before?: (step: string) => void): void {
  let vrf = plan.vrf;
  if (plan.create) {
    const { name, table } = plan.create;
    before?.("create VRF");
    step(`cmdAdd failed: could not add VRF ${name}`, () => createLink(sock, { name, kind: "vrf", vrfTable: table }));
    const made = linkByName(sock, name);
    if (!made) throw new CniError(ErrCode.Internal, `cmdAdd failed: VRF ${name} did not appear`);
    log.push(`create VRF ${name}`, () => deleteLink(sock, made.index));
    vrf = made;
  }
  before?.("set VRF up");
  step(`cmdAdd failed: could not set link up for VRF ${vrf!.name}`, () => setLinkUp(sock, vrf!.index));
  const { link } = plan;
  // Joined before the enslave, so no address event after it can be missed.
  const notify = plan.addrs.length ? NetlinkSocket.open(netns, [RTNLGRP_IPV6_IFADDR]) : undefined;
  try {
    before?.("enslave");
    step(`cmdAdd failed: could not set vrf ${vrf!.name} as master of ${link.name}`, () => setLinkMaster(sock, link.index, vrf!.index));
    log.push(`enslave ${link.name} to ${vrf!.name}`, () => {
      setLinkMaster(sock, link.index, 0);
      // Releasing cycles the device again: put back what either cycle flushed.
      restoreAddrs(sock, link, plan.addrs);
      restoreSources(sock, plan.moves);
    });
    before?.("restore addresses");
    const restored = restoreAddrs(sock, link, plan.addrs);
    // Routes with a src need the address usable (not tentative) before the kernel takes them.
    if (restored && notify) step(`cmdAdd failed: failed to settle addresses for ${link.name}`, () => waitForDad(sock, notify, link.index, link.name));
    applyMoves(sock, plan.moves, log, before);
  } finally {
    notify?.close();
  }
}

/**
 * DEL: release the interface from the VRF and delete the VRF when no member remains. Gone
 * things (the VRF, the interface) are success. Routes are not moved back: the interface is
 * about to be deleted by the plugin that made it.
 */
export function releaseFromVrf(sock: NetlinkSocket, ifname: string, name: string): void {
  const vrf = linkByName(sock, name);
  if (!vrf || vrf.kind !== "vrf") return;
  const link = linkByName(sock, ifname);
  if (link && link.master === vrf.index) step(`failed to release ${ifname} from VRF ${name}`, () => setLinkMaster(sock, link.index, 0));
  if (!listLinks(sock).some((l) => l.master === vrf.index)) step(`failed to delete VRF ${name}`, () => deleteLink(sock, vrf.index));
}

/** CHECK: the VRF exists (with `table` when the config names one) and holds the interface. */
export function checkEnslaved(sock: NetlinkSocket, ifname: string, name: string, table: number | undefined): void {
  const vrf = linkByName(sock, name);
  if (!vrf || vrf.kind !== "vrf") throw new CniError(ErrCode.Internal, `failed to find VRF ${name}`);
  if (table !== undefined && vrf.vrfTable !== table) {
    throw new CniError(ErrCode.Internal, `VRF ${name} has routing table ${vrf.vrfTable}, the config says ${table}`);
  }
  const link = linkByName(sock, ifname);
  if (!link || link.master !== vrf.index) throw new CniError(ErrCode.Internal, `failed to find ${ifname} associated to vrf ${name}`);
}
