// What a codec instance costs, for docs/codec.md's "one codec for the process": the first one
// (compile + instantiate + init, as CodecBase.wasm() does on first use), each further one, and the
// memory one holds after init. In a fresh process, so the first is really the first.
//
//   bun test/bench/instances.ts [runs]     (default 20 fresh processes)
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const WASM = join(import.meta.dir, "../../build/codec.wasm");

if (process.argv[2] === "--child") {
  const bytes = readFileSync(WASM);
  const one = () => {
    const t = performance.now();
    const x = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as { init(): number; memory: WebAssembly.Memory };
    if (!x.init()) throw new Error("init failed");
    return { ms: performance.now() - t, bytes: x.memory.buffer.byteLength };
  };
  const first = one();
  const more = Array.from({ length: 9 }, one);
  console.log(JSON.stringify({ first: first.ms, more: more.map((m) => m.ms), memory: first.bytes }));
} else {
  const runs = Number(process.argv[2] ?? 20);
  const firsts: number[] = [], mores: number[] = [];
  let memory = 0;
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, [import.meta.path, "--child"], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(r.stderr);
    const o = JSON.parse(r.stdout);
    firsts.push(o.first);
    mores.push(...o.more);
    memory = o.memory;
  }
  const med = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
  const f = (a: number[]) => `min ${Math.min(...a).toFixed(2)} / median ${med(a).toFixed(2)} / max ${Math.max(...a).toFixed(2)} ms`;
  console.log(`codec.wasm ${readFileSync(WASM).length} B, ${runs} fresh processes`);
  console.log(`first instance (compile + instantiate + init): ${f(firsts)}`);
  console.log(`each further instance: ${f(mores)} (${mores.length} instances)`);
  console.log(`memory per instance after init: ${memory / 1024} KiB`);
}
