// nexthop: one executable, installed under the plugin names (multi-call). The plugin is chosen by
// the name the binary was invoked as (process.argv0; with links process.argv holds a /$bunfs
// path, see bun-runtime.md §8). Under any other name it is a small CLI: install, --version, --help.
import {
  chmodSync,
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  copyFileSync,
} from "node:fs";
import { basename, join, resolve } from "node:path";
import { ownPlugin, registeredPlugins } from "./cni/delegate.ts";
import { CniError, ErrCode } from "./cni/errors.ts";
import { goMarshal, goQuote } from "./cni/json.ts";
import { NEXTHOP_VERSION, runPluginProcess, writeAll } from "./cni/skel.ts";
import type { Plugin } from "./cni/types.ts";
import { ALL_VERSIONS } from "./cni/version.ts";
import { PLUGIN_NAMES } from "./plugins/index.ts";
import { neutraliseRuntimeEnvironment } from "./guard.ts";

const BINARY_NAME = "nexthop";

/**
 * Stands in for a plugin this build does not contain: VERSION and the protocol errors skel
 * answers before dispatch still work; every command says the plugin is not available (code 50).
 */
function unavailablePlugin(name: string): Plugin {
  const fail = (): never => {
    throw new CniError(ErrCode.PluginNotAvailable, `plugin ${goQuote(name)} is not available in this build of nexthop`);
  };
  return { name, supportedVersions: ALL_VERSIONS, add: fail, del: fail, check: fail, status: fail, gc: fail };
}

// ------------------------------------------------------------------------------------------------
// install

interface InstallOptions {
  dir: string;
  force: boolean;
  /** The executable to install (this one). */
  self: string;
}

/** Whether two regular files have the same contents (size first, then bytes). */
function sameContents(a: string, b: string): boolean {
  const sa = statSync(a);
  const sb = statSync(b);
  if (sa.size !== sb.size) return false;
  if (sa.dev === sb.dev && sa.ino === sb.ino) return true;
  const fa = openSync(a, "r");
  const fb = openSync(b, "r");
  try {
    const ba = Buffer.allocUnsafe(1 << 20);
    const bb = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const na = readSync(fa, ba, 0, ba.length, null);
      const nb = readSync(fb, bb, 0, bb.length, null);
      if (na !== nb) return false;
      if (na === 0) return true;
      if (ba.compare(bb, 0, nb, 0, na) !== 0) return false;
    }
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
}

type Existing = "absent" | "ours" | "foreign";

/** `path` is ours if it is a copy of (or a link to) this executable. */
function classifyBinary(path: string, self: string): Existing {
  if (!lstatExists(path)) return "absent";
  try {
    return statSync(path).isFile() && sameContents(path, self) ? "ours" : "foreign";
  } catch {
    return "foreign"; // dangling symlink or unreadable
  }
}

/** A plugin name is ours if it is a symlink to DIR/nexthop, or a copy/hard link of this executable. */
function classifyPluginName(path: string, installed: string, self: string): Existing | "link" {
  if (!lstatExists(path)) return "absent";
  const st = lstatSync(path);
  if (st.isSymbolicLink()) {
    if (readlinkSync(path) === BINARY_NAME) return "link";
    try {
      const target = realpathSync(path);
      if (target === realpathSync(installed) || target === realpathSync(self)) return "ours";
    } catch {
      // dangling
    }
    return "foreign";
  }
  return classifyBinary(path, self);
}

function lstatExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Installs this executable as DIR/nexthop and the plugin names as relative symlinks to it.
 *
 * Symlinks rather than hard links: the runtime finds plugins with stat() (which follows links)
 * and execs them by path, so argv[0] still carries the plugin name; and when DIR/nexthop is
 * replaced atomically (a new file renamed over it, as this command does), every plugin name
 * follows at once, whereas hard links would keep running the old inode. The links are relative
 * ("nexthop"), so the directory keeps working when mounted elsewhere (e.g. /opt/cni/bin seen
 * from a container at another path). Every change is a rename over the old entry, so a runtime
 * exec'ing a plugin meanwhile sees the old or the new file, never a missing or partial one.
 *
 * Idempotent. Refuses, before changing anything, to replace a file that is neither a copy of
 * this executable nor a link to it (e.g. the upstream Go `static`) unless `force`.
 */
export function install(opts: InstallOptions): string[] {
  const dir = resolve(opts.dir);
  mkdirSync(dir, { recursive: true });
  const target = join(dir, BINARY_NAME);
  const log: string[] = [];

  const binaryState = classifyBinary(target, opts.self);
  const names = PLUGIN_NAMES.map((n) => ({ name: n, path: join(dir, n), state: classifyPluginName(join(dir, n), target, opts.self) }));
  const foreign = [...(binaryState === "foreign" ? [target] : []), ...names.filter((n) => n.state === "foreign").map((n) => n.path)];
  if (foreign.length > 0 && !opts.force) {
    throw new Error(
      `refusing to overwrite ${foreign.join(", ")}: not a copy of or a link to this nexthop executable (use --force to replace)`,
    );
  }

  const tmp = (name: string) => join(dir, `.${name}.nexthop-${process.pid}.tmp`);
  if (binaryState === "ours") {
    log.push(`unchanged ${target}`);
  } else {
    const t = tmp(BINARY_NAME);
    try {
      copyFileSync(opts.self, t);
      chmodSync(t, 0o755);
      renameSync(t, target);
    } finally {
      rmSync(t, { force: true });
    }
    log.push(`${binaryState === "absent" ? "installed" : "replaced"} ${target}`);
  }

  for (const n of names) {
    if (n.state === "link") {
      log.push(`unchanged ${n.path} -> ${BINARY_NAME}`);
      continue;
    }
    const t = tmp(n.name);
    try {
      rmSync(t, { force: true });
      symlinkSync(BINARY_NAME, t);
      renameSync(t, n.path);
    } finally {
      rmSync(t, { force: true });
    }
    log.push(`${n.state === "absent" ? "linked" : "replaced"} ${n.path} -> ${BINARY_NAME}`);
  }
  return log;
}

// ------------------------------------------------------------------------------------------------
// CLI

const HELP = `nexthop ${NEXTHOP_VERSION}: CNI plugins ${PLUGIN_NAMES.join(", ")} in one executable.

The runtime runs it under a plugin name (a link named static, macvlan, ipvlan or vrf on CNI_PATH).
Under any other name:

  nexthop install --dir DIR [--force]
      Copy this executable to DIR/nexthop and create DIR/{${PLUGIN_NAMES.join(",")}} as symlinks
      to it. Idempotent. Refuses to replace other files (e.g. upstream plugins) unless --force.
  nexthop --version     Print the version, CNI versions and plugins in this build.
  nexthop --help        Print this help.
`;

function versionText(): string {
  const present = registeredPlugins();
  const plugins = PLUGIN_NAMES.map((n) => (present.includes(n) ? n : `${n} (not in this build)`));
  return `nexthop ${NEXTHOP_VERSION}\nCNI protocol versions supported: ${ALL_VERSIONS.join(", ")}\nplugins: ${plugins.join(", ")}\n`;
}

/** The CLI, as a function of its arguments and environment (exit code and output). */
export function cli(argv: string[], env: Readonly<Record<string, string | undefined>>, self: string): { stdout: string; stderr: string; exitCode: number } {
  if (argv.length === 0) {
    if (env.CNI_COMMAND) {
      // A runtime configured with "type": "nexthop": answer in the protocol.
      const e = new CniError(
        ErrCode.PluginNotAvailable,
        `nexthop must be invoked as one of ${PLUGIN_NAMES.join(", ")} (use "nexthop install --dir DIR")`,
      );
      return { stdout: goMarshal(e.toJSON(), "    "), stderr: "", exitCode: 1 };
    }
    return { stdout: "", stderr: HELP, exitCode: 2 };
  }
  const [cmd, ...rest] = argv;
  if (cmd === "--help" || cmd === "-h" || cmd === "help") return { stdout: HELP, stderr: "", exitCode: 0 };
  if (cmd === "--version" || cmd === "-V" || cmd === "version") return { stdout: versionText(), stderr: "", exitCode: 0 };
  if (cmd === "install") {
    let dir: string | undefined;
    let force = false;
    for (let i = 0; i < rest.length; i++) {
      const a = rest[i];
      if (a === "--force") force = true;
      else if (a === "--dir") dir = rest[++i];
      else if (a.startsWith("--dir=")) dir = a.slice("--dir=".length);
      else return { stdout: "", stderr: `nexthop install: unknown argument ${goQuote(a)}\n${HELP}`, exitCode: 2 };
    }
    if (!dir) return { stdout: "", stderr: `nexthop install: --dir DIR is required\n`, exitCode: 2 };
    try {
      return { stdout: install({ dir, force, self }).join("\n") + "\n", stderr: "", exitCode: 0 };
    } catch (err) {
      return { stdout: "", stderr: `nexthop install: ${(err as Error).message}\n`, exitCode: 1 };
    }
  }
  return { stdout: "", stderr: `nexthop: unknown command ${goQuote(cmd)}\n${HELP}`, exitCode: 2 };
}

function main(): void {
  const foreign = neutraliseRuntimeEnvironment();
  if (foreign !== undefined) {
    // execve failed: better no command than one the environment changed.
    const e = new CniError(ErrCode.Internal, `refusing to run with Bun runtime variables in the environment (${foreign}): re-executing without them failed`);
    writeAll(1, goMarshal(e.toJSON(), "    "));
    process.exit(1);
  }
  const invoked = basename(process.argv0);
  if ((PLUGIN_NAMES as readonly string[]).includes(invoked)) {
    runPluginProcess(ownPlugin(invoked) ?? unavailablePlugin(invoked));
  }
  const out = cli(process.argv.slice(2), process.env, process.execPath);
  if (out.stderr) writeAll(2, out.stderr);
  if (out.stdout) writeAll(1, out.stdout);
  process.exit(out.exitCode);
}

if (import.meta.main) main();
