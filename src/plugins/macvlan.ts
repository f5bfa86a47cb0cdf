// macvlan: upstream's config and results; routes sharing a key become one multipath route.
import { z } from "../cni/zod";
import { CniError, ErrCode } from "../cni/errors";
import { loadArgs } from "../cni/args";
import { canonicalKeys } from "../cni/go/json";
import { dnsSchema, ecmpSchema, parseConfig } from "../cni/schema";
import type { CmdArgs } from "../cni/types";
import { parsePrevResult } from "../cni/result";
import {
  MACVLAN_MODE_BRIDGE, MACVLAN_MODE_PASSTHRU, MACVLAN_MODE_PRIVATE, MACVLAN_MODE_VEPA,
} from "../netlink/constants";
import { parseMac } from "../netlink/link";
import { multipathConf, multipathSchema } from "../net/multipath";
import { interfacePlugin, type AttachConf, type InterfacePluginSpec } from "../net/attach";

const modes: Record<string, number> = {
  "": MACVLAN_MODE_BRIDGE, bridge: MACVLAN_MODE_BRIDGE, private: MACVLAN_MODE_PRIVATE,
  vepa: MACVLAN_MODE_VEPA, passthru: MACVLAN_MODE_PASSTHRU,
};

const schema = z.looseObject({
  master: z.optional(z.string()),
  mode: z.optional(z.string()),
  mtu: z.optional(z.number().check(z.int(), z.minimum(0))),
  mac: z.optional(z.string()),
  linkInContainer: z.optional(z.boolean()),
  ipam: z.optional(z.looseObject({ type: z.optional(z.string()) })),
  dns: z.optional(dnsSchema),
  ecmp: ecmpSchema,
  multipath: multipathSchema,
  runtimeConfig: z.optional(z.looseObject({ mac: z.optional(z.string()) })),
});

function macFrom(s: string): Uint8Array {
  const mac = parseMac(s);
  if (!mac) throw new CniError(ErrCode.InvalidNetworkConfig, `invalid args ${s} for MAC addr: address ${s}: invalid MAC address`);
  return mac;
}

function load(args: CmdArgs): AttachConf {
  const c = parseConfig(schema, canonicalKeys(args.config, ["master", "mode", "mtu", "mac", "linkInContainer", "ipam", "dns", "ecmp", "multipath", "runtimeConfig"]));
  const mode = modes[c.mode ?? ""];
  // A plain Go error upstream, so code 999 there and here.
  if (mode === undefined) throw new CniError(ErrCode.Internal, `unknown macvlan mode: "${c.mode}"`);
  let mac = c.mac;
  const envMac = loadArgs(args.args, ["IgnoreUnknown", "MAC"]).MAC;
  if (envMac) mac = envMac;
  if (c.runtimeConfig?.mac) mac = c.runtimeConfig.mac;
  return {
    kind: "macvlan", master: c.master || undefined, mode, mtu: c.mtu ?? 0, mac: mac ? macFrom(mac) : undefined,
    linkInContainer: c.linkInContainer ?? false, ipamType: c.ipam?.type ?? "", dns: c.dns, ecmp: c.ecmp ?? "merge", multipath: multipathConf(c.multipath),
    prevResult: parsePrevResult(args.config),
  };
}

/** The plugin's parts, also for `nexthop plan` (src/plugins/plan.ts). */
export const spec: InterfacePluginSpec = {
  name: "macvlan",
  modes,
  load,
  ipamType: (args) => parseConfig(schema, canonicalKeys(args.config, ["ipam"]), "failed to load netConf").ipam?.type ?? "",
  wrongKind: (ifname) => `error: Container interface ${ifname} not of type macvlan`,
  wrongMac: (ifname, expected, actual) => `interface ${ifname} Mac ${expected} doesn't match container Mac: ${actual}`,
  wrongMode: (current, expected) => `container macvlan mode ${current} does not match expected value: ${expected}`,
};

const plugin = interfacePlugin(spec);

export default plugin;
