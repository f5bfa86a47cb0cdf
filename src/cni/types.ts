// Internal result shape: the CNI 1.1.0 result. Conversion to older versions is in version.ts.

export interface Interface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

export interface IPConfig {
  /** CIDR with host bits kept, e.g. "10.10.0.1/24". */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

export interface Route {
  dst: string;
  gw?: string;
  /** Extension (cni #1190): several gateways for one destination. Accepted when read, not emitted. */
  gws?: string[];
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
  /**
   * Internal only, never serialized: the weight (1-256) of this entry's nexthop when it belongs
   * to a multipath group. Results stay standard route entries (libcni keeps only known keys);
   * weights travel in-process from static IPAM to the interface plugins.
   */
  weight?: number;
  /**
   * Internal only, never serialized: where this entry was configured, from the top of the config
   * (e.g. "ipam.routes[2]"), so errors about it name the field the user wrote.
   */
  field?: string;
  /** Internal only, never serialized: `dst` as the user wrote it, for messages. */
  dstText?: string;
}

export interface DNS {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface Result {
  cniVersion: string;
  interfaces?: Interface[];
  ips?: IPConfig[];
  routes?: Route[];
  dns?: DNS;
}

/** What the runtime passed: env vars and stdin (see skel.ts for how they are validated). */
export interface CmdArgs {
  command: string;
  containerId: string;
  netns: string;
  ifname: string;
  /** CNI_ARGS, verbatim. */
  args: string;
  /** CNI_PATH split on ':'. */
  path: string[];
  stdin: Uint8Array;
  /** The whole config, parsed once as JSON (an object; validated per plugin). */
  config: Record<string, unknown>;
  /** The config's cniVersion as skel read it: missing or "" already turned into "0.1.0". */
  cniVersion: string;
  /**
   * The whole environment the plugin was invoked with (skel sets it). Delegation passes it on to
   * an executed delegate with CNI_COMMAND overridden, as upstream does with os.Environ();
   * process.env when absent.
   */
  env?: Readonly<Record<string, string | undefined>>;
}

/** A plugin is a set of synchronous command functions (no async I/O: see docs/bun.md §2). */
export interface Plugin {
  name: string;
  supportedVersions: readonly string[];
  add(args: CmdArgs): Result;
  del(args: CmdArgs): void;
  check(args: CmdArgs): void;
  status?(args: CmdArgs): void;
  gc?(args: CmdArgs): void;
}
