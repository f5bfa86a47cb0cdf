// Plugin wiring: importing this module registers every nexthop plugin in this build, as a
// stand-in that loads the plugin's module on its first command. A CNI command runs one plugin
// (and maybe static in-process), so VERSION and the protocol errors never pay for evaluating
// config schemas they do not use; the bundler keeps each `require`d module unevaluated until
// then.
//
// The registry (src/plugins/registry.ts) is what delegation (macvlan -> static) consults too, so
// it finds the same stand-ins.
import type { CmdArgs, Plugin } from "../cni/types.ts";
import { PLUGIN_NAMES, supportedVersionsOf } from "./names.ts";
import { registerPlugin } from "./registry.ts";

export { PLUGIN_NAMES };

function lazyPlugin(name: string, supportedVersions: readonly string[], load: () => Plugin): Plugin {
  let plugin: Plugin | undefined;
  const get = () => (plugin ??= load());
  return {
    name,
    supportedVersions,
    add: (args: CmdArgs) => get().add(args),
    del: (args: CmdArgs) => get().del(args),
    check: (args: CmdArgs) => get().check(args),
    status: (args: CmdArgs) => get().status?.(args),
    gc: (args: CmdArgs) => get().gc?.(args),
  };
}

registerPlugin(lazyPlugin("static", supportedVersionsOf("static")!, () => require("./static.ts").default));
registerPlugin(lazyPlugin("macvlan", supportedVersionsOf("macvlan")!, () => require("./macvlan.ts").default));
registerPlugin(lazyPlugin("ipvlan", supportedVersionsOf("ipvlan")!, () => require("./ipvlan.ts").default));
registerPlugin(lazyPlugin("vrf", supportedVersionsOf("vrf")!, () => require("./vrf.ts").default));

export { ownPlugin, registerPlugin, registeredPlugins } from "./registry.ts";
