// Plugin wiring: importing this module registers every nexthop plugin in this build.
//
// Each src/plugins/<name>.ts registers itself when imported:
//     import { registerPlugin } from "../cni/delegate";
//     registerPlugin({ name: "static", supportedVersions: ALL_VERSIONS, add, del, check, status });
// The registry lives in src/cni/delegate.ts (not here) so that a plugin module importing it does
// not form an import cycle with this file. main.ts dispatches on the registered names (a name in
// PLUGIN_NAMES without a module answers VERSION and protocol errors, and code 50 otherwise), and
// a plugin delegating to another registered one (macvlan → static) runs it in-process.
//
// One side-effect import per plugin module: add vrf here when src/plugins/vrf.ts lands.
import "./static.ts";
import "./macvlan.ts";
import "./ipvlan.ts";

export { ownPlugin, registerPlugin, registeredPlugins } from "../cni/delegate.ts";

/** The names nexthop installs and answers to (argv[0] of the multi-call binary). */
export const PLUGIN_NAMES = ["static", "macvlan", "ipvlan", "vrf"] as const;
