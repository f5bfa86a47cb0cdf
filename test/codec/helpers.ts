// Helpers for the codec tests: building the wasm when it is stale, reading the captured vector
// files (test/codec/capture.py), splitting datagrams into messages, and comparing requests.
import { existsSync, readdirSync, readFileSync, renameSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
export const VECTORS = join(import.meta.dir, "vectors");

/**
 * Compiles codec/*.ts into build/codec.wasm (the asc line of build.ts) when the .wasm is missing or
 * older than a source, so that the tests always run against the current AssemblyScript.
 */
export function ensureWasm(): void {
  const out = join(ROOT, "build", "codec.wasm");
  const srcDir = join(ROOT, "codec");
  const newest = Math.max(...readdirSync(srcDir).filter((f) => f.endsWith(".ts")).map((f) => statSync(join(srcDir, f)).mtimeMs));
  if (existsSync(out) && statSync(out).mtimeMs >= newest) return;
  const tmp = join(ROOT, "build", `codec.wasm.${process.pid}.tmp`);
  const r = Bun.spawnSync(
    [process.execPath, "node_modules/assemblyscript/bin/asc.js", "codec/index.ts", "-o", tmp, "-O3", "--runtime", "stub",
      "--noAssert", "--converge", "--use", "abort="],
    { cwd: ROOT, stdout: "pipe", stderr: "pipe" },
  );
  if (r.exitCode !== 0) throw new Error(`asc failed: ${r.stderr.toString()}`);
  renameSync(tmp, out);
}

export interface Block {
  name: string;
  description: string;
  bytes: Uint8Array;
}

/** Blocks of a vector file (a name in test/codec/vectors, or a path), in file order. */
export function loadVectors(file: string): Block[] {
  const blocks: Block[] = [];
  let cur: { name: string; description: string; hex: string[] } | undefined;
  const flush = () => {
    if (cur) blocks.push({ name: cur.name, description: cur.description, bytes: Uint8Array.from(Buffer.from(cur.hex.join(""), "hex")) });
  };
  for (const raw of readFileSync(resolve(VECTORS, file), "utf8").split("\n")) {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") continue;
    if (line.startsWith("@")) {
      flush();
      const m = /^@\s+(\S+)\s*(.*)$/.exec(line)!;
      cur = { name: m[1], description: m[2], hex: [] };
      continue;
    }
    if (!cur) throw new Error(`${file}: bytes before the first @ block`);
    if (!/^[0-9a-fA-F\s]+$/.test(line)) throw new Error(`${file}: not hex: ${line}`);
    cur.hex.push(line.replace(/\s+/g, ""));
  }
  flush();
  return blocks;
}

export function block(blocks: Block[], name: string): Block {
  const b = blocks.find((x) => x.name === name);
  if (!b) throw new Error(`no vector block ${name}`);
  return b;
}

/** The messages of a datagram (each including its nlmsghdr, without trailing padding). */
export function messages(d: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
  let off = 0;
  while (off + 16 <= d.length) {
    const len = dv.getUint32(off, true);
    if (len < 16 || off + len > d.length) throw new Error(`bad nlmsg_len ${len} at ${off}`);
    out.push(d.subarray(off, off + len));
    off += (len + 3) & ~3;
  }
  return out;
}

export function msgType(m: Uint8Array): number {
  return m[4] | (m[5] << 8);
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

export function ip(s: string): Uint8Array {
  if (s.includes(":")) {
    const [head, tail] = s.split("::");
    const h = head ? head.split(":") : [];
    const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
    const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
    const out = new Uint8Array(16);
    groups.forEach((g, k) => {
      const v = parseInt(g, 16);
      out[2 * k] = v >> 8;
      out[2 * k + 1] = v & 0xff;
    });
    return out;
  }
  return Uint8Array.from(s.split(".").map(Number));
}

// ---- request comparison -----------------------------------------------------------------------

const NESTED_ROUTE = new Set([8]); // RTA_METRICS (RTA_MULTIPATH handled separately)
const NESTED_LINK = new Set([18, 2]); // IFLA_LINKINFO, and IFLA_INFO_DATA inside it

/**
 * A copy of a request with every attribute's padding bytes zeroed (iproute2 leaves whatever was
 * in its buffer there; the kernel ignores padding), walking nested attributes and rtnexthops.
 */
export function zeroPadding(msg: Uint8Array): Uint8Array {
  const m = Uint8Array.from(msg);
  const dv = new DataView(m.buffer);
  const type = msgType(m);
  const fixed = type >= 24 && type <= 26 ? 12 : type >= 20 && type <= 22 ? 8 : 16;
  const route = type >= 24 && type <= 26;
  const walk = (start: number, end: number, nested: Set<number>) => {
    let a = start;
    while (a + 4 <= end) {
      const n = dv.getUint16(a, true);
      const t = dv.getUint16(a + 2, true) & 0x3fff;
      if (n < 4 || a + n > end) return;
      const padEnd = Math.min(end, a + ((n + 3) & ~3));
      m.fill(0, a + n, padEnd);
      if (route && t === 9) {
        let q = a + 4;
        while (q + 8 <= a + n) {
          const l = dv.getUint16(q, true);
          if (l < 8 || q + l > a + n) break;
          walk(q + 8, q + l, nested);
          q += (l + 3) & ~3;
        }
      } else if (nested.has(t)) {
        walk(a + 4, a + n, nested);
      }
      a = padEnd;
    }
  };
  walk(16 + fixed, m.length, route ? NESTED_ROUTE : NESTED_LINK);
  return m;
}

/** The header bytes and the top-level attributes (each with its padding), for order-free comparison. */
export function split(msg: Uint8Array): { head: string; attrs: string[] } {
  const type = msgType(msg);
  const fixed = type >= 24 && type <= 26 ? 12 : type >= 20 && type <= 22 ? 8 : 16;
  const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  const attrs: string[] = [];
  let a = 16 + fixed;
  while (a + 4 <= msg.length) {
    const n = dv.getUint16(a, true);
    const end = Math.min(msg.length, a + ((n + 3) & ~3));
    attrs.push(hex(msg.subarray(a, end)));
    a = end;
  }
  return { head: hex(msg.subarray(0, 16 + fixed)), attrs: attrs.sort() };
}

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
