// vrf: a chained plugin that puts the interface an earlier plugin made into a VRF, creating the
// VRF when needed, and moves the interface's routes, multipath ones included, into the VRF's
// table (docs/vrf.md). Upstream's config (vrfname, table) and versions (0.3.1 on).
import { z } from "../cni/zod";
import { CniError, ErrCode } from "../cni/errors";
import { canonicalKeys } from "../cni/go/json";
import { parseConfig } from "../cni/schema";
import type { CmdArgs, Plugin } from "../cni/types";
import { parsePrevResult } from "../cni/result";
import { CURRENT_VERSION, versionsStartingFrom } from "../cni/version";
import { RT_TABLE_DEFAULT, RT_TABLE_LOCAL } from "../netlink/constants";
import { checkPrevInterface, requirePrevResult, withPodChanges } from "../net/chain";
import { markMoved } from "../net/move";
import { openPodSocketForDel, withSocket } from "../net/pod";
import { applyEnslave, checkEnslaved, planEnslave, releaseFromVrf } from "../net/vrf";

const schema = z.looseObject({
  vrfname: z.optional(z.string().check(
    z.refine((s) => new TextEncoder().encode(s).length <= 15, { message: "a device name is at most 15 bytes" }),
    z.refine((s) => !/[/:\s]/.test(s), { message: "a device name cannot contain '/', ':' or whitespace" }),
  )),
  table: z.optional(z.number().check(
    z.int(), z.minimum(1), z.maximum(0xffffffff),
    z.refine((t) => t < RT_TABLE_DEFAULT || t > RT_TABLE_LOCAL, { message: "tables 253, 254 and 255 are the kernel's default, main and local tables" }),
  )),
});

interface VrfConf {
  vrfname: string;
  table?: number;
}

function load(args: CmdArgs): VrfConf {
  const c = parseConfig(schema, canonicalKeys(args.config, ["vrfname", "table"]));
  if (!c.vrfname) {
    throw new CniError(ErrCode.InvalidNetworkConfig, `configuration is expected to have a valid vrf name (vrfname: ${JSON.stringify(c.vrfname ?? null)})`);
  }
  return { vrfname: c.vrfname, table: c.table };
}

/** ADD with a hook ahead of every kernel change (tests inject faults there). */
export function vrfAdd(args: CmdArgs, before?: (step: string) => void) {
  const conf = load(args);
  const prev = requirePrevResult(parsePrevResult(args.config));
  checkPrevInterface(prev, args);
  const plan = withPodChanges(args.netns, (sock, log) => {
    const plan = planEnslave(sock, args.netns, args.ifname, conf.vrfname, conf.table);
    applyEnslave(sock, args.netns, plan, log, before);
    return plan;
  });
  return { ...prev, cniVersion: CURRENT_VERSION, routes: prev.routes && markMoved(prev.routes, plan.moves, plan.table) };
}

const plugin: Plugin = {
  name: "vrf",
  supportedVersions: versionsStartingFrom("0.3.1"),
  add: (args) => vrfAdd(args),
  del: (args) => {
    const conf = load(args);
    if (!args.netns) return;
    const sock = openPodSocketForDel(args.netns);
    if (!sock) return;
    try {
      releaseFromVrf(sock, args.ifname, conf.vrfname);
    } finally {
      sock.close();
    }
  },
  check: (args) => {
    const conf = load(args);
    requirePrevResult(parsePrevResult(args.config));
    withSocket(args.netns, (sock) => checkEnslaved(sock, args.ifname, conf.vrfname, conf.table));
  },
};

export default plugin;
