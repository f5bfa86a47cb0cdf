// The plugin names nexthop answers to and the CNI versions each supports: all that VERSION needs,
// kept apart from the plugins themselves so the executable's entry (src/entry.ts) answers VERSION
// without loading them (README "Start-up budget").
import { ALL_VERSIONS, versionsStartingFrom } from "../cni/versions.ts";

/** The names nexthop installs and answers to (argv[0] of the multi-call binary). */
export const PLUGIN_NAMES = ["static", "macvlan", "ipvlan", "vrf"] as const;

export type PluginName = (typeof PLUGIN_NAMES)[number];

const VERSIONS: Readonly<Record<PluginName, readonly string[]>> = {
  static: ALL_VERSIONS,
  macvlan: ALL_VERSIONS,
  ipvlan: ALL_VERSIONS,
  vrf: versionsStartingFrom("0.3.1"),
};

/** The CNI versions plugin `name` supports, or undefined for a name that is not a plugin. */
export function supportedVersionsOf(name: string): readonly string[] | undefined {
  return (PLUGIN_NAMES as readonly string[]).includes(name) ? VERSIONS[name as PluginName] : undefined;
}

/**
 * The name argv[0] invokes: its last path segment, trailing slashes ignored, as path.basename
 * gives it ("/" gives ""), without loading node:path.
 */
export function invokedName(argv0: string): string {
  const trimmed = argv0.replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}
