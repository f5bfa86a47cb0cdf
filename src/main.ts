// nexthop: one executable, installed under the plugin names (multi-call). The plugin is chosen by
// the name the binary was invoked as (process.argv0; with links process.argv holds a /$bunfs
// path, see docs/bun.md §5). Under any other name it is a small CLI: install, --version, --help.
// node:fs and node:path are loaded by `install` only: VERSION and the plugins' protocol errors do
// not pay for them (README "Start-up budget").
const fs = (): typeof import("node:fs") => require("node:fs");
const nodePath = (): typeof import("node:path") => require("node:path");
import { CniError, ErrCode } from "./cni/errors.ts";
import { goMarshal } from "./cni/go/marshal.ts";
import { goQuote } from "./cni/go/quote.ts";
import { NEXTHOP_VERSION, readStdin, runPluginProcess, writeAll } from "./cni/skel.ts";
import type { Plugin } from "./cni/types.ts";
import { ALL_VERSIONS } from "./cni/version.ts";
import { ownPlugin, PLUGIN_NAMES, registeredPlugins } from "./plugins/index.ts";
import { neutraliseRuntimeEnvironment } from "./guard.ts";
import { invokedName } from "./plugins/names.ts";

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

/**
 * A string in every nexthop executable's embedded code (this very line), so an installed nexthop
 * of another version is told from a foreign file by its bytes, without running it.
 */
const EXECUTABLE_MARK = "nexthop-multi-call-executable";

/** Whether two regular files have the same contents (size first, then bytes). */
function sameContents(a: string, b: string): boolean {
  const sa = fs().statSync(a);
  const sb = fs().statSync(b);
  if (sa.size !== sb.size) return false;
  if (sa.dev === sb.dev && sa.ino === sb.ino) return true;
  const fa = fs().openSync(a, "r");
  const fb = fs().openSync(b, "r");
  try {
    const ba = Buffer.allocUnsafe(1 << 20);
    const bb = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const na = fs().readSync(fa, ba, 0, ba.length, null);
      const nb = fs().readSync(fb, bb, 0, bb.length, null);
      if (na !== nb) return false;
      if (na === 0) return true;
      if (ba.compare(bb, 0, nb, 0, na) !== 0) return false;
    }
  } finally {
    fs().closeSync(fa);
    fs().closeSync(fb);
  }
}

/** Whether the ELF file at `path` carries EXECUTABLE_MARK (read in overlapping 1 MiB chunks). */
function isNexthopExecutable(path: string): boolean {
  const fd = fs().openSync(path, "r");
  try {
    const head = Buffer.alloc(4);
    if (fs().readSync(fd, head, 0, 4, 0) !== 4 || head.toString("latin1") !== "\x7fELF") return false;
    const mark = Buffer.from(EXECUTABLE_MARK);
    const buf = Buffer.allocUnsafe((1 << 20) + mark.length);
    let kept = 0;
    for (;;) {
      const n = fs().readSync(fd, buf, kept, buf.length - kept, null);
      if (n === 0) return false;
      const len = kept + n;
      if (buf.subarray(0, len).includes(mark)) return true;
      kept = Math.min(mark.length - 1, len);
      buf.copyWithin(0, len - kept, len);
    }
  } finally {
    fs().closeSync(fd);
  }
}

/** "ours": this very executable; "nexthop": another nexthop build (replaced without --force). */
type Existing = "absent" | "ours" | "nexthop" | "foreign";

function classifyBinary(path: string, self: string): Existing {
  if (!lstatExists(path)) return "absent";
  try {
    if (!fs().statSync(path).isFile()) return "foreign";
    if (sameContents(path, self)) return "ours";
    return isNexthopExecutable(path) ? "nexthop" : "foreign";
  } catch {
    return "foreign"; // dangling symlink or unreadable
  }
}

/**
 * A plugin name is ours if it is a symlink to DIR/nexthop, or a copy/hard link of a nexthop
 * executable (an old-style install); anything else is foreign.
 */
function classifyPluginName(path: string, installed: string, self: string): Existing | "link" {
  if (!lstatExists(path)) return "absent";
  const st = fs().lstatSync(path);
  if (st.isSymbolicLink()) {
    if (fs().readlinkSync(path) === BINARY_NAME) return "link";
    try {
      const target = fs().realpathSync(path);
      if (target === fs().realpathSync(installed) || target === fs().realpathSync(self)) return "ours";
    } catch {
      // dangling
    }
    return "foreign";
  }
  return classifyBinary(path, self);
}

function lstatExists(path: string): boolean {
  try {
    fs().lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** "ENOSPC: no space left on device, write" -> "no space left on device (ENOSPC)". */
function fsReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (!e?.code) return String((e as Error)?.message ?? e);
  const text = (e.message ?? "").replace(new RegExp(`^${e.code}: `), "").replace(/,.*$/s, "");
  return `${text || "failed"} (${e.code})`;
}

class InstallError extends Error {}

/** Removes a temporary file if it is there; never throws (it must not hide the step's own error). */
function removeLeftover(path: string): void {
  if (!lstatExists(path)) return;
  try {
    fs().rmSync(path, { force: true });
  } catch {
    // a failure to clean up is reported by the failing step already
  }
}

/** Runs an fs step; a failure becomes an InstallError saying what could not be done and why. */
function fsStep<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new InstallError(`${what}: ${fsReason(err)}`);
  }
}

/** Copies `from` to the new file `to` (mode 0755) and flushes it to disk before it is renamed. */
function writeCopy(from: string, to: string): void {
  const src = fs().openSync(from, "r");
  try {
    // O_EXCL: never write through a file (or symlink) someone else put at the temporary name
    const dst = fs().openSync(to, "wx", 0o755);
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      for (;;) {
        const n = fs().readSync(src, buf, 0, buf.length, null);
        if (n === 0) break;
        for (let off = 0; off < n; ) off += fs().writeSync(dst, buf, off, n - off);
      }
      fs().fchmodSync(dst, 0o755); // whatever the umask
      fs().fsyncSync(dst);
    } finally {
      fs().closeSync(dst);
    }
  } finally {
    fs().closeSync(src);
  }
}

function fsyncDir(dir: string): void {
  const fd = fs().openSync(dir, "r");
  try {
    fs().fsyncSync(fd);
  } finally {
    fs().closeSync(fd);
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
 * from a container at another path).
 *
 * Every change is made beside the target (a temporary name in DIR, written in full and flushed)
 * and then renamed over it, so a runtime exec'ing a plugin meanwhile runs the old or the new
 * file, never a partial one, and never hits ETXTBSY (the file it runs is never opened for
 * writing). A failed step removes its temporary file: DIR keeps what it had.
 *
 * docs/release.md has the details and the tests that prove them.
 *
 * Idempotent. DIR must exist (a missing DIR is usually a missing host mount). Another nexthop
 * build at DIR/nexthop is replaced (an upgrade); refuses, before changing anything, to replace a
 * file that is not nexthop (e.g. the upstream Go `static`) unless `force`.
 */
export function install(opts: InstallOptions): string[] {
  const dir = nodePath().resolve(opts.dir);
  let st;
  try {
    st = fs().statSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new InstallError(`${dir} does not exist: create it, or mount the node's CNI plugin directory there`);
    }
    throw new InstallError(`cannot use ${dir}: ${fsReason(err)}`);
  }
  if (!st.isDirectory()) throw new InstallError(`${dir} is not a directory`);
  const target = nodePath().join(dir, BINARY_NAME);
  const log: string[] = [];

  const binaryState = classifyBinary(target, opts.self);
  const names = PLUGIN_NAMES.map((n) => ({ name: n, path: nodePath().join(dir, n), state: classifyPluginName(nodePath().join(dir, n), target, opts.self) }));
  const foreign = [...(binaryState === "foreign" ? [target] : []), ...names.filter((n) => n.state === "foreign").map((n) => n.path)];
  if (foreign.length > 0 && !opts.force) {
    throw new InstallError(
      `refusing to overwrite ${foreign.join(", ")}: not a copy of or a link to a nexthop executable (use --force to replace)`,
    );
  }

  const tmp = (name: string) => nodePath().join(dir, `.${name}.nexthop-${process.pid}.tmp`);
  if (binaryState === "ours") {
    log.push(`unchanged ${target}`);
  } else {
    const t = tmp(BINARY_NAME);
    try {
      // left by an install that died at this point with the same pid (in a container: always 1)
      removeLeftover(t);
      fsStep(`cannot write ${t}`, () => writeCopy(opts.self, t));
      fsStep(`cannot rename ${t} to ${target}`, () => fs().renameSync(t, target));
    } finally {
      removeLeftover(t);
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
      removeLeftover(t);
      fsStep(`cannot create ${t}`, () => fs().symlinkSync(BINARY_NAME, t));
      fsStep(`cannot rename ${t} to ${n.path}`, () => fs().renameSync(t, n.path));
    } finally {
      removeLeftover(t);
    }
    log.push(`${n.state === "absent" ? "linked" : "replaced"} ${n.path} -> ${BINARY_NAME}`);
  }
  // the renames themselves survive a crash once the directory is flushed
  if (log.some((l) => !l.startsWith("unchanged "))) fsStep(`cannot flush ${dir}`, () => fsyncDir(dir));
  return log;
}

// ------------------------------------------------------------------------------------------------
// CLI

const HELP = `nexthop ${NEXTHOP_VERSION}: CNI plugins ${PLUGIN_NAMES.join(", ")} in one executable.

The runtime runs it under a plugin name (a link named static, macvlan, ipvlan or vrf on CNI_PATH).
Under any other name:

  nexthop install --dir DIR [--force]
      Copy this executable to DIR/nexthop and create DIR/{${PLUGIN_NAMES.join(",")}} as symlinks
      to it, each written beside and renamed over the old entry (plugins running meanwhile are
      not disturbed). DIR must exist. Idempotent; replaces another nexthop build (an upgrade);
      refuses to replace other files (e.g. upstream plugins) unless --force.
  nexthop plan {macvlan|ipvlan} --netns PATH --ifname NAME [--json] < config
      Print what an ADD with this config would do in the pod (device, addresses, sysctls, and
      per route the nexthops before and after), changing nothing. IPAM: nexthop's static only.
      Exit 0: ADD would succeed; 3: ADD would fail (the reasons are printed); 1: no plan.
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
      const msg = err instanceof InstallError ? err.message : `unexpected failure: ${fsReason(err)}`;
      return { stdout: "", stderr: `nexthop install: ${msg}\n`, exitCode: 1 };
    }
  }
  if (cmd === "plan") {
    // Loaded on use: the other commands never evaluate the plugins' modules.
    const { planCli } = require("./plugins/plan.ts") as typeof import("./plugins/plan.ts");
    return planCli(rest, () => readStdin());
  }
  return { stdout: "", stderr: `nexthop: unknown command ${goQuote(cmd)}\n${HELP}`, exitCode: 2 };
}

/**
 * The process: the environment check, then the plugin named by argv[0], or the CLI. `checked` is
 * the check's answer when the entry (src/entry.ts) has run it already (it must run once only).
 */
export function main(checked?: { foreign: string | undefined }): void {
  const foreign = checked ? checked.foreign : neutraliseRuntimeEnvironment();
  if (foreign !== undefined) {
    // execve failed: better no command than one the environment changed.
    const e = new CniError(ErrCode.Internal, `refusing to run with Bun runtime variables in the environment (${foreign}): re-executing without them failed`);
    writeAll(1, goMarshal(e.toJSON(), "    "));
    process.exit(1);
  }
  const invoked = invokedName(process.argv0);
  if ((PLUGIN_NAMES as readonly string[]).includes(invoked)) {
    runPluginProcess(ownPlugin(invoked) ?? unavailablePlugin(invoked));
  }
  const out = cli(process.argv.slice(2), process.env, process.execPath);
  if (out.stderr) writeAll(2, out.stderr);
  if (out.stdout) writeAll(1, out.stdout);
  process.exit(out.exitCode);
}

if (import.meta.main) main();
