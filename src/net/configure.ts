// nexthop's ConfigureIface: plans the interface (plan.ts) and executes the plan in the pod:
// sysctls, addresses, link up, DAD wait, then routes as nexthop sets. Runs with a socket opened
// inside the pod's namespace; every route change is recorded in the undo log so a failed ADD
// leaves the namespace as it was.
import { CniError, ErrCode, errorText, step } from "../cni/errors";
import { writeStderr } from "../cni/skel";
import type { Result } from "../cni/types";
import { addAddr } from "../netlink/addr";
import { RTNLGRP_IPV6_IFADDR } from "../netlink/constants";
import { linkByName, setLinkUp } from "../netlink/link";
import { withNetns } from "../netlink/netns";
import { formatCIDR, formatIP } from "../ip";
import { effectiveMetric } from "../netlink/key";
import { NetlinkSocket } from "../netlink/socket";
import { waitForDad } from "./dad";
import { NO_ROUTES, planInterface, type Ecmp, type InterfacePlan, type PlanInput, type PlannedSysctl, type PlannedWrite, type RouteWrite } from "./plan";
import { joinNexthops, RouteTables } from "./routes";
import { readSysctl, writeSysctl } from "./proc-sys";
import type { UndoLog } from "./undo";

/** Writes one planned sysctl as upstream does; runs inside the pod's namespace. */
function applySysctl(s: PlannedSysctl): void {
  let old = "";
  if (s.onlyIfDifferent) {
    try {
      old = readSysctl(s.key);
    } catch (e) {
      writeStderr(`ipam: failed to read sysctl ${s.key}: ${errorText(e)}\n`);
      return;
    }
    if (old === s.value) return;
  }
  if (!s.fatal) {
    try {
      writeSysctl(s.key, s.value);
    } catch {}
    return;
  }
  const what = s.purpose === "enable-ipv6" ? `enable IPv6 for interface "${s.device}" (${s.key}=${old})` : `enable keep_addr_on_down for interface "${s.device}"`;
  step(`failed to ${what}`, () => writeSysctl(s.key, s.value));
}

/** A route write as ADD names it in an error. */
export function routeText(w: RouteWrite, ifname: string): string {
  const k = w.set.key;
  const via = w.set.nexthops.map((nh) => (nh.gateway ? formatIP(nh.gateway) : "<nil>")).join(",");
  return `${formatCIDR(k.dst)} via ${via} dev ${ifname} metric ${effectiveMetric(k.family, k.priority)} (Scope: ${k.scope}, Table: ${k.table})`;
}

/** Makes one planned write through `tables`, recording its undo. */
function installRoute(tables: RouteTables, w: PlannedWrite, log: UndoLog): void {
  if (w.refused) throw new CniError(ErrCode.InvalidNetworkConfig, w.refused);
  if (w.how === "join") {
    joinNexthops(tables, w.set, log);
    return;
  }
  tables.write("prepend", w.set.key, w.set.nexthops, { mtu: w.set.mtu, advmss: w.set.advmss });
  log.push(`add route ${formatCIDR(w.set.key.dst)}`, () => {
    tables.beforeUndo(log);
    tables.remove(w.set.key, w.set.nexthops);
  });
}

/** What applyPlan plans: a PlanInput without the kernel state, which applyPlan reads itself. */
export type ApplyInput = Omit<PlanInput, "kernel" | "purpose">;

/**
 * Plans the interface and executes the plan in the pod at `netns`. The plan is made first
 * against no routes: everything is validated, and the addresses, sysctls and DAD wait are known,
 * before the first change. Then sysctls, addresses, link up, DAD; then the routes are planned
 * again, by the same function, against the pod's tables as they are now (the addresses brought
 * their prefix routes), each table read once; the writes follow that plan, in order, with the
 * undo log, and a refused one fails the ADD with the error ADD always gave. Returns that plan.
 */
export function applyPlan(netns: string, sock: NetlinkSocket, input: ApplyInput, log: UndoLog): InterfacePlan {
  const plan = planInterface({ ...input, kernel: NO_ROUTES });
  const { ifname, ifindex } = plan.link;
  // Joined before any address exists, so no DAD notification can be missed.
  const notify = plan.settle ? NetlinkSocket.open(netns, [RTNLGRP_IPV6_IFADDR]) : undefined;
  try {
    plan.addresses.forEach((a, i) => {
      const sysctls = plan.sysctls.filter((s) => s.before === i);
      if (sysctls.length) withNetns(netns, () => sysctls.forEach(applySysctl));
      step(`failed to add IP addr ${a.address} to "${ifname}"`, () => addAddr(sock, ifindex, a.cidr!.ip, a.cidr!.prefix));
    });
    const rest = plan.sysctls.filter((s) => s.before >= plan.addresses.length);
    if (rest.length) withNetns(netns, () => rest.forEach(applySysctl));
    step(`failed to set "${ifname}" UP`, () => setLinkUp(sock, ifindex));
    if (notify) step(`failed to settle addresses for "${ifname}"`, () => waitForDad(sock, notify, ifindex, ifname));
  } finally {
    notify?.close();
  }
  if (plan.writes.length === 0) return plan;
  // Read here, after the addresses made their connected routes: each table the writes name once
  // (the plan tells it the keys), kept current by the writes themselves.
  const tables = new RouteTables(sock);
  const routes = planInterface({ ...input, kernel: tables });
  for (const w of routes.writes) {
    step(`failed to add route '${routeText(w, ifname)}'`, () => installRoute(tables, w, log));
  }
  return routes;
}

/** Plans the interface against the kernel, executes the plan and returns the route writes made. */
export function configureInterface(netns: string, sock: NetlinkSocket, ifname: string, result: Result, ecmp: Ecmp, log: UndoLog, routesAt?: string): RouteWrite[] {
  if (!result.interfaces?.length) throw new CniError(ErrCode.Internal, "no interfaces to configure");
  const link = linkByName(sock, ifname);
  if (!link) throw new CniError(ErrCode.Internal, `failed to lookup "${ifname}": Link not found`);
  return applyPlan(netns, sock, { ifname, ifindex: link.index, result, ecmp, routesAt }, log).writes;
}
