// Delegation to another plugin (IPAM), as Go's pkg/invoke Delegate* functions do it.
//
// A delegate that is one of nexthop's own plugins (src/plugins/registry.ts hands them in through
// useInProcessPlugins) runs in this process with the
// same CmdArgs: no second ~110 MB process to start, and internal result fields (route weights)
// travel with the result. Its result still goes through the config's version, so the calling
// plugin sees what it would have read from a child's stdout. Any other delegate is found in
// CNI_PATH and executed like upstream does: same environment with CNI_COMMAND overridden, the
// whole config on stdin, retried while the file is busy, its stderr forwarded, its error object
// kept with its code.
import { CniError, ErrCode } from "./errors.ts";
import { goField, GoJSONError, goKind, isObject, parseGoJSON } from "./go/json.ts";
import { byteOrder } from "./go/marshal.ts";
import { goList, goQuote, goQuoteList } from "./go/quote.ts";
import { writeStderr } from "./skel.ts";
import type { CmdArgs, Plugin, Result } from "./types.ts";
import { convertResult, parseResult } from "./result.ts";

// ------------------------------------------------------------------------------------------------
// In-process delegates: the plugin layer (src/plugins/registry.ts) says which names it serves.

let ownPlugin: (name: string) => Plugin | undefined = () => undefined;

/** Lets delegation run `lookup(type)`'s plugin in this process instead of exec'ing `type`. */
export function useInProcessPlugins(lookup: (name: string) => Plugin | undefined): void {
  ownPlugin = lookup;
}

// ------------------------------------------------------------------------------------------------
// Public delegation API (one function per command, as ipam.ExecAdd/ExecDel/… upstream)

/** ADD on the delegate `type`; its result in the internal 1.1.0 form. */
export function delegateAdd(type: string, args: CmdArgs): Result {
  return delegate(type, "ADD", args)!;
}

export function delegateCheck(type: string, args: CmdArgs): void {
  delegate(type, "CHECK", args);
}

export function delegateDel(type: string, args: CmdArgs): void {
  delegate(type, "DEL", args);
}

export function delegateStatus(type: string, args: CmdArgs): void {
  delegate(type, "STATUS", args);
}

export function delegateGc(type: string, args: CmdArgs): void {
  delegate(type, "GC", args);
}

/** Throws the error a delegation to `type` would fail with when no such plugin can be found. */
export function resolveDelegate(type: string, args: CmdArgs): void {
  if (!ownPlugin(type)) findInPath(type, args.path);
}

type Verb = "ADD" | "CHECK" | "DEL" | "STATUS" | "GC";

function delegate(type: string, verb: Verb, args: CmdArgs): Result | undefined {
  const own = ownPlugin(type);
  return own ? inProcess(own, verb, args) : execDelegate(type, verb, args);
}

function inProcess(plugin: Plugin, verb: Verb, args: CmdArgs): Result | undefined {
  const version = args.cniVersion;
  // What the delegate's own skel would check; the command gates already passed for the caller.
  if (!plugin.supportedVersions.includes(version)) {
    throw new CniError(
      ErrCode.IncompatibleCNIVersion,
      "incompatible CNI versions",
      `config is ${goQuote(version)}, plugin supports ${goQuoteList(plugin.supportedVersions)}`,
    );
  }
  const a: CmdArgs = { ...args, command: verb };
  switch (verb) {
    case "ADD":
      return convertResult(plugin.add(a), version);
    case "CHECK":
      plugin.check(a);
      return undefined;
    case "DEL":
      plugin.del(a);
      return undefined;
    case "STATUS":
      plugin.status?.(a);
      return undefined;
    case "GC":
      plugin.gc?.(a);
      return undefined;
  }
}

// ------------------------------------------------------------------------------------------------
// Executing a delegate from CNI_PATH

/**
 * invoke.FindInPath: the first regular file named `plugin` in `paths` (the exec bit is not
 * checked, as upstream). Throws CniError 999 with upstream's messages.
 */
export function findInPath(plugin: string, paths: readonly string[]): string {
  if (plugin === "") throw new CniError(ErrCode.Internal, "no plugin name provided");
  if (plugin.includes("/")) throw new CniError(ErrCode.Internal, `invalid plugin name: ${plugin}`);
  if (paths.length === 0) throw new CniError(ErrCode.Internal, "no paths provided");
  // loaded here, not at the top: VERSION never looks for a delegate (README "Start-up budget")
  const { join } = require("node:path") as typeof import("node:path");
  const { statSync } = require("node:fs") as typeof import("node:fs");
  for (const dir of paths) {
    const full = join(dir, plugin);
    try {
      if (statSync(full).isFile()) return full;
    } catch {
      // not there: next directory
    }
  }
  throw new CniError(ErrCode.Internal, `failed to find plugin ${goQuote(plugin)} in path ${goList(paths)}`);
}

/** How many times a "text file busy" exec is retried, one second apart (upstream: 5). */
const BUSY_RETRIES = 5;
const MAX_OUTPUT = 64 << 20;

/** Go's exec error texts for the errnos a plugin exec can hit. */
const ERRNO_TEXT: Record<string, string> = {
  EACCES: "permission denied",
  ENOENT: "no such file or directory",
  ENOEXEC: "exec format error",
  ETXTBSY: "text file busy",
  ENOTDIR: "not a directory",
  ELOOP: "too many levels of symbolic links",
};

/** Go's names for signals in "signal: …" (syscall.Signal.String). */
const SIGNAL_TEXT: Record<string, string> = {
  SIGHUP: "hangup",
  SIGINT: "interrupt",
  SIGQUIT: "quit",
  SIGILL: "illegal instruction",
  SIGTRAP: "trace/breakpoint trap",
  SIGABRT: "aborted",
  SIGBUS: "bus error",
  SIGFPE: "floating point exception",
  SIGKILL: "killed",
  SIGUSR1: "user defined signal 1",
  SIGSEGV: "segmentation fault",
  SIGUSR2: "user defined signal 2",
  SIGPIPE: "broken pipe",
  SIGALRM: "alarm clock",
  SIGTERM: "terminated",
};

function delegateEnv(verb: Verb, args: CmdArgs): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(args.env ?? process.env)) if (v !== undefined) env[k] = v;
  // A CmdArgs built without an environment still passes the CNI variables it carries.
  const fill: [string, string][] = [
    ["CNI_CONTAINERID", args.containerId],
    ["CNI_NETNS", args.netns],
    ["CNI_IFNAME", args.ifname],
    ["CNI_ARGS", args.args],
    ["CNI_PATH", args.path.join(":")],
  ];
  for (const [k, v] of fill) if (env[k] === undefined && v) env[k] = v;
  env.CNI_COMMAND = verb;
  return env;
}

function execDelegate(type: string, verb: Verb, args: CmdArgs): Result | undefined {
  const pluginPath = findInPath(type, args.path);
  const env = delegateEnv(verb, args);
  let stdout = new Uint8Array();
  let stderr = new Uint8Array();
  for (let attempt = 0; ; attempt++) {
    // Loaded here: most commands delegate in-process and never pay for child_process.
    const { spawnSync } = require("node:child_process") as typeof import("node:child_process");
    const r = spawnSync(pluginPath, [], { input: args.stdin, env, maxBuffer: MAX_OUTPUT });
    stdout = r.stdout ?? new Uint8Array();
    stderr = r.stderr ?? new Uint8Array();
    const code = (r.error as NodeJS.ErrnoException | undefined)?.code;
    if (r.error && code === "ETXTBSY" && attempt < BUSY_RETRIES) {
      Bun.sleepSync(1000);
      continue;
    }
    if (r.error) {
      const why = (code && ERRNO_TEXT[code]) ?? r.error.message;
      throw pluginError(`fork/exec ${pluginPath}: ${why}`, stdout, stderr);
    }
    if (r.signal) throw pluginError(`signal: ${SIGNAL_TEXT[r.signal] ?? r.signal}`, stdout, stderr);
    if (r.status !== 0) throw pluginError(`exit status ${r.status}`, stdout, stderr);
    break;
  }
  // Upstream copies the delegate's stderr to its own after a success.
  if (stderr.length > 0) writeStderr(new TextDecoder().decode(stderr));
  if (verb !== "ADD") return undefined;
  return resultFromStdout(stdout, args);
}

/** RawExec.pluginErr: the delegate's error object (its code kept) or a description of its failure. */
function pluginError(err: string, stdoutBytes: Uint8Array, stderrBytes: Uint8Array): CniError {
  const stdout = new TextDecoder().decode(stdoutBytes);
  const stderr = new TextDecoder().decode(stderrBytes);
  // types.Error{} starts with code 0, and upstream returns it as is.
  if (stdout.length === 0) {
    if (stderr.length === 0) return new CniError(0, `netplugin failed with no error message: ${err}`);
    return new CniError(0, `netplugin failed: ${goQuote(stderr)}: ${err}`);
  }
  try {
    const e = decodeErrorObject(parseGoJSON(stdoutBytes));
    return new CniError(e.code, e.msg, e.details);
  } catch (perr) {
    return new CniError(0, `netplugin failed but error parsing its diagnostic message ${goQuote(stdout)}: ${(perr as Error).message}`);
  }
}

/** Decodes a types.Error ({code, msg, details}); Go's type rules, any key case. */
function decodeErrorObject(v: unknown): { code: number; msg: string; details: string } {
  if (v === null) return { code: 0, msg: "", details: "" };
  if (!isObject(v)) throw new GoJSONError(`json: cannot unmarshal ${goKind(v)} into Go value of type types.Error`);
  const code = goField(v, "code");
  const msg = goField(v, "msg");
  const details = goField(v, "details");
  if (code !== undefined && code !== null && (typeof code !== "number" || !Number.isInteger(code) || code < 0)) {
    const what = typeof code === "number" ? `number ${code}` : goKind(code);
    throw new GoJSONError(`json: cannot unmarshal ${what} into Go struct field Error.code of type uint`);
  }
  for (const [name, val] of [["msg", msg], ["details", details]] as const) {
    if (val !== undefined && val !== null && typeof val !== "string") {
      throw new GoJSONError(`json: cannot unmarshal ${goKind(val)} into Go struct field Error.${name} of type string`);
    }
  }
  return { code: (code as number | null) ?? 0, msg: (msg as string | null) ?? "", details: (details as string | null) ?? "" };
}

/**
 * invoke's fixupResultVersion + create.Create + NewResultFromResult: a result without a
 * (non-empty string) cniVersion is taken to be in the config's version.
 */
function resultFromStdout(stdoutBytes: Uint8Array, args: CmdArgs): Result {
  const confVersion = args.cniVersion;
  let raw: unknown;
  try {
    raw = parseGoJSON(stdoutBytes);
    if (raw !== null && !isObject(raw)) {
      throw new GoJSONError(`json: cannot unmarshal ${goKind(raw)} into Go value of type map[string]interface {}`);
    }
  } catch (err) {
    const text = new TextDecoder().decode(stdoutBytes);
    throw new CniError(ErrCode.Internal, `failed to unmarshal raw result: ${(err as Error).message} result ${text}`);
  }
  const obj = (raw ?? {}) as Record<string, unknown>;
  try {
    if (typeof obj.cniVersion === "string" && obj.cniVersion !== "") return parseResult(obj, obj.cniVersion);
    // Re-marshalled from a Go map: keys sorted.
    const fixed: Record<string, unknown> = {};
    const withVersion = { ...obj, cniVersion: confVersion };
    for (const k of Object.keys(withVersion).sort(byteOrder)) fixed[k] = withVersion[k as keyof typeof withVersion];
    return parseResult(fixed, confVersion);
  } catch (err) {
    throw err instanceof CniError ? err : new CniError(ErrCode.Internal, (err as Error).message);
  }
}
