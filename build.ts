// Builds dist/nexthop: the AssemblyScript codec to build/codec.wasm, then one Bun executable
// with the wasm embedded. Run with `bun build.ts`.
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";

const root = import.meta.dir;

function run(cmd: string[]): void {
  const r = spawnSync(cmd[0], cmd.slice(1), { cwd: root, stdio: "inherit" });
  if (r.status !== 0) throw new Error(`build step failed (${r.status ?? r.signal}): ${cmd.join(" ")}`);
}

mkdirSync(`${root}/build`, { recursive: true });
mkdirSync(`${root}/dist`, { recursive: true });

// -O3 with the stub runtime and `--use abort=` gives a module with no imports at all.
run([
  process.execPath, "node_modules/assemblyscript/bin/asc.js", "codec/index.ts",
  "-o", "build/codec.wasm", "-O3", "--runtime", "stub", "--noAssert", "--converge", "--use", "abort=",
]);

// .env / bunfig.toml autoload disabled: a file in the runtime's cwd must never change behaviour.
// Code generation from strings refused (strict): a `--preload`/`--require`/`--import` smuggled in
// through BUN_OPTIONS is refused by Bun before the entry point runs (docs/reliability.md).
// --bytecode needs an ESM entry for top-level await; the entry is synchronous anyway.
run([
  process.execPath, "build", "src/main.ts", "--compile", "--minify", "--sourcemap", "--bytecode",
  "--format=esm", "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig",
  "--compile-exec-argv=--disallow-code-generation-from-strings=strict",
  "--outfile", "dist/nexthop",
]);
