// `nexthop plan <plugin> --netns PATH --ifname NAME [--json] < config`: what an ADD of macvlan or
// ipvlan would do in the pod, read from the kernel and changing nothing: the device to create
// (or why not), addresses, sysctls, and per route key the nexthops before and after with the
// write that gets there or why it is refused. The IPAM runs in-process only when it is
// nexthop's own static (which has no side effects); any other IPAM is refused, since running it
// would allocate. `nexthop plan static` prints static's result. The JSON form's schema is
// documented in docs/plan.md; the text form is for people and may change.
import { CniError } from "../cni/errors";
import { parseGoJSON, isObject } from "../cni/go/json";
import { goQuote } from "../cni/go/quote";
import { formatResult } from "../cni/print";
import { convertResult } from "../cni/result";
import type { CmdArgs, Result } from "../cni/types";
import { configVersion } from "../cni/version";
import { formatCIDR, formatIP } from "../ip";
import { staticAdd } from "../ipam/static";
import { previewAdd, type AddPreview, type InterfacePluginSpec } from "../net/attach";
import type { Nexthop } from "../netlink/key";
import type { PlannedWrite, RoutePlan } from "../net/plan";
import { spec as ipvlan } from "./ipvlan";
import { spec as macvlan } from "./macvlan";

/** The JSON form's schema id; a change that breaks readers gets a new one. */
export const PLAN_SCHEMA = "nexthop-plan/v1";

export const PLAN_USAGE = `usage: nexthop plan {macvlan|ipvlan} --netns PATH --ifname NAME [--json] [--container-id ID] [--args CNI_ARGS] < config
       nexthop plan static [--json] [--args CNI_ARGS] < config
`;

/** Exit codes: the plan was made and ADD would succeed / would fail; no plan; bad usage. */
export const PLAN_OK = 0;
export const PLAN_NO_PLAN = 1;
export const PLAN_USAGE_ERROR = 2;
export const PLAN_ADD_WOULD_FAIL = 3;

interface Output {
  stdout: string;
  stderr: string;
  exitCode: number;
}

interface Options {
  plugin: string;
  netns?: string;
  ifname?: string;
  json: boolean;
  containerId: string;
  cniArgs: string;
}

const fail = (code: number, msg: string): Output => ({ stdout: "", stderr: `nexthop plan: ${msg}\n`, exitCode: code });

function parseArgs(argv: string[]): Options | string {
  const o: Options = { plugin: "", json: false, containerId: "", cniArgs: "" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf("=");
    const [flag, inline] = a.startsWith("--") && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const take = (): string | undefined => inline ?? argv[++i];
    if (flag === "--json") o.json = true;
    else if (flag === "--netns") o.netns = take();
    else if (flag === "--ifname") o.ifname = take();
    else if (flag === "--container-id") o.containerId = take() ?? "";
    else if (flag === "--args") o.cniArgs = take() ?? "";
    else if (!a.startsWith("-") && !o.plugin) o.plugin = a;
    else return `unknown argument ${goQuote(a)}`;
    if ((flag === "--netns" || flag === "--ifname") && !(flag === "--netns" ? o.netns : o.ifname)) return `${flag} needs a value`;
  }
  if (!o.plugin) return "which plugin? macvlan, ipvlan or static";
  return o;
}

const SPECS: Record<string, InterfacePluginSpec> = { macvlan, ipvlan };

/** Runs `nexthop plan`; `stdin` reads the config. Never changes the kernel. */
export function planCli(argv: string[], stdin: () => Uint8Array): Output {
  const o = parseArgs(argv);
  if (typeof o === "string") return { stdout: "", stderr: `nexthop plan: ${o}\n${PLAN_USAGE}`, exitCode: PLAN_USAGE_ERROR };
  const spec = SPECS[o.plugin];
  if (!spec && o.plugin !== "static") return fail(PLAN_USAGE_ERROR, `cannot plan plugin ${goQuote(o.plugin)}: only macvlan, ipvlan and static`);
  if (spec && (!o.netns || !o.ifname)) return { stdout: "", stderr: `nexthop plan: --netns and --ifname are required\n${PLAN_USAGE}`, exitCode: PLAN_USAGE_ERROR };
  let args: CmdArgs;
  try {
    const bytes = stdin();
    const config = parseGoJSON(bytes);
    if (!isObject(config)) return fail(PLAN_NO_PLAN, "the config on stdin is not a JSON object");
    args = {
      command: "ADD", containerId: o.containerId, netns: o.netns ?? "", ifname: o.ifname ?? "", args: o.cniArgs, path: [], stdin: bytes, config,
      cniVersion: configVersion(config), env: {},
    };
  } catch (e) {
    return fail(PLAN_NO_PLAN, `cannot read the config: ${(e as Error).message}`);
  }
  try {
    if (!spec) return staticPlan(args, o.json);
    const conf = spec.load(args, false);
    let runIpam: (() => Result) | undefined;
    if (conf.ipamType === "static") {
      runIpam = () => convertResult(staticAdd(args), args.cniVersion);
    } else if (conf.ipamType) {
      return fail(
        PLAN_NO_PLAN,
        `cannot plan with IPAM type ${goQuote(conf.ipamType)}: only nexthop's own "static" IPAM runs without side effects (any other IPAM would allocate an address)`,
      );
    }
    const preview = previewAdd(conf, args, runIpam);
    const report = planReport(o.plugin, args, spec, preview);
    return {
      stdout: o.json ? `${JSON.stringify(report, null, 2)}\n` : planText(report),
      stderr: "",
      exitCode: report.addWouldSucceed ? PLAN_OK : PLAN_ADD_WOULD_FAIL,
    };
  } catch (e) {
    if (e instanceof CniError) return fail(PLAN_NO_PLAN, `${o.plugin} refuses the config: ${e.message} (CNI error code ${e.code})`);
    return fail(PLAN_NO_PLAN, (e as Error).message ?? String(e));
  }
}

function staticPlan(args: CmdArgs, json: boolean): Output {
  const text = formatResult(staticAdd(args), args.cniVersion);
  if (json) return { stdout: `${JSON.stringify({ schema: PLAN_SCHEMA, plugin: "static", cniVersion: args.cniVersion, result: JSON.parse(text) }, null, 2)}\n`, stderr: "", exitCode: PLAN_OK };
  return { stdout: `nexthop plan: static IPAM would return (CNI ${args.cniVersion}; it changes nothing):\n${text.endsWith("\n") ? text : `${text}\n`}`, stderr: "", exitCode: PLAN_OK };
}

// ---- the report (the JSON form) ------------------------------------------------------------------

interface HopJson {
  gateway: string | null;
  dev: string;
  weight: number;
}

export interface PlanReport {
  schema: string;
  plugin: string;
  netns: string;
  ifname: string;
  addWouldSucceed: boolean;
  refusals: string[];
  link: {
    ifname: string;
    kind: string;
    master: string | null;
    masterIn: "host" | "pod";
    mode: string;
    mtu: number;
    nameTaken: boolean;
    leftover: string | null;
    up: boolean;
  };
  addresses: string[];
  sysctls: { key: string; value: string; fatal: boolean; onlyIfDifferent: boolean; current: string | null; currentFrom: string | null; write: boolean }[];
  dadWait: boolean;
  routes: {
    family: 4 | 6;
    table: number;
    dst: string;
    metric: number;
    tos: number;
    scope: number;
    before: HopJson[];
    after: HopJson[];
    writes: { op: string; join: boolean; nexthops: HopJson[]; refused: string | null }[];
  }[];
  notes: string[];
}

const dotted = (key: string) => key.replaceAll("/", ".");

function planReport(plugin: string, args: CmdArgs, spec: InterfacePluginSpec, p: AddPreview): PlanReport {
  const hop = (nh: Nexthop): HopJson => ({ gateway: nh.gateway ? formatIP(nh.gateway) : null, dev: p.devices[nh.ifindex] ?? `#${nh.ifindex}`, weight: nh.weight });
  const modeName = Object.entries(spec.modes).find(([k, v]) => k && v === p.link.mode)?.[0] ?? String(p.link.mode);
  return {
    schema: PLAN_SCHEMA,
    plugin,
    netns: args.netns,
    ifname: args.ifname,
    addWouldSucceed: p.refusals.length === 0,
    refusals: p.refusals,
    link: {
      ifname: p.link.ifname, kind: p.link.kind, master: p.link.master ?? null, masterIn: p.link.masterIn, mode: modeName, mtu: p.link.mtu,
      nameTaken: p.link.nameTaken, leftover: p.link.leftover ?? null, up: true,
    },
    addresses: (p.plan?.addresses ?? []).map((a) => a.address),
    sysctls: p.sysctls.map((s) => ({
      key: dotted(s.key), value: s.value, fatal: s.fatal, onlyIfDifferent: s.onlyIfDifferent, current: s.current ?? null,
      currentFrom: s.currentFrom ? dotted(s.currentFrom) : null, write: s.write,
    })),
    dadWait: p.plan?.settle ?? false,
    routes: (p.plan?.routes ?? []).map((r: RoutePlan) => ({
      family: r.key.family === 10 ? 6 : 4,
      table: r.key.table,
      dst: formatCIDR(r.key.dst),
      metric: r.key.family === 10 && r.key.priority === 0 ? 1024 : r.key.priority,
      tos: r.key.tos,
      scope: r.key.scope,
      before: r.before.map(hop),
      after: r.after.map(hop),
      writes: r.writes.map((w: PlannedWrite) => ({ op: w.op, join: isJoin(w), nexthops: w.adds.map(hop), refused: w.refused ?? null })),
    })),
    notes: p.notes,
  };
}

/** A join: the write adds nexthops to a route that is already under the key (a refused one does not). */
function isJoin(w: PlannedWrite): boolean {
  return (w.op === "join" || w.op === "replace") && w.refused === undefined;
}

// ---- the text form -----------------------------------------------------------------------------

const OPS: Record<string, string> = {
  create: "create the route with",
  join: "join the existing route (IPv6 siblings): add",
  replace: "join the existing route (IPv4, rewritten whole by REPLACE): add",
  upstream: 'add as upstream does ("ecmp": "upstream", NLM_F_CREATE only):',
  none: "nothing to write: already there:",
};

function hopText(h: HopJson): string {
  return `${h.gateway ? `via ${h.gateway} ` : ""}dev ${h.dev}${h.weight !== 1 ? ` weight ${h.weight}` : ""}`;
}

const hopsText = (hs: HopJson[]) => (hs.length ? hs.map(hopText).join("; ") : "(nothing)");

export function planText(r: PlanReport): string {
  const out: string[] = [`nexthop plan: ${r.plugin} ADD of ${r.ifname} in ${r.netns} (nothing was changed)`, ""];
  const l = r.link;
  out.push("link");
  if (l.leftover) out.push(`  delete ${l.leftover}, left by an interrupted ADD`);
  if (l.nameTaken) out.push(`  REFUSED: ${l.ifname} already exists in the pod`);
  const mtu = l.mtu ? `mtu ${l.mtu}` : "mtu of the master";
  out.push(`  create ${l.kind} ${l.ifname} on ${l.master ?? "(no master)"} (in the ${l.masterIn}), mode ${l.mode}, ${mtu}; set it up`);
  out.push("addresses");
  for (const a of r.addresses) out.push(`  add ${a}`);
  if (!r.addresses.length) out.push("  (none)");
  out.push("sysctls");
  for (const s of r.sysctls) {
    const now = s.current === null ? "unreadable now" : `${s.currentFrom ? "default" : "now"} ${s.current}`;
    const how = s.fatal ? (s.onlyIfDifferent ? "if different" : "always") : "best effort";
    out.push(`  ${s.key} = ${s.value}  (${how}; ${now}${s.write ? "" : ": not written"})`);
  }
  if (!r.sysctls.length) out.push("  (none)");
  if (r.dadWait) out.push("DAD", "  wait until the IPv6 addresses leave tentative before writing routes");
  out.push("routes");
  for (const rt of r.routes) {
    out.push(`  ${rt.dst} (IPv${rt.family}, table ${rt.table}, metric ${rt.metric}, scope ${rt.scope}${rt.tos ? `, tos ${rt.tos}` : ""})`);
    out.push(`    before  ${hopsText(rt.before)}`);
    out.push(`    after   ${hopsText(rt.after)}`);
    for (const w of rt.writes) {
      if (w.refused) out.push(`    REFUSED ${hopsText(w.nexthops)}: ${w.refused}`);
      else out.push(`    write   ${OPS[w.op]} ${hopsText(w.nexthops)}`);
    }
  }
  if (!r.routes.length) out.push("  (none)");
  for (const n of r.notes) out.push(`note: ${n}`);
  out.push("");
  if (r.addWouldSucceed) out.push("ADD would succeed.");
  else out.push(`ADD would fail, undoing every change above, with: ${r.refusals[0]}`, ...r.refusals.slice(1).map((x) => `  (then also: ${x})`));
  return `${out.join("\n")}\n`;
}
