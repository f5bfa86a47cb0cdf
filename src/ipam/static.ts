// static IPAM: upstream's plugins/ipam/static (containernetworking/plugins v1.9.1) key for key,
// precedence rule for precedence rule and error string for error string, plus one extension:
// explicit multipath (ECMP) routes.
//
// ── Config (upstream, unchanged) ─────────────────────────────────────────────────────────────
//   "ipam": { "type": "static",
//             "addresses": [ { "address": "10.10.0.1/24", "gateway": "10.10.0.254" } ],
//             "routes": [ { "dst": "0.0.0.0/0", "gw": "10.10.0.254",
//                           "mtu"?, "advmss"?, "priority"?, "table"?, "scope"? } ],
//             "dns": { "nameservers", "domain", "search", "options" } }
//   Addresses also come from CNI_ARGS "IP=a/x,b/y;GATEWAY=g1,g2" (appended; a GATEWAY goes to
//   every CNI_ARGS address whose subnet contains it), from "args": {"cni": {"ips": [...]}}
//   (replaces) and from "runtimeConfig": {"ips": [...]} (replaces; wins over everything).
//   Keys match case-insensitively, as Go's encoding/json does ("RuntimeConfig", "Routes", ...).
//
// ── Extension: explicit ECMP with `gws` (field proposed in containernetworking/cni #1188/#1190) ──
//   "routes": [
//     { "dst": "0.0.0.0/0", "gws": ["10.10.0.253", "10.10.0.254"] },
//     { "dst": "::/0", "gw": "2001:db8::1",
//       "gws": [ {"gw": "2001:db8::2", "weight": 3}, "2001:db8::3" ], "table": 100 } ]
//   * `gws` is a non-empty list; each entry is an IP string or {"gw": "<ip>", "weight": 1..256}
//     (weight defaults to 1). A route with `gws` is ONE multipath route, in IPv4 and IPv6 alike.
//   * `gw`, if also given, is one more nexthop: it goes first, with weight 1, unless an equal
//     address is already listed in `gws`, in which case it is not added again and that entry
//     (its position and its weight) stands.
//   * All gateways must be of the family of `dst`, and distinct.
//   * Result: the route becomes one standard route entry per nexthop, in order, each with the
//     same dst/mtu/advmss/priority/table/scope and its own `gw` (libcni keeps only standard keys,
//     so no `gws` is printed). The weight travels in-process only (Route.weight, never printed).
//   * Mistakes in `gws` fail with code 7 (invalid network config), naming field and value, e.g.
//     `ipam.routes[1].gws[2]: duplicate gateway "10.0.0.1"`.
//   Routes without `gws` keep upstream's behaviour exactly: routes sharing a dst stay separate
//   entries in the result, and their gw is not checked against the dst family here.
//
// ── Errors and codes ─────────────────────────────────────────────────────────────────────────
//   Upstream's static returns plain Go errors, which its skel turns into code 999; the same
//   messages come out here with code 999 (`IPAM config missing 'ipam' key`, the CIDR notation
//   messages, ...). Type errors in upstream's keys (Go's json decode errors there) are 999 too,
//   named by field: `ipam.routes[0].gw: invalid IP address: 10.0.0.`. Checks upstream does not
//   make are code 7: everything about `gws`, and a route without `dst` (upstream would print
//   "dst":"<nil>").

import { z } from "../cni/zod";
import { CniError, ErrCode } from "../cni/errors";
import { badWeight, duplicateGateway, gatewayFamilyMismatch, isWeight } from "../cni/route-rules";
import { canonicalKeys, isObject } from "../cni/go/json";
import type { CmdArgs, DNS, IPConfig, Result, Route } from "../cni/types";
import { loadArgs } from "../cni/args";
import { parsePrevResult } from "../cni/result";
import { CURRENT_VERSION, greaterThanOrEqualTo } from "../cni/version";
import { type CIDR, type IPAddr, contains, formatCIDR, formatIP, ipEqual, parseCIDR, parseIP } from "../ip";

// ── Loaded config ───────────────────────────────────────────────────────────────────────────

export interface StaticAddress {
  /** Host bits kept, e.g. 10.10.0.1/24. */
  address: CIDR;
  gateway?: IPAddr;
}

export interface StaticNexthop {
  gw: IPAddr;
  /** 1..256 */
  weight: number;
}

export interface StaticRoute {
  dst: CIDR;
  gw?: IPAddr;
  /** Only for a route written with `gws`: every nexthop (`gw` merged in), in order. */
  nexthops?: StaticNexthop[];
  /** Absent when 0 or not given (Go's omitempty). */
  mtu?: number;
  advmss?: number;
  priority?: number;
  /** Present whenever given, 0 included (a pointer in Go). */
  table?: number;
  scope?: number;
}

export interface StaticIPAMConfig {
  /** The network's name (upstream copies it into the IPAM config). */
  name: string;
  type: string;
  /** The config's cniVersion as written ("" when absent). */
  cniVersion: string;
  addresses: StaticAddress[];
  routes: StaticRoute[];
  dns: DNS;
}

// ── Schemas: Go's decoding rules (null leaves the zero value, keys are case-insensitive) ──────

/** A Go struct: keys bound case-insensitively, unknown keys ignored, null means "not set". */
function goStruct<T extends z.core.$ZodLooseShape>(shape: T) {
  const names = Object.keys(shape);
  // zod's preprocess: a transform piped into the schema.
  return z.pipe(
    z.transform((v: unknown) => (isObject(v) ? canonicalKeys(v, names) : v)),
    z.nullish(z.object(shape)),
  );
}

/** An issue raised from inside a transform (zod/mini's transform context has no addIssue). */
function addIssue(ctx: z.core.ParsePayload, message: string, input: unknown): typeof z.NEVER {
  ctx.issues.push({ code: "custom", message, input });
  return z.NEVER;
}

/**
 * The schemas, built on first use: static's DEL, STATUS and GC (which macvlan/ipvlan call
 * in-process) read no config and should not pay for building them.
 */
function buildSchemas() {
  const goString = z.pipe(
    z.nullish(z.string()),
    z.transform((v: string | null | undefined) => v ?? ""),
  );

  const goStringList = z.pipe(
    z.nullish(z.array(z.pipe(z.nullable(z.string()), z.transform((v: string | null) => v ?? "")))),
    z.transform((v: string[] | null | undefined) => v ?? []),
  );

  const goInt = z.nullish(z.number().check(z.int()));

  /** net.IP: "" or null is no address; anything else must parse (Go: `invalid IP address: X`). */
  const goIP = z.pipe(
    z.nullish(z.string()),
    z.transform((s: string | null | undefined, ctx): IPAddr | undefined => {
      if (!s) return undefined;
      return parseIP(s) ?? addIssue(ctx, `invalid IP address: ${s}`, s);
    }),
  );

  /** types.IPNet: must parse when present, null included (Go: `invalid CIDR address: X`). */
  const goCIDR = z.pipe(
    z.optional(z.nullable(z.string())),
    z.transform((s: string | null | undefined, ctx): CIDR | undefined => {
      if (s === undefined) return undefined;
      const cidr = parseCIDR(s ?? "");
      // Kept for messages: a value is reported as the user wrote it.
      return cidr ? Object.assign(cidr, { written: s! }) : addIssue(ctx, `invalid CIDR address: ${s ?? ""}`, s);
    }),
  );

  const routeSchema = goStruct({
    dst: goCIDR,
    gw: goIP,
    gws: z.optional(z.unknown()),
    mtu: goInt,
    advmss: goInt,
    priority: goInt,
    table: goInt,
    scope: goInt,
  });

  const addressSchema = goStruct({ address: goString, gateway: goIP });

  const dnsSchema = goStruct({
    nameservers: goStringList,
    domain: goString,
    search: goStringList,
    options: goStringList,
  });

  const ipsHolder = goStruct({ ips: goStringList });

  const netSchema = goStruct({
    name: goString,
    cniVersion: goString,
    ipam: goStruct({
      type: goString,
      // A null entry would be a nil *Route in Go, printed as null; refuse it instead.
      routes: z.nullish(z.array(routeSchema.check(z.refine((r) => r != null, { message: "expected an object, got null" })))),
      addresses: z.nullish(z.array(addressSchema)),
      dns: dnsSchema,
    }),
    runtimeConfig: ipsHolder,
    args: goStruct({ cni: ipsHolder }),
  });

  // Extension keys: strict, every mistake is a code 7 error.
  const weightSchema = z.pipe(
    z.unknown().check(
      z.refine(isWeight, { error: (iss) => badWeight(show(iss.input)) }),
    ),
    z.transform((w) => w as number),
  );

  const gwsSchema = z.array(
    z.union(
      [
        z.string(),
        z.strictObject({
          gw: z.string(),
          weight: z.optional(weightSchema),
        }),
      ],
      { error: (iss) => `expected an IP address or {"gw": <ip>, "weight": <1..256>}, got ${show(iss.input)}` },
    ),
  ).check(z.minLength(1, { error: "expected at least one gateway, got []" }));
  return { netSchema, gwsSchema };
}

let schemas: ReturnType<typeof buildSchemas> | undefined;

// ── Error helpers ─────────────────────────────────────────────────────────────────────────────

function show(v: unknown): string {
  return v === undefined ? "nothing" : JSON.stringify(v);
}

function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

const article: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  array: "a list",
  object: "an object",
};

function describeIssue(issue: z.core.$ZodIssue, base: readonly PropertyKey[]): string {
  if (issue.code === "invalid_union") {
    // Report the branch that got furthest; if every branch failed on the value's type, say so.
    const deeper = issue.errors.find((branch) => branch.some((i) => i.path.length > 0 || i.code !== "invalid_type"));
    if (deeper) return describeIssue(deeper[0], [...base, ...issue.path]);
    if (issue.message !== "Invalid input") return `${fieldPath([...base, ...issue.path])}: ${issue.message}`;
    const expected = issue.errors.map((b) => b[0]).map((i) => (i?.code === "invalid_type" ? (article[i.expected] ?? i.expected) : "?"));
    return `${fieldPath([...base, ...issue.path])}: expected ${expected.join(" or ")}, got ${show(issue.input)}`;
  }
  const where = fieldPath([...base, ...issue.path]);
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return `${where}: required`;
      return `${where}: expected ${article[issue.expected] ?? issue.expected}, got ${show(issue.input)}`;
    case "unrecognized_keys":
      return `${where}: unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
    default:
      return `${where}: ${issue.message}`;
  }
}

function schemaError(code: number, error: z.core.$ZodError, base: readonly PropertyKey[] = []): CniError {
  return new CniError(code, describeIssue(error.issues[0], base));
}

/** An error upstream returns as a plain Go error, which its skel reports as code 999. */
function plainError(msg: string): CniError {
  return new CniError(ErrCode.Internal, msg);
}

function invalidConfig(path: readonly PropertyKey[], msg: string): CniError {
  return new CniError(ErrCode.InvalidNetworkConfig, `${fieldPath(path)}: ${msg}`);
}

// ── Loading ─────────────────────────────────────────────────────────────────────────────────

/** Go's version.GreaterThanOrEqualTo(v, "0.3.0") as static uses it: "" is 0.1.0, unparseable is "no". */
function atLeast030(v: string): boolean {
  if (v === "") return false;
  try {
    return greaterThanOrEqualTo(v, "0.3.0");
  } catch {
    return false;
  }
}

const familyName = (ip: IPAddr) => `IPv${ip.family}`;

const U32_MAX = 0xffffffff;

/** A dst as the user wrote it (an IPv4-mapped "::ffff:0.0.0.0/96" parses to 0.0.0.0/0, as in Go). */
function written(dst: CIDR & { written?: string }): string {
  return dst.written ?? formatCIDR(dst);
}

/** Expands `gws` (and `gw`) into the nexthop list, or throws code 7 naming the bad entry. */
function loadNexthops(raw: unknown, dst: CIDR, gw: IPAddr | undefined, at: readonly PropertyKey[]): StaticNexthop[] {
  const parsed = z.safeParse((schemas ??= buildSchemas()).gwsSchema, raw, { reportInput: true });
  if (!parsed.success) throw schemaError(ErrCode.InvalidNetworkConfig, parsed.error, [...at, "gws"]);
  const hops: StaticNexthop[] = [];
  parsed.data.forEach((entry, i) => {
    const text = typeof entry === "string" ? entry : entry.gw;
    const where = typeof entry === "string" ? [...at, "gws", i] : [...at, "gws", i, "gw"];
    const ip = parseIP(text);
    if (!ip) throw invalidConfig(where, `invalid IP address: ${show(text)}`);
    const printed = JSON.stringify(formatIP(ip));
    if (hops.some((h) => ipEqual(h.gw, ip))) throw invalidConfig([...at, "gws", i], duplicateGateway(formatIP(ip)));
    if (hops.length > 0 && hops[0].gw.family !== ip.family) {
      throw invalidConfig(
        [...at, "gws", i],
        `gateway ${printed} is ${familyName(ip)} but gws[0] ${JSON.stringify(formatIP(hops[0].gw))} is ${familyName(hops[0].gw)}; gws must not mix families`,
      );
    }
    if (ip.family !== dst.ip.family) {
      throw invalidConfig([...at, "gws", i], gatewayFamilyMismatch(formatIP(ip), ip.family, written(dst), dst.ip.family));
    }
    hops.push({ gw: ip, weight: typeof entry === "string" ? 1 : (entry.weight ?? 1) });
  });
  if (gw) {
    if (gw.family !== dst.ip.family) {
      throw invalidConfig([...at, "gw"], gatewayFamilyMismatch(formatIP(gw), gw.family, written(dst), dst.ip.family));
    }
    if (!hops.some((h) => ipEqual(h.gw, gw))) hops.unshift({ gw, weight: 1 });
  }
  return hops;
}

/** An address before the final parse: config addresses stay text until then, as upstream. */
interface PendingAddress {
  text: string;
  address?: CIDR;
  gateway?: IPAddr;
}

/**
 * Loads the static IPAM config from the whole network config and CNI_ARGS, exactly as
 * upstream's LoadIPAMConfig: same sources, same precedence, same errors (see the top comment).
 */
export function loadStaticConfig(config: Record<string, unknown>, envArgs: string): StaticIPAMConfig {
  const parsed = z.safeParse((schemas ??= buildSchemas()).netSchema, config, { reportInput: true });
  if (!parsed.success) throw schemaError(ErrCode.Internal, parsed.error);
  const n = parsed.data!;
  if (!n.ipam) throw plainError("IPAM config missing 'ipam' key");
  const ipam = n.ipam;

  const routes: StaticRoute[] = (ipam.routes ?? []).map((r, i) => {
    const at = ["ipam", "routes", i];
    if (!r!.dst) throw invalidConfig([...at, "dst"], "required");
    for (const [key, max] of [["priority", U32_MAX], ["table", U32_MAX], ["scope", 255], ["mtu", U32_MAX], ["advmss", U32_MAX]] as const) {
      const v = r![key];
      if (v != null && (v < 0 || v > max)) throw invalidConfig([...at, key], `${v} is out of range [0, ${max}]`);
    }
    const route: StaticRoute = { dst: r!.dst };
    if (r!.gw) route.gw = r!.gw;
    if (r!.gws != null) route.nexthops = loadNexthops(r!.gws, r!.dst, r!.gw, at);
    if (r!.mtu) route.mtu = r!.mtu;
    if (r!.advmss) route.advmss = r!.advmss;
    if (r!.priority) route.priority = r!.priority;
    if (r!.table != null) route.table = r!.table;
    if (r!.scope != null) route.scope = r!.scope;
    return route;
  });

  let addresses: PendingAddress[] = (ipam.addresses ?? []).map((a) => ({ text: a?.address ?? "", gateway: a?.gateway }));

  // CNI_ARGS: IP appends, GATEWAY goes to each address already parsed whose subnet holds it.
  // Config addresses are still text at this point, so only CNI_ARGS addresses can match.
  if (envArgs !== "") {
    const e = loadArgs(envArgs, ["IP", "GATEWAY"]);
    if (e.IP) {
      for (const item of e.IP.split(",")) {
        const text = item.trim();
        const address = parseCIDR(text);
        if (!address) throw plainError(`the 'ip' field is expected to be in CIDR notation, got: '${text}'`);
        addresses.push({ text, address });
      }
    }
    if (e.GATEWAY) {
      for (const item of e.GATEWAY.split(",")) {
        const gw = parseIP(item.trim());
        if (!gw) throw plainError(`invalid gateway address: ${item}`);
        for (const a of addresses) if (a.address && contains(a.address, gw)) a.gateway = gw;
      }
    }
  }

  const replaceWith = (ips: string[]): PendingAddress[] =>
    ips.map((text) => {
      const address = parseCIDR(text);
      if (!address) throw plainError(`an entry in the 'ips' field is NOT in CIDR notation, got: '${text}'`);
      return { text, address };
    });
  const argsIPs = n.args?.cni?.ips ?? [];
  if (argsIPs.length > 0) addresses = replaceWith(argsIPs);
  const runtimeIPs = n.runtimeConfig?.ips ?? [];
  if (runtimeIPs.length > 0) addresses = replaceWith(runtimeIPs);

  let v4 = 0;
  let v6 = 0;
  const final: StaticAddress[] = addresses.map((a) => {
    const address = a.address ?? parseCIDR(a.text);
    if (!address) throw plainError(`the 'address' field is expected to be in CIDR notation, got: '${a.text}'`);
    if (address.ip.family === 4) v4++;
    else v6++;
    return a.gateway ? { address, gateway: a.gateway } : { address };
  });
  if ((v4 > 1 || v6 > 1) && !atLeast030(n.cniVersion)) {
    throw plainError(`CNI version ${n.cniVersion} does not support more than 1 address per family`);
  }

  const dns: DNS = {};
  if (ipam.dns?.nameservers.length) dns.nameservers = ipam.dns.nameservers;
  if (ipam.dns?.domain) dns.domain = ipam.dns.domain;
  if (ipam.dns?.search.length) dns.search = ipam.dns.search;
  if (ipam.dns?.options.length) dns.options = ipam.dns.options;

  return { name: n.name, type: ipam.type, cniVersion: n.cniVersion, addresses: final, routes, dns };
}

// ── Result ──────────────────────────────────────────────────────────────────────────────────

/** Standard route entries for one configured route: one per nexthop for a `gws` route. */
function resultRoutes(r: StaticRoute, index: number): Route[] {
  const base: Route = { dst: formatCIDR(r.dst), field: `ipam.routes[${index}]`, dstText: written(r.dst) };
  if (r.mtu !== undefined) base.mtu = r.mtu;
  if (r.advmss !== undefined) base.advmss = r.advmss;
  if (r.priority !== undefined) base.priority = r.priority;
  if (r.table !== undefined) base.table = r.table;
  if (r.scope !== undefined) base.scope = r.scope;
  if (r.nexthops) return r.nexthops.map((h) => ({ ...base, gw: formatIP(h.gw), weight: h.weight }));
  return [r.gw ? { ...base, gw: formatIP(r.gw) } : base];
}

/** The ADD result as upstream builds it (1.1.0 form; printed in the config's version later). */
export function buildStaticResult(conf: StaticIPAMConfig): Result {
  const result: Result = { cniVersion: CURRENT_VERSION };
  if (conf.addresses.length > 0) {
    result.ips = conf.addresses.map((a): IPConfig => {
      const ip: IPConfig = { address: formatCIDR(a.address) };
      if (a.gateway) ip.gateway = formatIP(a.gateway);
      return ip;
    });
  }
  const routes = conf.routes.flatMap(resultRoutes);
  if (routes.length > 0) result.routes = routes;
  result.dns = conf.dns;
  return result;
}

// ── Commands ────────────────────────────────────────────────────────────────────────────────

export function staticAdd(args: CmdArgs): Result {
  return buildStaticResult(loadStaticConfig(args.config, args.args));
}

/** DEL: nothing to release; static allocates nothing. */
export function staticDel(_args: CmdArgs): void {}

/**
 * CHECK as upstream: prevResult is required, and every configured address that appears in it
 * must carry the configured gateway (when one is configured). Addresses missing from
 * prevResult are not an error upstream, so they are not here either.
 */
export function staticCheck(args: CmdArgs): void {
  const conf = loadStaticConfig(args.config, args.args);
  const prev = parsePrevResult(args.config);
  if (!prev) throw plainError("Required prevResult missing");
  for (const want of conf.addresses) {
    for (const got of prev.ips ?? []) {
      const gotIP = parseCIDR(got.address)?.ip;
      if (!gotIP || !ipEqual(gotIP, want.address.ip)) continue;
      if (!want.gateway) break;
      const gotGw = got.gateway ? parseIP(got.gateway) : null;
      if (gotGw && ipEqual(gotGw, want.gateway)) break;
      throw plainError(`static: Failed to match addr ${formatIP(gotIP)} on interface ${args.ifname}`);
    }
  }
}
