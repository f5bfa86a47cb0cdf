// The CNI spec versions as the Go library (containernetworking/cni v1.3, pkg/version) lists them:
// data only and no imports, so that src/entry.ts answers VERSION with nothing else loaded
// (README "Start-up budget"). ./version.ts re-exports these beside the version arithmetic.

/** version.All: every spec version the Go library knows, oldest first. */
export const ALL_VERSIONS: readonly string[] = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

/**
 * version.Current(): what VERSION reports as its own cniVersion, and the version of the form every
 * result has inside nexthop (converted to the config's version only when printed or delegated).
 */
export const CURRENT_VERSION = "1.1.0";

/** version.VersionsStartingFrom(min): the versions of ALL_VERSIONS from `min` on (empty if unknown). */
export function versionsStartingFrom(min: string): string[] {
  const i = ALL_VERSIONS.indexOf(min);
  return i < 0 ? [] : ALL_VERSIONS.slice(i);
}
