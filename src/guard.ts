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
//
// One exception, for profiling the real executable: a BUN_OPTIONS made only of the CPU profiler's
// flags (isProfilerOptions) is left in place. The profiler samples and, at exit, writes a file
// into --cpu-prof-dir (default: the cwd); it changes nothing the plugin prints or does.
import { dlopen, FFIType, ptr } from "bun:ffi";

/** Whether an environment variable is one that Bun or its engine reads at start-up. */
export function isRuntimeVariable(name: string): boolean {
  // NODE_OPTIONS is not read by Bun (test/reliability/hostile.test.ts shows it changes nothing).
  return name.startsWith("BUN_") || name.startsWith("JSC_") || name.startsWith("MIMALLOC_");
}

/**
 * Whether a BUN_OPTIONS value holds only CPU profiler flags, each in its `--flag=value` form:
 * --cpu-prof, --cpu-prof-md, --cpu-prof-interval=MICROSECONDS, --cpu-prof-dir=/ABSOLUTE/DIR and
 * --cpu-prof-name=FILE (a plain file name). No quotes, no separate values, nothing else: a value
 * Bun might split or read otherwise is not this.
 */
export function isProfilerOptions(value: string): boolean {
  const tokens = value.split(/[ \t]+/).filter((t) => t !== "");
  return tokens.length > 0 && tokens.every((t) =>
    t === "--cpu-prof" || t === "--cpu-prof-md" || /^--cpu-prof-interval=[0-9]{1,9}$/.test(t) ||
    /^--cpu-prof-dir=\/[A-Za-z0-9._\/-]*$/.test(t) || /^--cpu-prof-name=[A-Za-z0-9._-]+$/.test(t));
}

/** Whether Bun started its CPU profiler in this process: a --cpu-prof flag in BUN_OPTIONS. */
function profilerRunning(env: readonly string[]): boolean {
  const opts = env.find((e) => e.startsWith("BUN_OPTIONS="));
  return opts !== undefined && /(^|\s)--cpu-prof/.test(opts.slice("BUN_OPTIONS=".length));
}

/** Whether `entry` ("NAME=value") is one to remove before running: a runtime variable other than a profiler-only BUN_OPTIONS. */
function isForeign(entry: string): boolean {
  const eq = entry.indexOf("=");
  const name = entry.slice(0, Math.max(0, eq));
  if (!isRuntimeVariable(name)) return false;
  return !(name === "BUN_OPTIONS" && isProfilerOptions(entry.slice(eq + 1)));
}

// Opened on first use, only when a runtime variable is there to remove.
const bind = () => dlopen("libc.so.6", {
  open: { args: ["ptr", "i32"], returns: "i32" },
  read: { args: ["i32", "ptr", "u64"], returns: FFIType.i64_fast },
  close: { args: ["i32"], returns: "i32" },
  execve: { args: ["ptr", "ptr", "ptr"], returns: "i32" },
});
let bound: ReturnType<typeof bind> | undefined;
const libc = () => (bound ??= bind());

/**
 * /proc/self/environ through libc: node:fs would cost more start-up than the rest of VERSION
 * (README "Start-up budget"). Undefined when FFI or the file is unavailable.
 */
function readEnviron(): string | undefined {
  try {
    const { symbols } = libc();
    const fd = symbols.open(Buffer.from("/proc/self/environ\0"), 0o2000000 /* O_RDONLY|O_CLOEXEC */);
    if (fd < 0) return undefined;
    try {
      const chunks: Buffer[] = [];
      const buf = Buffer.allocUnsafe(64 * 1024);
      for (;;) {
        const n = Number(symbols.read(fd, buf, buf.length));
        if (n < 0) return undefined; // node:fs reads it again and reports what it finds
        if (n === 0) return Buffer.concat(chunks).toString("latin1");
        chunks.push(Buffer.from(buf.subarray(0, n)));
      }
    } finally {
      symbols.close(fd);
    }
  } catch {
    return undefined;
  }
}

/** The process's environment as exec'd (not as Bun's loaders may have changed process.env). */
function execEnvironment(): string[] {
  try {
    const text = readEnviron() ?? (require("node:fs") as typeof import("node:fs")).readFileSync("/proc/self/environ", "latin1");
    return text.split("\0").filter((e) => e !== "");
  } catch {
    return Object.entries(process.env).map(([k, v]) => `${k}=${v}`);
  }
}

/**
 * Re-executes this executable without the runtime's variables when any is set. Returns only when
 * none is (or when execve failed: then `why` names the variable, for the caller to refuse).
 */
export function neutraliseRuntimeEnvironment(): string | undefined {
  // The common case costs no file read and no FFI: Bun's process.env lists every variable of the
  // exec'd environment whose name is one of the runtime's, empty values included
  // (test/reliability/hostile.test.ts runs each kind). Only when one is there is the environment
  // read as exec'd, to rebuild it without them.
  if (!Object.keys(process.env).some(isRuntimeVariable)) return undefined;
  const env = execEnvironment();
  const foreign = env.filter(isForeign);
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
  // The clean copy as a child sharing stdin/stdout/stderr; exits with its status.
  const runChild = (): void => {
    try {
      const r = Bun.spawnSync(["/proc/self/exe", ...argv.slice(1)], {
        argv0: argv[0], env: Object.fromEntries(clean.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])),
        stdin: "inherit", stdout: "inherit", stderr: "inherit",
      });
      if (r.exitCode !== null) process.exit(r.exitCode);
    } catch {
      // fall through: refused by the caller
    }
  };
  if (profilerRunning(env)) {
    // The sampling profiler pauses this thread with SIGPWR; one still pending at execve stays
    // pending in the new image, where its default action kills the process before it has a
    // handler (exit 158, nothing printed; test/reliability/profiler.test.ts). So no execve while
    // it runs: the clean copy runs as a child.
    runChild();
  } else {
    try {
      libc().symbols.execve(path, argvV, envV);
    } catch {
      // FFI needs the JIT (BUN_JSC_useJIT=0 turns it off): run the clean copy as a child instead.
      runChild();
    }
  }
  void keep;
  return foreign.map((e) => e.slice(0, e.indexOf("="))).join(", ");
}
