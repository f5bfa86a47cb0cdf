// The executable's entry point (build.ts). It runs the environment check (src/guard.ts) and then
// answers VERSION under a plugin name itself; everything else is src/main.ts, a module of its own
// inside the executable (built as a second entry point) that is loaded only then. VERSION so never
// loads the plugins, the protocol driver or the CLI: their code is not even in the module Bun
// loads first, and the mere presence of code in that module costs start-up time (README
// "Start-up budget").
//
// The answer is the one src/cni/skel.ts gives (test/cni/entry.test.ts compares them): VERSION
// needs no other variable and never reads stdin, so it depends on the plugin's versions alone.
// This module imports only the guard and two data modules: whatever it imports is evaluated on
// every start, VERSION included.
import { CURRENT_VERSION } from "./cni/versions.ts";
import { neutraliseRuntimeEnvironment } from "./guard.ts";
import { invokedName, supportedVersionsOf } from "./plugins/names.ts";

/** The output of VERSION under `name`, or undefined when this is not a plugin's VERSION. */
export function fastVersion(name: string, command: string | undefined): string | undefined {
  const versions = supportedVersionsOf(name);
  if (!versions || command !== "VERSION") return undefined;
  // JSON.stringify writes what Go's json.Marshal writes for this object: its keys in this order
  // and version strings of digits and dots, nothing Go escapes differently (<, >, &, U+2028…).
  // The Go marshaller (src/cni/go/marshal.ts) is not loaded for it; test/cni/entry.test.ts
  // compares the bytes with the driver's answer for every plugin.
  return JSON.stringify({ cniVersion: CURRENT_VERSION, supportedVersions: versions }) + "\n";
}

// The module name as the executable holds it; a constant, not a literal, so the bundler leaves
// main.ts out of this module.
const MAIN = "./main.js";

/**
 * Writes VERSION's answer to stdout and exits 0. Bun's stdout sink writes synchronously to a pipe
 * or a file and throws the write's error (ENOSPC, EPIPE, EBADF…), which leaves the process with
 * status 1 and the error on stderr, as a failed write always did here. It needs neither bun:ffi
 * nor node:fs, each of which costs more start-up than the rest of VERSION (README "Start-up
 * budget"). Should the sink not finish at once (a non-blocking stdout that is full), the exit
 * waits for it.
 */
function writeVersion(out: string): void {
  const sink = Bun.stdout.writer();
  sink.write(out);
  const done = sink.flush();
  if (typeof done === "number") process.exit(0);
  void Promise.resolve(done).then(() => process.exit(0));
}

function start(): void {
  const foreign = neutraliseRuntimeEnvironment();
  if (foreign === undefined) {
    const out = fastVersion(invokedName(process.argv0), process.env.CNI_COMMAND);
    if (out !== undefined) return writeVersion(out);
  }
  (require(MAIN) as typeof import("./main.ts")).main({ foreign });
}

if (import.meta.main) start();
