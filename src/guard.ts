// The runtime's environment must not change what the plugin does (docs/reliability.md, "Hostile
// environment"). libcni hands every plugin the runtime's whole environment, and Bun's runtime reads
// some of it before the first line of nexthop runs: BUN_OPTIONS (extra runtime flags), BUN_JSC_* and
// JSC_* (engine options, e.g. turning the JIT off, which breaks FFI), MIMALLOC_* (allocator),
// BUN_FEATURE_FLAG_*, BUN_GARBAGE_COLLECTOR_LEVEL and the like. Those already took effect in this
// process, so they cannot be undone here: when any is present the executable replaces itself
// (execve, same pid, same stdin/stdout, nothing read yet) with a copy of itself whose environment
// lacks them. What cannot be neutralised from inside is listed in docs/reliability.md:
// BUN_BE_BUN (Bun never starts the embedded program) and --preload/--require/--import in
// BUN_OPTIONS (refused by Bun itself, because the build embeds
// --disallow-code-generation-from-strings=strict).
import { readFileSync } from "node:fs";
import { dlopen, ptr } from "bun:ffi";

/** Whether an environment variable is one that Bun or its engine reads at start-up. */
export function isRuntimeVariable(name: string): boolean {
  // NODE_OPTIONS is not read by Bun (test/reliability/hostile.test.ts shows it changes nothing).
  return name.startsWith("BUN_") || name.startsWith("JSC_") || name.startsWith("MIMALLOC_");
}

/** The process's environment as exec'd (not as Bun's loaders may have changed process.env). */
function execEnvironment(): string[] {
  try {
    return readFileSync("/proc/self/environ", "latin1").split("\0").filter((e) => e !== "");
  } catch {
    return Object.entries(process.env).map(([k, v]) => `${k}=${v}`);
  }
}

/**
 * Re-executes this executable without the runtime's variables when any is set. Returns only when
 * none is (or when execve failed: then `why` names the variable, for the caller to refuse).
 */
export function neutraliseRuntimeEnvironment(): string | undefined {
  const env = execEnvironment();
  const foreign = env.filter((e) => isRuntimeVariable(e.slice(0, Math.max(0, e.indexOf("=")))));
  if (foreign.length === 0) return undefined;
  const clean = env.filter((e) => !foreign.includes(e));
  // argv[0] carries the plugin name (dispatch uses it); process.argv[1] is Bun's /$bunfs path.
  const argv = [process.argv0, ...process.argv.slice(2)];
  const keep: Buffer[] = [];
  const vector = (items: string[]) => {
    const v = new BigUint64Array(items.length + 1);
    items.forEach((s, i) => {
      const b = Buffer.from(`${s}\0`, "latin1");
      keep.push(b);
      v[i] = BigInt(ptr(b));
    });
    return v;
  };
  const path = Buffer.from("/proc/self/exe\0");
  const argvV = vector(argv);
  const envV = vector(clean);
  try {
    const { symbols } = dlopen("libc.so.6", { execve: { args: ["ptr", "ptr", "ptr"], returns: "i32" } });
    symbols.execve(path, argvV, envV);
  } catch {
    // FFI needs the JIT (BUN_JSC_useJIT=0 turns it off): run the clean copy as a child instead,
    // sharing stdin/stdout/stderr, and exit with its status.
    try {
      const r = Bun.spawnSync(["/proc/self/exe", ...argv.slice(1)], {
        argv0: argv[0], env: Object.fromEntries(clean.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])),
        stdin: "inherit", stdout: "inherit", stderr: "inherit",
      });
      if (r.exitCode !== null) process.exit(r.exitCode);
    } catch {
      // fall through: refused by the caller
    }
  }
  void keep;
  return foreign.map((e) => e.slice(0, e.indexOf("="))).join(", ");
}
