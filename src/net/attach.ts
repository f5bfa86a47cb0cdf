// The shared story of the interface plugins (macvlan, ipvlan): create the pod's interface, run
// IPAM, configure addresses and routes; DEL detaches shared routes before deleting the device;
// CHECK compares prevResult with the kernel. Every ADD step is undone if a later one fails.
import { delegateAdd, delegateCheck, delegateDel, delegateGc, delegateStatus, resolveDelegate } from "../cni/delegate";
import { CniError, ErrCode, step } from "../cni/errors";
import type { CmdArgs, DNS, Interface, Plugin, Result } from "../cni/types";
import { convertResult } from "../cni/result";
import { ALL_VERSIONS, CURRENT_VERSION } from "../cni/version";
import { formatCIDR, formatIP, ipEqual } from "../ip";
import { listAddrs } from "../netlink/addr";
import { codec } from "../netlink/codec";
import { AF_UNSPEC, RTN_UNICAST, RT_TABLE_MAIN } from "../netlink/constants";
import { createLink, deleteLink, linkByIndex, linkByName, listLinks, renameLink, type Link } from "../netlink/link";
import { withNetns } from "../netlink/netns";
import { libc } from "../netlink/libc";
import { sameKey, type RouteKey } from "../netlink/key";
import { listRoutes } from "../netlink/route";
import { NetlinkSocket } from "../netlink/socket";
import { applyPlan, routeText } from "./configure";
import { withNetnsLock } from "./lock";
import { openPodNetns, openPodSocketForDel, withSocket } from "./pod";
import { checkPodNetns } from "./podns";
import { hasNexthop } from "./nexthops";
import { applyMultipath, checkMultipath, holderId, releaseMultipath, withOwnMetric, type MultipathConf } from "./multipath";
import { expectKeys, NO_ROUTES, planAddresses, planInterface, routesAt, type Ecmp, type InterfacePlan, type PlannedSysctl, type RouteWrite } from "./plan";
import { detachSharedRoutes, RouteTables } from "./routes";
import { readSysctl } from "./proc-sys";
import { vrfTableOf } from "./vrf";
import { rolledBack, UndoLog } from "./undo";

export interface AttachConf {
  kind: "macvlan" | "ipvlan";
  /** Lower device; undefined means the device of the default route. */
  master?: string;
  mode: number;
  mtu: number;
  mac?: Uint8Array;
  linkInContainer: boolean;
  ipamType: string;
  dns?: DNS;
  ecmp: Ecmp;
  prevResult?: Result;
  /** The `multipath` option (src/net/multipath.ts), undefined when absent. */
  multipath?: MultipathConf;
  /** CHECK only: no master to verify (ipvlan's CHECK, like upstream's, does not default one). */
  noMasterCheck?: boolean;
}

/**
 * The device of the first main-table default route, as upstream picks a master. A multipath
 * default has no top-level device: its first nexthop's device is used (upstream fails there).
 */
export function defaultRouteLink(sock: NetlinkSocket): string {
  // One dump of both families' main tables, filtered by the kernel; only default routes are read.
  const rows = codec.routes;
  const def = listRoutes(sock, AF_UNSPEC, { table: RT_TABLE_MAIN, want: (i) => rows.dstLen(i) === 0 }).find((r) => r.nexthops[0]?.ifindex);
  const link = def && linkByIndex(sock, def.nexthops[0].ifindex);
  if (!link) throw new CniError(ErrCode.Internal, "no default route interface found");
  return link.name;
}

/**
 * The name the device has between its creation and its rename to CNI_IFNAME: derived from the
 * container id and CNI_IFNAME, so a DEL (or the next ADD) finds a device an ADD killed in between
 * left behind (docs/reliability.md, "Kills"). 14 characters, within IFNAMSIZ.
 */
export function tmpName(containerId: string, ifname: string): string {
  return `nh${new Bun.CryptoHasher("sha256").update(`${containerId}\0${ifname}`).digest("hex").slice(0, 12)}`;
}

/** Deletes the device an interrupted ADD left under its temporary name, if there is one. */
function removeLeftover(pod: NetlinkSocket, args: CmdArgs): void {
  const tmp = tmpName(args.containerId, args.ifname);
  const left = linkByName(pod, tmp);
  if (left && (left.kind === "macvlan" || left.kind === "ipvlan")) {
    step(`failed to delete "${tmp}" left by an interrupted ADD`, () => deleteLink(pod, left.index));
  }
}

/** The lower device, looked up where it lives, with upstream's checks: it exists, the MTU fits. */
function resolveMaster(conf: AttachConf, sock: NetlinkSocket): Link {
  const name = conf.master ?? defaultRouteLink(sock);
  const master = linkByName(sock, name);
  if (!master) throw new CniError(ErrCode.Internal, `failed to lookup master "${name}": Link not found`);
  if (conf.kind === "macvlan" && conf.mtu > master.mtu) {
    throw new CniError(ErrCode.InvalidNetworkConfig, `invalid MTU ${conf.mtu}, must be [0, master MTU(${master.mtu})]`);
  }
  return master;
}

/** Creates the pod's device as `ifname` inside the pod's namespace; returns it (re-read there). */
function createPodLink(conf: AttachConf, args: CmdArgs, pod: NetlinkSocket, podFd: number, log: UndoLog): Link {
  if (linkByName(pod, args.ifname)) {
    throw new CniError(ErrCode.InvalidEnvironmentVariables, `CNI_IFNAME "${args.ifname}": an interface with this name already exists in netns ${args.netns}`);
  }
  return withSocket(conf.linkInContainer ? args.netns : undefined, (parentSock) => {
    const master = resolveMaster(conf, parentSock);
    // A temporary name first, then a rename inside the pod, as upstream does (it works around a
    // kernel bug that made the final name collide with a link in the creating namespace).
    const tmp = tmpName(args.containerId, args.ifname);
    step(`failed to create ${conf.kind}`, () =>
      createLink(parentSock, { name: tmp, kind: conf.kind, parent: master.index, mode: conf.mode, mtu: conf.mtu, mac: conf.mac, netnsFd: podFd }),
    );
    const created = linkByName(pod, tmp);
    if (!created) throw new CniError(ErrCode.Internal, `failed to create ${conf.kind}: ${tmp} did not appear in ${args.netns}`);
    log.push(`create ${conf.kind} ${args.ifname}`, () => deleteLink(pod, created.index));
    step(`failed to rename ${conf.kind} to "${args.ifname}"`, () => renameLink(pod, created.index, args.ifname));
    const link = linkByIndex(pod, created.index);
    if (!link) throw new CniError(ErrCode.Internal, `failed to refetch ${conf.kind} "${args.ifname}"`);
    return link;
  });
}

/** What the `multipath` option acts on: this attachment's device and its planned routes. */
function multipathTarget(args: CmdArgs, pod: NetlinkSocket, link: Link, writes: RouteWrite[]) {
  return { netns: args.netns, sock: pod, ifname: args.ifname, ifindex: link.index, holder: holderId(args.containerId, args.ifname), writes };
}

/** ADD: device, IPAM, addresses and routes; all or nothing. */
export function attachAdd(conf: AttachConf, args: CmdArgs): Result {
  checkPodNetns(args.netns);
  return withNetnsLock(args.netns, () => attachAddLocked(conf, args));
}

function attachAddLocked(conf: AttachConf, args: CmdArgs): Result {
  const podFd = openPodNetns(args.netns);
  const log = new UndoLog();
  let opened: NetlinkSocket | undefined;
  try {
    const pod = (opened = NetlinkSocket.open(args.netns));
    removeLeftover(pod, args);
    const link = createPodLink(conf, args, pod, podFd, log);
    const iface: Interface = { name: args.ifname, mac: link.mac, sandbox: args.netns };
    let result: Result = { cniVersion: CURRENT_VERSION, interfaces: [iface] };
    if (conf.ipamType) {
      // A delegate that cannot be found was never called: nothing to undo.
      resolveDelegate(conf.ipamType, args);
      // Recorded first: the spec wants DEL on the delegate also when its own ADD failed.
      log.push(`IPAM ADD (${conf.ipamType})`, () => delegateDel(conf.ipamType, args));
      const ipam = delegateAdd(conf.ipamType, args);
      if (!ipam.ips?.length) throw new CniError(ErrCode.Internal, "IPAM plugin returned missing IP config");
      result = { ...result, ips: ipam.ips.map((ip) => ({ ...ip, interface: 0 })), routes: ipam.routes ?? [] };
    } else if (conf.prevResult?.ips?.length) {
      result = { ...conf.prevResult, cniVersion: CURRENT_VERSION, interfaces: [iface], ips: conf.prevResult.ips.map((ip) => ({ ...ip, interface: 0 })) };
    }
    if (conf.multipath?.metric !== undefined) result = { ...result, routes: withOwnMetric(result.routes, conf.multipath) };
    // The plan (plan.ts) also holds the best-effort gratuitous ARP / unsolicited NA sysctls.
    const plan = applyPlan(args.netns, pod, { ifname: args.ifname, ifindex: link.index, result, ecmp: conf.ecmp, routesAt: conf.ipamType ? "ipam.routes" : "prevResult.routes" }, log);
    if (result.ips?.length && conf.multipath) applyMultipath(conf.multipath, multipathTarget(args, pod, link, plan.writes), log);
    result.dns = conf.dns;
    if (!result.dns || Object.keys(result.dns).length === 0) delete result.dns;
    // The result must be expressible in the config's version (0.1.0/0.2.0 need an address):
    // find out now, while the changes can still be undone.
    convertResult(result, args.cniVersion);
    return result;
  } catch (e) {
    throw rolledBack(e, log);
  } finally {
    opened?.close();
    libc().close(podFd);
  }
}

/** DEL: IPAM DEL, then take this device's nexthops out of shared routes, then delete it. */
export function attachDel(conf: Pick<AttachConf, "ipamType">, args: CmdArgs): void {
  if (args.netns) checkPodNetns(args.netns);
  if (conf.ipamType) delegateDel(conf.ipamType, args);
  if (!args.netns) return;
  withNetnsLock(args.netns, () => {
    const pod = openPodSocketForDel(args.netns);
    if (!pod) return;
    try {
      removeLeftover(pod, args);
      const link = linkByName(pod, args.ifname);
      // The device takes its managed neighbour entries along; the pod-wide values are released here.
      releaseMultipath(args.netns, pod, holderId(args.containerId, args.ifname));
      if (!link) return;
      step(`failed to remove the nexthops of "${args.ifname}" from shared routes`, () => detachSharedRoutes(pod, link.index));
      step(`failed to delete "${args.ifname}"`, () => deleteLink(pod, link.index));
    } finally {
      pod.close();
    }
  });
}

/** CHECK: the device, its addresses and its nexthop sets against prevResult. */
export function attachCheck(conf: AttachConf, args: CmdArgs, checkLink: (link: Link, prev: Interface) => void): void {
  checkPodNetns(args.netns);
  // The master must still be there, as upstream's CHECK requires (its loadConf looks it up).
  if (!conf.noMasterCheck) withSocket(conf.linkInContainer ? args.netns : undefined, (sock) => resolveMaster(conf, sock));
  if (conf.ipamType) delegateCheck(conf.ipamType, args);
  const prev = conf.prevResult;
  if (!prev) throw new CniError(ErrCode.Internal, "required prevResult missing");
  const iface = prev.interfaces?.find((i) => i.name === args.ifname);
  if (!iface || iface.sandbox !== args.netns) {
    throw new CniError(ErrCode.Internal, `sandbox in prevResult ${iface?.sandbox ?? ""} doesn't match configured netns: ${args.netns}`);
  }
  withSocket(args.netns, (pod) => {
    const link = linkByName(pod, args.ifname);
    if (!link) throw new CniError(ErrCode.Internal, `container Interface name in prevResult: ${args.ifname} not found`);
    checkLink(link, iface);
    const have = listAddrs(pod, AF_UNSPEC, link.index);
    for (const a of planAddresses(prev, args.ifname, "check")) {
      const want = a.cidr;
      if (!want || !have.some((x) => ipEqual(x.ip, want.ip) && x.prefixlen === want.prefix)) {
        throw new CniError(ErrCode.Internal, `Failed to match addr ${a.address} on interface ${args.ifname}`);
      }
    }
    // CHECK compares the plan's sets with the kernel: the plan itself needs no routes.
    const plan = planInterface({ ifname: args.ifname, ifindex: link.index, result: prev, ecmp: conf.ecmp, kernel: NO_ROUTES, routesAt: "prevResult.routes", purpose: "check" });
    // A chained vrf moved this device's main-table routes into its VRF's table, and a runtime's
    // cached result may not say so (libcni before 1.2 drops `table`): look there (docs/vrf.md).
    const vrfTable = vrfTableOf(pod, link);
    const moved = (key: RouteKey): RouteKey => (vrfTable && key.table === RT_TABLE_MAIN ? { ...key, table: vrfTable } : key);
    const kernel = new RouteTables(pod);
    expectKeys(kernel, plan.routes.map((r) => moved(r.key)));
    const writes = plan.writes.map((w) => ({ ...w, set: { ...w.set, key: moved(w.set.key) } }));
    for (const r of plan.routes) {
      // Compared as sets, per key: all aliases with the key count (upstream mode may have put one
      // route per gateway), and only nexthops through this device (others belong to others).
      const key = moved(r.key);
      const want = r.writes.flatMap((w) => w.set.nexthops);
      const held = routesAt(kernel, key.family, key.table, key.dst).filter((x) => x.type === RTN_UNICAST && sameKey(x, key)).flatMap((x) => x.nexthops).filter((nh) => nh.ifindex === link.index);
      if (want.every((nh) => hasNexthop(held, nh)) && held.every((nh) => hasNexthop(want, nh))) continue;
      const text = (nhs: typeof want) => nhs.map((nh) => (nh.gateway ? formatIP(nh.gateway) : "direct")).join(", ") || "none";
      throw new CniError(
        ErrCode.Internal,
        `Expected Route ${formatCIDR(key.dst)} (table ${key.table}) via [${text(want)}] dev ${args.ifname}, kernel has [${text(held)}]`,
      );
    }
    if (conf.multipath) checkMultipath(conf.multipath, multipathTarget(args, pod, link, writes));
  });
}

// ---- preview: what an ADD would do, changing nothing (`nexthop plan`) ---------------------------

/** A sysctl of the plan with the value the pod has now (for the new device: the default one). */
export interface SysctlNow extends PlannedSysctl {
  /** The value read, or undefined when the key cannot be read. */
  current?: string;
  /** Where `current` was read when the device does not exist yet ("net/ipv4/conf/default/..."). */
  currentFrom?: string;
  /** Whether ADD would write the key. */
  write: boolean;
}

export interface AddPreview {
  link: {
    ifname: string;
    kind: "macvlan" | "ipvlan";
    /** The lower device's name; undefined when it could not be resolved (see refusals). */
    master?: string;
    /** Where the lower device is looked up. */
    masterIn: "host" | "pod";
    mode: number;
    mtu: number;
    /** Another device already has the name in the pod: ADD refuses. */
    nameTaken: boolean;
    /** A device an interrupted ADD left under its temporary name: ADD deletes it first. */
    leftover?: string;
  };
  /** What ADD configures: the IPAM result (or prevResult when chained) as ADD builds it. */
  result?: Result;
  plan?: InterfacePlan;
  sysctls: SysctlNow[];
  /** The errors ADD would fail with, in the order it meets them (it reports the first). */
  refusals: string[];
  /** Device names by index in the pod; 0 is the device ADD creates. */
  devices: Record<number, string>;
  notes: string[];
}

/** Turns a CniError into a refusal; anything else is thrown on. */
function refusalOf(e: unknown, refusals: string[]): void {
  if (!(e instanceof CniError)) throw e;
  refusals.push(e.message);
}

/**
 * What ADD would do in the pod, read from the kernel without changing anything: the device to
 * create (or why not), and the interface plan for the IPAM result `ipam()` returns (the caller
 * runs an IPAM without side effects; undefined when chained on a prevResult). No lock, no write.
 */
export function previewAdd(conf: AttachConf, args: CmdArgs, runIpam: (() => Result) | undefined): AddPreview {
  checkPodNetns(args.netns);
  const refusals: string[] = [];
  const notes: string[] = [];
  return withSocket(args.netns, (pod) => {
    const tmp = args.containerId ? linkByName(pod, tmpName(args.containerId, args.ifname)) : undefined;
    const taken = linkByName(pod, args.ifname) !== undefined;
    if (taken) refusals.push(`CNI_IFNAME "${args.ifname}": an interface with this name already exists in netns ${args.netns}`);
    let master: string | undefined;
    try {
      master = withSocket(conf.linkInContainer ? args.netns : undefined, (sock) => resolveMaster(conf, sock)).name;
    } catch (e) {
      refusalOf(e, refusals);
    }
    const link: AddPreview["link"] = {
      ifname: args.ifname, kind: conf.kind, master, masterIn: conf.linkInContainer ? "pod" : "host", mode: conf.mode, mtu: conf.mtu, nameTaken: taken,
      ...(tmp && (tmp.kind === "macvlan" || tmp.kind === "ipvlan") ? { leftover: tmp.name } : {}),
    };
    const devices: Record<number, string> = { 0: args.ifname };
    for (const l of listLinks(pod)) devices[l.index] = l.name;
    const iface: Interface = { name: args.ifname, sandbox: args.netns };
    const base: Result = { cniVersion: CURRENT_VERSION, interfaces: [iface] };
    let result: Result | undefined = base;
    let ipam: Result | undefined;
    try {
      ipam = runIpam?.();
    } catch (e) {
      refusalOf(e, refusals);
      result = undefined;
    }
    if (ipam) {
      if (!ipam.ips?.length) {
        refusals.push("IPAM plugin returned missing IP config");
        result = undefined;
      } else {
        result = { ...base, ips: ipam.ips.map((ip) => ({ ...ip, interface: 0 })), routes: ipam.routes ?? [] };
      }
    } else if (result && conf.prevResult?.ips?.length) {
      result = { ...conf.prevResult, cniVersion: CURRENT_VERSION, interfaces: [iface], ips: conf.prevResult.ips.map((ip) => ({ ...ip, interface: 0 })) };
    }
    if (result && conf.multipath?.metric !== undefined) result = { ...result, routes: withOwnMetric(result.routes, conf.multipath) };
    let plan: InterfacePlan | undefined;
    if (result) {
      try {
        plan = planInterface({ ifname: args.ifname, ifindex: 0, result, ecmp: conf.ecmp, kernel: new RouteTables(pod), routesAt: conf.ipamType ? "ipam.routes" : "prevResult.routes" });
      } catch (e) {
        refusalOf(e, refusals);
      }
    }
    for (const w of plan?.writes ?? []) if (w.refused) refusals.push(`failed to add route '${routeText(w, args.ifname)}': ${w.refused}`);
    if (result) {
      try {
        convertResult({ ...result, dns: conf.dns }, args.cniVersion);
      } catch (e) {
        refusalOf(e, refusals);
      }
    }
    if (conf.multipath) notes.push("the multipath option (hash policy, failover) is not part of the preview");
    const sysctls = withNetns(args.netns, () => (plan?.sysctls ?? []).map((s) => sysctlNow(s, args.ifname)));
    return { link, result, plan, sysctls, refusals, devices, notes };
  });
}

/** Reads a planned sysctl's current value; the new device's keys are read from "default". */
function sysctlNow(s: PlannedSysctl, ifname: string): SysctlNow {
  const from = s.device === ifname ? s.key.replace(`/conf/${ifname}/`, "/conf/default/") : undefined;
  let current: string | undefined;
  try {
    current = readSysctl(from ?? s.key);
  } catch {}
  // An unreadable key is skipped by ADD when it writes only what differs.
  const write = !s.onlyIfDifferent || (current !== undefined && current !== s.value);
  return { ...s, current, ...(from ? { currentFrom: from } : {}), write };
}

/** What differs between the interface plugins; everything else is the story above. */
export interface InterfacePluginSpec {
  name: "macvlan" | "ipvlan";
  /** Mode names as the config spells them ("" is the default). */
  modes: Record<string, number>;
  /** The config; `forCheck` because upstream's ipvlan loads it differently for CHECK. */
  load(args: CmdArgs, forCheck: boolean): AttachConf;
  /** The IPAM type alone: DEL, STATUS and GC must not depend on the master still existing. */
  ipamType(args: CmdArgs): string;
  /** Upstream's CHECK messages, whose wording differs per plugin. */
  wrongKind(ifname: string): string;
  wrongMode(current: string, expected: string): string;
  wrongMac(ifname: string, expected: string, actual: string): string;
}

export function interfacePlugin(spec: InterfacePluginSpec): Plugin {
  const modeName = (m: number) => Object.entries(spec.modes).find(([k, v]) => k && v === m)?.[0] ?? String(m);
  const forwardToIpam = (args: CmdArgs, delegate: (type: string, args: CmdArgs) => void) => {
    const type = spec.ipamType(args);
    if (type) delegate(type, args);
  };
  return {
    name: spec.name,
    supportedVersions: ALL_VERSIONS,
    add: (args) => attachAdd(spec.load(args, false), args),
    del: (args) => attachDel({ ipamType: spec.ipamType(args) }, args),
    // Upstream forwards STATUS only; the spec says GC must be forwarded as well.
    status: (args) => forwardToIpam(args, delegateStatus),
    gc: (args) => forwardToIpam(args, delegateGc),
    check: (args) => {
      const conf = spec.load(args, true);
      attachCheck(conf, args, (link, prev) => {
        if (link.kind !== spec.name) throw new CniError(ErrCode.Internal, spec.wrongKind(link.name));
        if (link.mode !== conf.mode) throw new CniError(ErrCode.Internal, spec.wrongMode(modeName(link.mode), modeName(conf.mode)));
        if (prev.mac && prev.mac.toLowerCase() !== link.mac) throw new CniError(ErrCode.Internal, spec.wrongMac(link.name, prev.mac, link.mac));
      });
    },
  };
}
