// The registry of nexthop's own plugins: main.ts dispatches on it, and delegation (macvlan ->
// static) runs a registered delegate in this process. The protocol layer (src/cni) does not know
// it: registering hands the lookup to src/cni/delegate.ts.
import { useInProcessPlugins } from "../cni/delegate.ts";
import { byteOrder } from "../cni/go/marshal.ts";
import { goQuote } from "../cni/go/quote.ts";
import type { Plugin } from "../cni/types.ts";

const registry = new Map<string, Plugin>();

/** The registered plugin with this name, if any. */
export function ownPlugin(name: string): Plugin | undefined {
  return registry.get(name);
}

useInProcessPlugins(ownPlugin);

/** Makes `plugin` available under `plugin.name` for dispatch (main.ts) and in-process delegation. */
export function registerPlugin(plugin: Plugin): void {
  const existing = registry.get(plugin.name);
  if (existing && existing !== plugin) throw new Error(`plugin ${goQuote(plugin.name)} is already registered`);
  registry.set(plugin.name, plugin);
}

/** Names of the registered plugins, sorted. */
export function registeredPlugins(): string[] {
  return [...registry.keys()].sort(byteOrder);
}

/** Removes a registration (tests). */
export function unregisterPlugin(name: string): void {
  registry.delete(name);
}
