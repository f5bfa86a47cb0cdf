// The CNI protocol driver: what Go's skel.PluginMainFuncs does for every upstream plugin.
//
//   environment → stdin → config name check → command → version gates → plugin function →
//   result printed in the config's cniVersion, or the error object on stdout and exit 1.
//
// runPlugin() is pure with respect to its inputs (env, stdin) and returns what the process would
// write, so tests drive it in-process; runPluginProcess() is the real entry (main.ts). Everything
// is synchronous (docs/bun.md §2): stdin is read with readSync, never a stream.
import { CniError, ErrCode } from "./errors.ts";
import { goField, GoJSONError, goKind, isObject, parseGoJSON } from "./go/json.ts";
import { goMarshal } from "./go/marshal.ts";
import { goQuote, goQuoteList } from "./go/quote.ts";
import type { CmdArgs, Plugin } from "./types.ts";
import { formatResult } from "./print.ts";
import { CURRENT_VERSION, configVersion, greaterThanOrEqualTo } from "./version.ts";
import pkg from "../../package.json" with { type: "json" };
import { readFd, statOrThrow, writeFd } from "./sysio.ts";

/**
 * node:fs, loaded on first use: stdin, stdout and the netns check go through ./sysio.ts, and only
 * a failed call is repeated with node:fs for its error (README "Start-up budget").
 */
const fs = (): typeof import("node:fs") => require("node:fs");

export const NEXTHOP_VERSION: string = pkg.version;

/** Larger configs are refused before parsing (code 7): real ones are a few KiB. */
export const MAX_STDIN_BYTES = 1 << 20;

export type Env = Readonly<Record<string, string | undefined>>;

/** Stdin as bytes, as text, or as a reader called only when the command needs stdin. */
export type StdinSource = Uint8Array | string | (() => Uint8Array);

export interface RunOutput {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface RunOptions {
  /** First line printed on stderr when CNI_COMMAND is unset (default: "CNI <name> plugin v<version> (nexthop)"). */
  about?: string;
}

// ------------------------------------------------------------------------------------------------
// stderr sink: while runPlugin runs, stderr written through writeStderr() (delegates' stderr, plugin
// logs) lands in its RunOutput; otherwise it goes straight to fd 2.

let stderrSink: ((s: string) => void) | null = null;

/** Writes unstructured log text to the plugin's stderr (never stdout: that carries the protocol). */
export function writeStderr(text: string): void {
  if (stderrSink) stderrSink(text);
  else writeAll(2, text);
}

// ------------------------------------------------------------------------------------------------
// Validation (cni pkg/utils)

const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$/;
const MAX_IFNAME_BYTES = 15;
/** unicode.IsSpace */
const GO_SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u;

/** utils.ValidateContainerID (empty is caught earlier as a missing variable). */
export function validateContainerID(id: string): void {
  if (id === "") throw new CniError(ErrCode.UnknownContainer, "missing containerID");
  if (!VALID_NAME.test(id)) throw new CniError(ErrCode.InvalidEnvironmentVariables, "invalid characters in containerID", id);
}

/** utils.ValidateInterfaceName: non-empty, at most 15 bytes, not "." or "..", no "/", ":" or space. */
export function validateInterfaceName(name: string): void {
  const code = ErrCode.InvalidEnvironmentVariables;
  if (name.length === 0) throw new CniError(code, "interface name is empty");
  if (Buffer.byteLength(name, "utf8") > MAX_IFNAME_BYTES) {
    throw new CniError(code, "interface name is too long", `interface name should be less than ${MAX_IFNAME_BYTES + 1} characters`);
  }
  if (name === "." || name === "..") throw new CniError(code, "interface name is . or ..");
  if (name.includes("/") || name.includes(":") || GO_SPACE.test(name)) {
    throw new CniError(code, "interface name contains / or : or whitespace characters");
  }
}

/** utils.ValidateNetworkName */
export function validateNetworkName(name: string): void {
  if (name === "") throw new CniError(ErrCode.InvalidNetworkConfig, "missing network name:");
  if (!VALID_NAME.test(name)) throw new CniError(ErrCode.InvalidNetworkConfig, "invalid characters found in network name", name);
}

// ------------------------------------------------------------------------------------------------
// Environment (skel getCmdArgsFromEnv)

type Command = "ADD" | "CHECK" | "DEL" | "GC" | "STATUS";

/** Which commands require each variable, in skel's order (which is the order of the error list). */
const ENV_VARS: readonly { name: string; requiredFor: readonly Command[]; validate?: (v: string) => void }[] = [
  { name: "CNI_COMMAND", requiredFor: ["ADD", "CHECK", "DEL", "GC", "STATUS"] },
  { name: "CNI_CONTAINERID", requiredFor: ["ADD", "CHECK", "DEL"], validate: validateContainerID },
  { name: "CNI_NETNS", requiredFor: ["ADD", "CHECK"] },
  { name: "CNI_IFNAME", requiredFor: ["ADD", "CHECK", "DEL"], validate: validateInterfaceName },
  { name: "CNI_ARGS", requiredFor: [] },
  { name: "CNI_PATH", requiredFor: ["ADD", "CHECK", "DEL", "GC", "STATUS"] },
  { name: "CNI_NETNS_OVERRIDE", requiredFor: [] },
];

/** Go's filepath.SplitList: "" is no entries; empty entries are kept. */
export function splitList(s: string): string[] {
  return s === "" ? [] : s.split(":");
}

/** skel's validateConfig: stdin must be JSON with a valid network name. Returns the parsed object. */
function validateConfig(bytes: Uint8Array): Record<string, unknown> {
  const prefix = "error unmarshall network config: ";
  let conf: unknown;
  try {
    conf = parseGoJSON(bytes);
  } catch (err) {
    throw new CniError(ErrCode.DecodingFailure, prefix + (err as Error).message);
  }
  if (conf !== null && !isObject(conf)) {
    throw new CniError(
      ErrCode.DecodingFailure,
      `${prefix}json: cannot unmarshal ${goKind(conf)} into Go value of type struct { Name string "json:\\"name\\"" }`,
    );
  }
  const name = conf === null ? undefined : goField(conf, "name");
  if (name !== undefined && name !== null && typeof name !== "string") {
    throw new CniError(ErrCode.DecodingFailure, `${prefix}json: cannot unmarshal ${goKind(name)} into Go struct field .name of type string`);
  }
  if (!name) throw new CniError(ErrCode.InvalidNetworkConfig, "missing network name");
  validateNetworkName(name);
  return conf as Record<string, unknown>;
}

function stdinBytes(stdin: StdinSource): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = typeof stdin === "function" ? stdin() : typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin;
  } catch (err) {
    throw new CniError(ErrCode.IOFailure, `error reading from stdin: ${(err as Error).message}`);
  }
  if (bytes.length > MAX_STDIN_BYTES) {
    throw new CniError(
      ErrCode.InvalidNetworkConfig,
      `network configuration on stdin is too large: more than ${MAX_STDIN_BYTES} bytes`,
    );
  }
  return bytes;
}

// ------------------------------------------------------------------------------------------------
// Dispatch (skel pluginMain)

function aboutText(plugin: Plugin, opts: RunOptions | undefined): string {
  const about = opts?.about ?? `CNI ${plugin.name} plugin v${NEXTHOP_VERSION} (nexthop)`;
  return `${about}\nCNI protocol versions supported: ${plugin.supportedVersions.join(", ")}\n`;
}

/** checkVersionAndCall: the config's version must be one the plugin supports exactly. */
function checkVersion(plugin: Plugin, version: string): void {
  if (!plugin.supportedVersions.includes(version)) {
    throw new CniError(
      ErrCode.IncompatibleCNIVersion,
      "incompatible CNI versions",
      `config is ${goQuote(version)}, plugin supports ${goQuoteList(plugin.supportedVersions)}`,
    );
  }
}

function gte(a: string, b: string): boolean {
  try {
    return greaterThanOrEqualTo(a, b);
  } catch (err) {
    throw new CniError(ErrCode.DecodingFailure, (err as Error).message);
  }
}

/**
 * The gate of CHECK (0.4.0), GC and STATUS (1.1.0): the config version must be at least `since`
 * and the plugin must support a version at least the config's (then the exact-match check).
 */
function gateSince(plugin: Plugin, cmd: string, version: string, since: string): void {
  if (!gte(version, since)) throw new CniError(ErrCode.IncompatibleCNIVersion, `config version does not allow ${cmd}`);
  for (const pv of plugin.supportedVersions) {
    if (gte(pv, version)) {
      checkVersion(plugin, version);
      return;
    }
  }
  throw new CniError(ErrCode.IncompatibleCNIVersion, `plugin version does not allow ${cmd}`);
}

/** ns.CheckNetNS: whether CNI_NETNS is the netns this process runs in (unopenable: no). */
function isOwnNetns(netnsPath: string): boolean {
  let target;
  try {
    target = statOrThrow(netnsPath);
  } catch {
    return false;
  }
  let self;
  try {
    self = statOrThrow("/proc/thread-self/ns/net");
  } catch {
    try {
      self = statOrThrow("/proc/self/ns/net");
    } catch {
      throw new CniError(ErrCode.InvalidNetNS, "get plugin's netns failed");
    }
  }
  return target.dev === self.dev && target.ino === self.ino;
}

function checkNetnsBefore(env: Env, netns: string): void {
  const override = env.CNI_NETNS_OVERRIDE ?? "";
  if (override.toUpperCase() === "TRUE" || override === "1") return;
  if (isOwnNetns(netns)) {
    throw new CniError(ErrCode.InvalidNetNS, "plugin's netns and netns from CNI_NETNS should not be the same");
  }
}

function dispatch(plugin: Plugin, env: Env, stdin: StdinSource, out: RunOutput, opts?: RunOptions): void {
  const cmd = env.CNI_COMMAND ?? "";
  const missing: string[] = [];
  for (const v of ENV_VARS) {
    const val = env[v.name] ?? "";
    const required = (v.requiredFor as readonly string[]).includes(cmd);
    if (val === "") {
      if (required || v.name === "CNI_COMMAND") missing.push(v.name);
    } else if (required && v.validate) {
      v.validate(val);
    }
  }
  if (missing.length > 0) {
    if (cmd === "") {
      out.stderr += aboutText(plugin, opts);
      return;
    }
    throw new CniError(ErrCode.InvalidEnvironmentVariables, `required env variables [${missing.join(",")}] missing`);
  }

  if (cmd === "VERSION") {
    // Compact, with a newline (json.Encoder); stdin is not read.
    out.stdout += goMarshal({ cniVersion: CURRENT_VERSION, supportedVersions: plugin.supportedVersions }) + "\n";
    return;
  }

  const bytes = stdinBytes(stdin);
  const config = validateConfig(bytes);
  const netns = env.CNI_NETNS ?? "";
  const args = (version: string): CmdArgs => ({
    command: cmd,
    containerId: env.CNI_CONTAINERID ?? "",
    netns,
    ifname: env.CNI_IFNAME ?? "",
    args: env.CNI_ARGS ?? "",
    path: splitList(env.CNI_PATH ?? ""),
    stdin: bytes,
    config,
    cniVersion: version,
    env,
  });

  switch (cmd) {
    case "ADD": {
      const version = configVersion(config);
      checkVersion(plugin, version);
      // Upstream checks this after the ADD, prints the result and then the error, and undoes
      // nothing; nexthop refuses before any change (docs/reliability.md).
      checkNetnsBefore(env, netns);
      const result = plugin.add(args(version));
      out.stdout += formatResult(result, version);
      return;
    }
    case "DEL": {
      const version = configVersion(config);
      checkVersion(plugin, version);
      checkNetnsBefore(env, netns);
      plugin.del(args(version));
      return;
    }
    case "CHECK": {
      const version = configVersion(config);
      gateSince(plugin, cmd, version, "0.4.0");
      plugin.check(args(version));
      return;
    }
    case "GC":
    case "STATUS": {
      const version = configVersion(config);
      gateSince(plugin, cmd, version, "1.1.0");
      // A plugin without the function succeeds silently, as with skel.
      if (cmd === "GC") plugin.gc?.(args(version));
      else plugin.status?.(args(version));
      return;
    }
    default:
      throw new CniError(ErrCode.InvalidEnvironmentVariables, `unknown CNI_COMMAND: ${cmd}`);
  }
}

/**
 * Runs one CNI invocation of `plugin` and returns what the process must write and its exit code.
 * Errors become the CNI error object on stdout (Go's 4-space layout, no cniVersion, "details"
 * only when set) with exit code 1; an unexpected exception becomes code 999 with its message,
 * its stack going to stderr only.
 */
export function runPlugin(plugin: Plugin, env: Env, stdin: StdinSource, opts?: RunOptions): RunOutput {
  const out: RunOutput = { stdout: "", stderr: "", exitCode: 0 };
  const previousSink = stderrSink;
  stderrSink = (s) => {
    out.stderr += s;
  };
  try {
    dispatch(plugin, env, stdin, out, opts);
  } catch (err) {
    let e: CniError;
    if (err instanceof CniError) {
      e = err;
    } else {
      const msg = err instanceof Error ? err.message : String(err);
      e = new CniError(ErrCode.Internal, msg);
      const stack = err instanceof Error && !(err instanceof GoJSONError) ? err.stack : undefined;
      out.stderr += `nexthop ${plugin.name}: unexpected error: ${stack ?? msg}\n`;
    }
    out.stdout += goMarshal(e.toJSON(), "    ");
    out.exitCode = 1;
  } finally {
    stderrSink = previousSink;
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// The real process

/**
 * Reads fd 0 synchronously, stopping once more than `limit` bytes have arrived. Through libc; a
 * read that fails otherwise than EINTR/EAGAIN is repeated with node:fs's readSync, which throws
 * its error (or reads on), as it always did.
 */
export function readStdin(limit = MAX_STDIN_BYTES): Uint8Array {
  const chunks: Uint8Array[] = [];
  const buf = Buffer.allocUnsafe(64 * 1024);
  let total = 0;
  while (total <= limit) {
    let n = readFd(0, buf);
    if (n === -1) {
      Bun.sleepSync(1); // EAGAIN
      continue;
    }
    if (n === undefined) {
      try {
        n = fs().readSync(0, buf, 0, buf.length, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "EAGAIN") {
          Bun.sleepSync(1);
          continue;
        }
        if (code === "EOF") break;
        throw err;
      }
    }
    if (n === 0) break;
    chunks.push(Uint8Array.prototype.slice.call(buf, 0, n));
    total += n;
  }
  return Buffer.concat(chunks);
}

/**
 * Writes all of `text` to a file descriptor, synchronously: through libc, and what a failed write
 * left goes through node:fs's writeSync, which throws its error as it always did.
 */
export function writeAll(fd: number, text: string | Uint8Array): void {
  const data = typeof text === "string" ? Buffer.from(text, "utf8") : text;
  let off = writeFd(fd, data);
  if (off === data.length) return;
  const { writeSync } = fs();
  while (off < data.length) {
    try {
      off += writeSync(fd, data, off, data.length - off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EAGAIN") {
        Bun.sleepSync(1);
        continue;
      }
      throw err;
    }
  }
}

/** Runs `plugin` on this process's environment and stdin, writes its output and exits. */
export function runPluginProcess(plugin: Plugin, opts?: RunOptions): never {
  const out = runPlugin(plugin, process.env, () => readStdin(), opts);
  if (out.stderr) writeAll(2, out.stderr);
  if (out.stdout) writeAll(1, out.stdout);
  process.exit(out.exitCode);
}
