// ipvlan: upstream's config and results (including chaining on a prevResult); routes sharing a
// key become one multipath route.
import { z } from "zod";
import { delegateGc, delegateStatus, registerPlugin } from "../cni/delegate";
import { CniError, ErrCode } from "../cni/errors";
import { canonicalKeys } from "../cni/json";
import { dnsSchema, ecmpSchema, parseConfig } from "../cni/schema";
import type { CmdArgs, Plugin } from "../cni/types";
import { ALL_VERSIONS, parsePrevResult } from "../cni/version";
import { IPVLAN_MODE_L2, IPVLAN_MODE_L3, IPVLAN_MODE_L3S } from "../netlink/constants";
import { attachAdd, attachCheck, attachDel, type AttachConf } from "../net/attach";

const modes: Record<string, number> = { "": IPVLAN_MODE_L2, l2: IPVLAN_MODE_L2, l3: IPVLAN_MODE_L3, l3s: IPVLAN_MODE_L3S };

const schema = z.looseObject({
  master: z.string().optional(),
  mode: z.string().optional(),
  mtu: z.number().int().min(0).optional(),
  linkInContainer: z.boolean().optional(),
  ipam: z.looseObject({ type: z.string().optional() }).optional(),
  dns: dnsSchema.optional(),
  ecmp: ecmpSchema,
});

function load(args: CmdArgs): AttachConf {
  const c = parseConfig(schema, canonicalKeys(args.config, ["master", "mode", "mtu", "linkInContainer", "ipam", "dns", "ecmp"]));
  const mode = modes[c.mode ?? ""];
  if (mode === undefined) throw new CniError(ErrCode.InvalidNetworkConfig, `unknown ipvlan mode: "${c.mode}"`);
  const prevResult = parsePrevResult(args.config);
  let master = c.master || undefined;
  if (!master && prevResult) {
    // Chained: the master is the one interface the previous plugin made.
    const named = prevResult.interfaces?.filter((i) => i.name) ?? [];
    if (named.length !== 1) throw new CniError(ErrCode.Internal, "chained master failure. PrevResult lacks a single named interface");
    master = named[0].name;
  }
  if (!c.ipam?.type && !prevResult?.ips?.length) {
    throw new CniError(ErrCode.Internal, "no plugin name provided");
  }
  return {
    kind: "ipvlan", master, mode, mtu: c.mtu ?? 0, linkInContainer: c.linkInContainer ?? false,
    ipamType: c.ipam?.type ?? "", dns: c.dns, ecmp: c.ecmp ?? "merge", prevResult,
  };
}

/** The IPAM type alone: DEL, STATUS and GC must not depend on the master still existing. */
function ipamType(args: CmdArgs): string {
  return parseConfig(schema, canonicalKeys(args.config, ["ipam"]), "failed to load netConf").ipam?.type ?? "";
}

function forwardToIpam(args: CmdArgs, delegate: (type: string, args: CmdArgs) => void): void {
  const type = ipamType(args);
  if (type) delegate(type, args);
}

const ipvlan: Plugin = {
  name: "ipvlan",
  supportedVersions: ALL_VERSIONS,
  add: (args) => attachAdd(load(args), args),
  del: (args) => attachDel({ ipamType: ipamType(args) }, args),
  // STATUS and GC are forwarded to IPAM (upstream forwards STATUS only; the spec says both).
  status: (args) => forwardToIpam(args, delegateStatus),
  gc: (args) => forwardToIpam(args, delegateGc),
  check: (args) => {
    const conf = load(args);
    attachCheck(conf, args, (link) => {
      if (link.kind !== "ipvlan") throw new CniError(ErrCode.Internal, `Error: Container interface ${link.name} not of type ipvlan`);
      if (link.mode !== conf.mode) {
        const name = (m: number) => Object.entries(modes).find(([k, v]) => k && v === m)?.[0] ?? String(m);
        throw new CniError(ErrCode.Internal, `Container IPVlan mode ${name(link.mode)} does not match expected value: ${name(conf.mode)}`);
      }
    });
  },
};

registerPlugin(ipvlan);
export default ipvlan;
