// ipvlan: upstream's config and results (including chaining on a prevResult); routes sharing a
// key become one multipath route.
import { z } from "../cni/zod";
import { CniError, ErrCode } from "../cni/errors";
import { canonicalKeys } from "../cni/go/json";
import { dnsSchema, ecmpSchema, parseConfig } from "../cni/schema";
import type { CmdArgs } from "../cni/types";
import { parsePrevResult } from "../cni/result";
import { IPVLAN_MODE_L2, IPVLAN_MODE_L3, IPVLAN_MODE_L3S } from "../netlink/constants";
import { multipathConf, multipathSchema } from "../net/multipath";
import { interfacePlugin, type AttachConf, type InterfacePluginSpec } from "../net/attach";

const modes: Record<string, number> = { "": IPVLAN_MODE_L2, l2: IPVLAN_MODE_L2, l3: IPVLAN_MODE_L3, l3s: IPVLAN_MODE_L3S };

const schema = z.looseObject({
  master: z.optional(z.string()),
  mode: z.optional(z.string()),
  mtu: z.optional(z.number().check(z.int(), z.minimum(0))),
  linkInContainer: z.optional(z.boolean()),
  ipam: z.optional(z.looseObject({ type: z.optional(z.string()) })),
  dns: z.optional(dnsSchema),
  ecmp: ecmpSchema,
  multipath: multipathSchema,
});

function load(args: CmdArgs, forCheck: boolean): AttachConf {
  const c = parseConfig(schema, canonicalKeys(args.config, ["master", "mode", "mtu", "linkInContainer", "ipam", "dns", "ecmp", "multipath"]));
  const mode = modes[c.mode ?? ""];
  // A plain Go error upstream, so code 999 there and here.
  if (mode === undefined) throw new CniError(ErrCode.Internal, `unknown ipvlan mode: "${c.mode}"`);
  const prevResult = parsePrevResult(args.config);
  let master = c.master || undefined;
  // CHECK's prevResult is ipvlan's own result: upstream derives no master there.
  if (!master && prevResult && !forCheck) {
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
    ipamType: c.ipam?.type ?? "", dns: c.dns, ecmp: c.ecmp ?? "merge", multipath: multipathConf(c.multipath), prevResult,
    noMasterCheck: forCheck && !master,
  };
}

/** The plugin's parts, also for `nexthop plan` (src/plugins/plan.ts). */
export const spec: InterfacePluginSpec = {
  name: "ipvlan",
  modes,
  load,
  ipamType: (args) => parseConfig(schema, canonicalKeys(args.config, ["ipam"]), "failed to load netConf").ipam?.type ?? "",
  wrongKind: (ifname) => `Error: Container interface ${ifname} not of type ipvlan`,
  wrongMac: (ifname, expected, actual) => `Interface ${ifname} Mac ${expected} doesn't match container Mac: ${actual}`,
  wrongMode: (current, expected) => `Container IPVlan mode ${current} does not match expected value: ${expected}`,
};

const plugin = interfacePlugin(spec);

export default plugin;
