// Running dist/nexthop exactly as a runtime does: a directory on CNI_PATH holding the executable
// under the plugin names, env vars, the config on stdin.
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const repo = join(import.meta.dir, "../..");
export const binary = join(repo, "dist/nexthop");

export interface CniRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, or undefined when empty / not JSON. */
  json: any;
}

/**
 * A CNI_PATH directory with dist/nexthop linked as every plugin (symlinks, as `nexthop install`
 * makes them: the plugin is chosen by the invoked name); remove it with `dispose()`.
 */
export function pluginDir(): { dir: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), "nh-bin-"));
  symlinkSync(binary, join(dir, "nexthop"));
  for (const name of ["static", "macvlan", "ipvlan", "vrf"]) symlinkSync("nexthop", join(dir, name));
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Invocation {
  /** Directory of the plugin to run (a pluginDir). */
  dir: string;
  /** CNI_PATH; defaults to `dir`. */
  cniPath?: string;
  plugin: string;
  command: string;
  config: unknown;
  netns?: string;
  ifname?: string;
  containerId?: string;
  args?: string;
  extraEnv?: Record<string, string>;
}

/** The CNI_* environment of one call, as a runtime sets it (`extraEnv` last, so it can override). */
export function cniEnv(
  inv: Pick<Invocation, "command" | "netns" | "ifname" | "containerId" | "args" | "extraEnv"> & { cniPath: string },
  defaults: { PATH: string; containerId: string },
): Record<string, string> {
  return {
    PATH: defaults.PATH,
    CNI_COMMAND: inv.command,
    CNI_CONTAINERID: inv.containerId ?? defaults.containerId,
    CNI_NETNS: inv.netns ?? "",
    CNI_IFNAME: inv.ifname ?? "net1",
    CNI_PATH: inv.cniPath,
    ...(inv.args ? { CNI_ARGS: inv.args } : {}),
    ...inv.extraEnv,
  };
}

export function runCni(inv: Invocation): CniRun {
  const env = cniEnv({ ...inv, cniPath: inv.cniPath ?? inv.dir }, { PATH: process.env.PATH ?? "/usr/bin:/bin", containerId: "nh-test" });
  const stdin = typeof inv.config === "string" ? inv.config : JSON.stringify(inv.config);
  const r = Bun.spawnSync([join(inv.dir, inv.plugin)], { env, stdin: Buffer.from(stdin), stdout: "pipe", stderr: "pipe" });
  const stdout = r.stdout.toString();
  let json: any;
  try {
    json = stdout.trim() ? JSON.parse(stdout) : undefined;
  } catch {
    json = undefined;
  }
  return { exitCode: r.exitCode ?? -1, stdout, stderr: r.stderr.toString(), json };
}
