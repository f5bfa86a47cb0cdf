// The import graph only looks down: main (and guard, its start-up environment check) -> plugins ->
// ipam / net -> cni (the protocol library) / netlink -> ip -> codec. Every static import, re-export, require() and import() of a source file
// is checked against the layer table below; an import that runs back up (cni importing ipam or
// the plugin registry, netlink importing net, the codec importing TypeScript outside codec/, ...)
// fails this test with the file and the line.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = join(import.meta.dir, "..");

/** A source file's layer: its folder under src/ (or src/ip.ts, src/guard.ts, src/main.ts, src/entry.ts), or codec. */
function layerOf(file: string): string {
  const rel = relative(ROOT, file);
  if (rel.startsWith("codec/")) return "codec";
  if (rel === "src/main.ts") return "main";
  if (rel === "src/entry.ts") return "entry";
  if (rel === "src/ip.ts") return "ip";
  if (rel === "src/guard.ts") return "guard";
  const m = /^src\/([^/]+)\//.exec(rel);
  if (m) return m[1];
  return "outside";
}

/** What each layer may import besides itself ("outside" = package.json, build/codec.wasm). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  entry: ["main", "plugins", "cni", "guard"],
  main: ["plugins", "cni", "guard", "outside"],
  plugins: ["ipam", "net", "cni", "netlink", "ip"],
  ipam: ["cni", "ip"],
  net: ["cni", "netlink", "ip"],
  cni: ["ip", "outside"],
  netlink: ["ip", "codec", "outside"],
  ip: [],
  guard: [],
  codec: [],
};

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (p.endsWith(".ts") && !p.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

interface Edge {
  from: string;
  line: number;
  to: string;
}

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)["']([^"']+)["']/gm;

function edges(file: string): Edge[] {
  const text = readFileSync(file, "utf8");
  const out: Edge[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1];
    if (!spec.startsWith(".")) continue; // packages and node:/bun: builtins
    const line = text.slice(0, m.index).split("\n").length;
    const to = resolve(dirname(file), spec);
    out.push({ from: file, line, to: /\.[a-z]+$/.test(to) ? to : `${to}.ts` });
  }
  return out;
}

const files = [...sources(join(ROOT, "src")), ...sources(join(ROOT, "codec"))];

/**
 * The pure modules: the planner (src/net/plan.ts) and what it is built from. They compute and
 * never reach the kernel or the filesystem, so they may import only each other (types included:
 * a type import still ties the module to one that writes) and the packages listed here.
 */
const PURE = ["src/net/plan.ts", "src/net/state.ts", "src/net/nexthops.ts", "src/netlink/key.ts", "src/netlink/constants.ts", "src/ip.ts", "src/cni/errors.ts", "src/cni/types.ts", "src/cni/route-rules.ts"];
const PURE_PACKAGES = ["ip-address", "ip-address/dist/ipv4", "ip-address/dist/ipv6"];

/** Every import of `file` that a pure module may not have, as "file:line: spec". */
function impureImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const bad: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1];
    const line = text.slice(0, m.index).split("\n").length;
    if (spec.startsWith(".")) {
      const to = resolve(dirname(file), spec);
      const rel = relative(ROOT, /\.[a-z]+$/.test(to) ? to : `${to}.ts`);
      if (PURE.includes(rel)) continue;
    } else if (PURE_PACKAGES.includes(spec)) {
      continue;
    }
    bad.push(`${relative(ROOT, file)}:${line}: ${spec}`);
  }
  return bad;
}

describe("layers", () => {
  test("every source file belongs to a known layer", () => {
    const unknown = files.filter((f) => !(layerOf(f) in MAY_IMPORT)).map((f) => relative(ROOT, f));
    expect(unknown).toEqual([]);
  });

  test("the import finder sees every kind of import", () => {
    const probe = [
      'import { a } from "./x";',
      'export { b } from "../y.ts";',
      'import type { C } from "./z";',
      'const d = require("./lazy.ts").default;',
      'const e = await import("../dyn");',
      'import "./side-effect";',
      'import pkg from "zod";',
    ].join("\n");
    expect([...probe.matchAll(IMPORT)].map((m) => m[1])).toEqual(["./x", "../y.ts", "./z", "./lazy.ts", "../dyn", "./side-effect", "zod"]);
  });

  test("no import runs back up", () => {
    const bad: string[] = [];
    let checked = 0;
    for (const f of files) {
      const from = layerOf(f);
      for (const e of edges(f)) {
        checked++;
        const to = layerOf(e.to);
        if (to === from || MAY_IMPORT[from]?.includes(to)) continue;
        bad.push(`${relative(ROOT, e.from)}:${e.line}: ${from} imports ${to} (${relative(ROOT, e.to)})`);
      }
    }
    expect(bad).toEqual([]);
    const missing = files.flatMap(edges).filter((e) => layerOf(e.to) !== "outside" && !existsSync(e.to));
    expect(missing.map((e) => `${relative(ROOT, e.from)}:${e.line}`)).toEqual([]);
    expect(checked).toBeGreaterThan(100);
  });

  test("the pure modules import only pure modules", () => {
    for (const f of PURE) expect(existsSync(join(ROOT, f))).toBe(true);
    expect(PURE.flatMap((f) => impureImports(join(ROOT, f)))).toEqual([]);
  });

  test("an impure import of a pure module is caught", () => {
    // routes.ts writes routes, sysctl.ts writes /proc/sys; node:fs is the filesystem.
    expect(impureImports(join(ROOT, "src/net/routes.ts")).some((b) => b.endsWith(": ../netlink/route"))).toBe(true);
    expect(impureImports(join(ROOT, "src/net/sysctl.ts"))).toEqual(["src/net/sysctl.ts:3: node:fs"]);
  });

  test("a back-up import is caught", () => {
    // cni importing the registry is exactly what the table forbids.
    expect(MAY_IMPORT.cni.includes(layerOf(join(ROOT, "src/plugins/registry.ts")))).toBe(false);
    expect(MAY_IMPORT.netlink.includes(layerOf(join(ROOT, "src/net/plan.ts")))).toBe(false);
    expect(MAY_IMPORT.codec.includes(layerOf(join(ROOT, "src/netlink/codec.ts")))).toBe(false);
  });
});
