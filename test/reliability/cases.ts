// The bad-input table of the reliability sweep (issue 7): each case is one invocation that must
// fail with exit 1, exactly one CNI error object with `code`, a message naming every string of
// `names` (the field and the value as the user wrote them), and no change to any netns.
// Generated per plugin: the IPAM mistakes run through static alone and through macvlan/ipvlan.

export interface BadCase {
  name: string;
  plugin: "static" | "macvlan" | "ipvlan";
  command?: string;
  config: unknown;
  code: number;
  names: string[];
  ifname?: string;
  containerId?: string;
  args?: string;
  /** CNI_NETNS: "pod" (default), or a path. */
  netns?: string;
  /** Replaces the CNI environment (protocol cases); PATH is added. */
  env?: Record<string, string>;
}

const ADDRS = [{ address: "198.51.100.10/24", gateway: "198.51.100.1" }, { address: "2001:db8:a::10/64" }];
const ROUTES = [{ dst: "0.0.0.0/0", gw: "198.51.100.1" }];

export function baseConfig(plugin: string, over: Record<string, unknown> = {}, ipam: Record<string, unknown> = {}): Record<string, unknown> {
  const top: Record<string, unknown> = { cniVersion: "1.1.0", name: "rel", type: plugin };
  if (plugin !== "static") top.master = "m0";
  return { ...top, ...over, ipam: { type: "static", addresses: ADDRS, routes: ROUTES, ...ipam } };
}

/** IPAM (static) mistakes: [name, ipam override, code, names]. */
const IPAM: [string, Record<string, unknown>, number, string[]][] = [];
const ipam = (name: string, o: Record<string, unknown>, code: number, names: string[]) => IPAM.push([name, o, code, names]);

for (const bad of ["10.1.0.5", "10.1.0.5/33", "300.1.0.5/24", "10.1.0/24", "", "x/24", "2001:db8::1/129", "10.1.0.5/-1", "10.1.0.5/ 24", "::ffff:10.1.0.5"]) {
  ipam(`address ${JSON.stringify(bad)}`, { addresses: [{ address: bad }] }, 999, bad === "" ? ["address", "''"] : ["address", bad]);
}
for (const bad of ["10.1.0", "x", "198.51.100.300", "2001:db8::g"]) {
  ipam(`address gateway ${bad}`, { addresses: [{ address: "198.51.100.10/24", gateway: bad }] }, 999, ["gateway", bad]);
}
for (const bad of ["10.0.0.0/33", "0.0.0.0", "nope", "1.2.3.4/x"]) {
  ipam(`route dst ${bad}`, { routes: [{ dst: bad, gw: "198.51.100.1" }] }, 999, ["ipam.routes[0].dst", bad]);
}
ipam("route without dst", { routes: [{ gw: "198.51.100.1" }] }, 7, ["ipam.routes[0].dst"]);
for (const bad of ["198.51.100", "gw", "1.2.3.4.5"]) {
  ipam(`route gw ${bad}`, { routes: [{ dst: "0.0.0.0/0", gw: bad }] }, 999, ["ipam.routes[0].gw", bad]);
}
for (const [key, values] of [["priority", [-1, 4294967296]], ["table", [-2, 4294967296]], ["scope", [-1, 256, 1000]], ["mtu", [-5, 4294967296]], ["advmss", [-1, 4294967296]]] as const) {
  for (const v of values) ipam(`route ${key} ${v}`, { routes: [{ dst: "10.9.0.0/16", gw: "198.51.100.1", [key]: v }] }, 7, [`ipam.routes[0].${key}`, String(v)]);
}
for (const v of [1.5, "5"]) {
  ipam(`route priority ${JSON.stringify(v)}`, { routes: [{ dst: "10.9.0.0/16", gw: "198.51.100.1", priority: v }] }, 999, ["ipam.routes[0].priority", String(v)]);
}
for (const [name, gws, names] of [
  ["gws not a list", "198.51.100.1", ["ipam.routes[0].gws", "198.51.100.1"]],
  ["gws empty", [], ["ipam.routes[0].gws", "[]"]],
  ["gws number entry", [5], ["ipam.routes[0].gws[0]", "5"]],
  ["gws null entry", [null], ["ipam.routes[0].gws[0]", "null"]],
  ["gws bad ip", ["198.51.100.x"], ["ipam.routes[0].gws[0]", "198.51.100.x"]],
  ["gws object bad ip", [{ gw: "nope" }], ["ipam.routes[0].gws[0].gw", "nope"]],
  ["gws object no gw", [{ weight: 2 }], ["ipam.routes[0].gws[0].gw"]],
  ["gws weight 0", [{ gw: "198.51.100.2", weight: 0 }], ["ipam.routes[0].gws[0].weight", "0"]],
  ["gws weight 257", [{ gw: "198.51.100.2", weight: 257 }], ["ipam.routes[0].gws[0].weight", "257"]],
  ["gws weight 1.5", [{ gw: "198.51.100.2", weight: 1.5 }], ["ipam.routes[0].gws[0].weight", "1.5"]],
  ["gws weight string", [{ gw: "198.51.100.2", weight: "2" }], ["ipam.routes[0].gws[0].weight", '"2"']],
  ["gws unknown key", [{ gw: "198.51.100.2", metric: 3 }], ["ipam.routes[0].gws[0]", "metric"]],
  ["gws duplicate", ["198.51.100.2", "198.51.100.2"], ["ipam.routes[0].gws[1]", "198.51.100.2"]],
  ["gws mixed families", ["198.51.100.2", "2001:db8:a::1"], ["ipam.routes[0].gws[1]", "2001:db8:a::1"]],
  ["gws wrong family", ["2001:db8:a::1"], ["ipam.routes[0].gws[0]", "2001:db8:a::1", "0.0.0.0/0"]],
] as const) {
  ipam(name, { routes: [{ dst: "0.0.0.0/0", gws }] }, 7, [...names]);
}
ipam("gw of another family than dst, next to gws", { routes: [{ dst: "0.0.0.0/0", gw: "2001:db8:a::1", gws: ["198.51.100.2"] }] }, 7, ["ipam.routes[0].gw", "2001:db8:a::1"]);
ipam("v4-mapped dst reported as written", { routes: [{ dst: "::ffff:0.0.0.0/96", gws: ["2001:db8:a::1"] }] }, 7, ["ipam.routes[0].gws[0]", "::ffff:0.0.0.0/96"]);
ipam("routes not a list", { routes: { dst: "0.0.0.0/0" } }, 999, ["ipam.routes"]);
ipam("route null", { routes: [null] }, 999, ["ipam.routes[0]", "null"]);
ipam("addresses not a list", { addresses: "198.51.100.10/24" }, 999, ["ipam.addresses", "198.51.100.10/24"]);
ipam("address a number", { addresses: [{ address: 5 }] }, 999, ["ipam.addresses[0].address", "5"]);
ipam("dns nameservers a string", { dns: { nameservers: "1.1.1.1" } }, 999, ["ipam.dns.nameservers", "1.1.1.1"]);

/** Mistakes that only the interface plugins see. */
function interfaceCases(plugin: "macvlan" | "ipvlan"): BadCase[] {
  const out: BadCase[] = [];
  const c = (name: string, over: Record<string, unknown>, code: number, names: string[], ipamOver: Record<string, unknown> = {}, extra: Partial<BadCase> = {}) =>
    out.push({ name: `${plugin}: ${name}`, plugin, config: baseConfig(plugin, over, ipamOver), code, names, ...extra });
  for (const m of ["bogus", "BRIDGE", "l2 ", "vepa!", "passthrough", "l4"]) c(`mode ${JSON.stringify(m)}`, { mode: m }, 999, [`${plugin} mode`, m]);
  for (const m of [5, true]) c(`mode ${JSON.stringify(m)}`, { mode: m }, 7, ["mode", String(m)]);
  for (const mtu of [-1, 1.5, "1500"]) c(`mtu ${JSON.stringify(mtu)}`, { mtu }, 7, ["mtu", String(mtu)]);
  if (plugin === "macvlan") c("mtu above the master's", { mtu: 9000 }, 7, ["MTU 9000", "1500"]);
  for (const master of ["nosuch0", "m0-missing"]) c(`master ${master}`, { master }, 999, ["master", master]);
  c("master a number", { master: 7 }, 7, ["master", "7"]);
  c("linkInContainer a string", { linkInContainer: "yes" }, 7, ["linkInContainer", "yes"]);
  c("ecmp bogus", { ecmp: "fast" }, 7, ["ecmp", "fast"]);
  c("dns a string", { dns: "1.1.1.1" }, 7, ["dns", "1.1.1.1"]);
  c("ipam type unknown", {}, 999, ["nosuch-ipam"], { type: "nosuch-ipam" });
  c("ipam type a number", {}, 7, ["ipam.type", "5"], { type: 5 });
  if (plugin === "macvlan") {
    for (const mac of ["zz:11:22:33:44:55", "c2:11:22:33:44", "c2-11-22"]) c(`mac ${mac}`, { mac }, 7, [mac]);
    c("runtimeConfig mac bad", { runtimeConfig: { mac: "nope" } }, 7, ["nope"]);
    c("CNI_ARGS MAC bad", {}, 7, ["0:1"], {}, { args: "IgnoreUnknown=true;MAC=0:1" });
  }
  // The plan's checks, from the top of the config.
  c("route gw of another family", {}, 7, ["ipam.routes[0].gw", "2001:db8:a::1", "0.0.0.0/0"], { routes: [{ dst: "0.0.0.0/0", gw: "2001:db8:a::1" }] });
  c("duplicate gateway across routes", {}, 7, ["ipam.routes[1].gw", "198.51.100.1"], { routes: [{ dst: "0.0.0.0/0", gw: "198.51.100.1" }, { dst: "0.0.0.0/0", gw: "198.51.100.1" }] });
  c("duplicate gateway after a gws route keeps its index", {}, 7, ["ipam.routes[2].gw", "198.51.100.1"], {
    routes: [{ dst: "10.8.0.0/16", gws: ["198.51.100.1", "198.51.100.2"] }, { dst: "0.0.0.0/0", gw: "198.51.100.1" }, { dst: "0.0.0.0/0", gw: "198.51.100.1" }],
  });
  c("IPv6 multipath with a direct nexthop", {}, 7, ["ipam.routes[1]", "::/0"], {
    addresses: [{ address: "2001:db8:a::10/64" }],
    routes: [{ dst: "::/0", gw: "2001:db8:a::1" }, { dst: "::/0" }],
  });
  c("gateway unreachable in the kernel", {}, 999, ["10.77.0.1", "Nexthop has invalid gateway"], { routes: [{ dst: "0.0.0.0/0", gw: "10.77.0.1" }] });
  // The protocol face of the interface plugins.
  for (const ifname of ["a/b", "eth:0", "..", "this-name-is-too-long0"]) {
    c(`CNI_IFNAME ${ifname}`, {}, 4, ifname === "this-name-is-too-long0" ? ["interface name", "too long"] : ["interface name"], {}, { ifname });
  }
  c("CNI_IFNAME already in the pod", {}, 4, ["CNI_IFNAME", "lo"], {}, { ifname: "lo" });
  for (const p of ["/etc/hostname", "/tmp", "/dev/null", "/proc/self/ns/mnt", "/proc/self/ns/uts"]) {
    c(`CNI_NETNS ${p}`, {}, 4, ["CNI_NETNS", p], {}, { netns: p });
  }
  c("CNI_NETNS the plugin's own netns", {}, 8, ["netns"], {}, { netns: "/proc/self/ns/net" });
  c("CNI_NETNS missing", {}, 999, ["/var/run/netns/nh-does-not-exist"], {}, { netns: "/var/run/netns/nh-does-not-exist" });
  c("CNI_CONTAINERID with a space", {}, 4, ["containerID", "a b"], {}, { containerId: "a b" });
  for (const v of ["9.9.9", "2.0.0"]) c(`cniVersion ${v}`, { cniVersion: v }, 1, [v]);
  return out;
}

function protocolCases(): BadCase[] {
  const out: BadCase[] = [];
  const cfg = baseConfig("macvlan");
  const env = (o: Record<string, string | undefined>) => {
    const e: Record<string, string> = { CNI_COMMAND: "ADD", CNI_CONTAINERID: "nh-rel", CNI_NETNS: "@pod", CNI_IFNAME: "net1", CNI_PATH: "@bin" };
    for (const [k, v] of Object.entries(o)) if (v === undefined) delete e[k]; else e[k] = v;
    return e;
  };
  const p = (name: string, e: Record<string, string>, config: unknown, code: number, names: string[]) =>
    out.push({ name: `protocol: ${name}`, plugin: "macvlan", config, code, names, env: e });
  for (const v of ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"]) p(`ADD without ${v}`, env({ [v]: undefined }), cfg, 4, [v]);
  p("unknown CNI_COMMAND", env({ CNI_COMMAND: "ATTACH" }), cfg, 4, ["CNI_COMMAND", "ATTACH"]);
  p("lowercase command", env({ CNI_COMMAND: "add" }), cfg, 4, ["add"]);
  p("empty stdin", env({}), "", 6, ["unexpected end of JSON input"]);
  p("stdin not JSON", env({}), "{nope", 6, ["invalid character"]);
  p("stdin a list", env({}), "[]", 6, ["array"]);
  p("stdin a string", env({}), '"x"', 6, ["string"]);
  p("trailing garbage", env({}), JSON.stringify(cfg) + "x", 6, ["invalid character"]);
  p("name missing", env({}), { ...cfg, name: undefined }, 7, ["network name"]);
  p("name with a slash", env({}), { ...cfg, name: "a/b" }, 7, ["network name", "a/b"]);
  p("name a number", env({}), { ...cfg, name: 5 }, 6, [".name", "number"]);
  p("cniVersion a number", env({}), { ...cfg, cniVersion: 1 }, 6, ["cniVersion", "number"]);
  p("cniVersion garbage", env({}), { ...cfg, cniVersion: "x.y" }, 1, ["x.y"]);
  p("CHECK on 0.3.1", env({ CNI_COMMAND: "CHECK" }), { ...cfg, cniVersion: "0.3.1" }, 1, ["CHECK"]);
  p("GC on 1.0.0", env({ CNI_COMMAND: "GC" }), { ...cfg, cniVersion: "1.0.0" }, 1, ["GC"]);
  p("STATUS on 0.4.0", env({ CNI_COMMAND: "STATUS" }), { ...cfg, cniVersion: "0.4.0" }, 1, ["STATUS"]);
  p("CHECK without prevResult", env({ CNI_COMMAND: "CHECK" }), cfg, 999, ["prevResult"]);
  p("CNI_ARGS unknown key", env({ CNI_ARGS: "FOO=bar" }), cfg, 999, ["ARGS", "FOO=bar"]);
  p("CNI_ARGS without =", env({ CNI_ARGS: "FOO" }), cfg, 999, ["ARGS", '"FOO"']);
  p("stdin over the limit", env({}), JSON.stringify({ ...cfg, pad: "x".repeat(1 << 20) }), 7, ["too large", "1048576"]);
  p("prevResult garbage", env({}), { ...cfg, prevResult: "x" }, 999, ["prevResult"]);
  return out;
}

/** Every case of the table for the given plugins. */
export function badCases(plugins: readonly ("static" | "macvlan" | "ipvlan")[]): BadCase[] {
  const out: BadCase[] = [];
  for (const plugin of plugins) {
    for (const [name, o, code, names] of IPAM) {
      if (code < 0) continue;
      out.push({ name: `${plugin}: ipam ${name}`, plugin, config: baseConfig(plugin, {}, o), code, names });
    }
    if (plugin !== "static") out.push(...interfaceCases(plugin));
  }
  if (plugins.includes("macvlan")) out.push(...protocolCases());
  return out;
}
