// src/cni/sysio.ts: the libc file calls that keep node:fs off the ADD/CHECK/DEL path answer what
// node:fs answers, and the embedded codec reaches WebAssembly without node:fs in the executable
// (docs/bun.md §10, README "Start-up budget").
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COMPILE_FLAGS } from "../../build.ts";
import { closeFd, ensureDir, listDir, O_RDONLY, openPath, pathExists, readFd, readText, S_IFDIR, statFd, statPath, unlinkPath, writeFd, writeText } from "../../src/cni/sysio";

const dir = mkdtempSync(join(tmpdir(), "nh-sysio-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("sysio answers what node:fs answers", () => {
  test("stat: file type, device and inode, symlinks followed; undefined where statSync throws", () => {
    writeFileSync(join(dir, "f"), "x");
    symlinkSync("f", join(dir, "l"));
    for (const p of ["/", "/proc/self/ns/net", "/dev/null", join(dir, "f"), join(dir, "l"), dir]) {
      const mine = statPath(p)!;
      const node = statSync(p, { bigint: true });
      expect({ type: mine.type, dev: mine.dev, ino: mine.ino }).toEqual({ type: Number(node.mode) & 0o170000, dev: node.dev, ino: node.ino });
    }
    expect(statPath(join(dir, "missing"))).toBeUndefined();
    expect(statPath(join(dir, "f", "below-a-file"))).toBeUndefined();
    expect(statPath("a\0b")).toBeUndefined();
  });

  test("fstat of an open descriptor is the stat of its file", () => {
    const fd = openPath(join(dir, "f"), O_RDONLY);
    expect(fd).toBeGreaterThanOrEqual(0);
    try {
      expect(statFd(fd)).toEqual(statPath(join(dir, "f")));
    } finally {
      expect(closeFd(fd)).toBe(true);
    }
    expect(closeFd(fd)).toBe(false);
  });

  test("pathExists: true, false for ENOENT and ENOTDIR, as existsSync", () => {
    expect(pathExists(dir)).toBe(true);
    expect(pathExists(join(dir, "missing"))).toBe(false);
    expect(pathExists(join(dir, "f", "x"))).toBe(false);
  });

  test("listDir: readdirSync's names; undefined for a missing path or a file", () => {
    const d = join(dir, "list");
    mkdirSync(d);
    for (const n of ["a.json", "b", ".hidden"]) writeFileSync(join(d, n), "");
    expect(listDir(d)!.sort()).toEqual(readdirSync(d).sort());
    expect(listDir("/proc/self")!.sort()).toEqual(readdirSync("/proc/self").sort());
    expect(listDir(join(dir, "missing"))).toBeUndefined();
    expect(listDir(join(d, "b"))).toBeUndefined();
  });

  test("readText / writeText: whole files as UTF-8, writeFileSync's truncation; false/undefined on failure", () => {
    const p = join(dir, "t");
    expect(writeText(p, "longer text ✓")).toBe(true);
    expect(writeText(p, "short ✓")).toBe(true);
    expect(readFileSync(p, "utf8")).toBe("short ✓");
    expect(readText(p)).toBe("short ✓");
    expect(readText("/proc/sys/kernel/random/boot_id")).toBe(readFileSync("/proc/sys/kernel/random/boot_id", "utf8"));
    expect(readText(join(dir, "missing"))).toBeUndefined();
    expect(readText(dir)).toBeUndefined(); // EISDIR on read
    expect(writeText(join(dir, "missing", "x"), "v")).toBe(false);
  });

  test("ensureDir: made, or a directory already there; false for a file in the way", () => {
    const d = join(dir, "made");
    expect(ensureDir(d, 0o700)).toBe(true);
    expect(statPath(d)!.type).toBe(S_IFDIR);
    expect(statSync(d).mode & 0o777).toBe(0o700 & ~process.umask());
    expect(ensureDir(d, 0o700)).toBe(true);
    expect(ensureDir(join(dir, "f"), 0o700)).toBe(false);
    expect(ensureDir(join(dir, "missing", "x"), 0o700)).toBe(false);
  });

  test("unlinkPath removes a file; false when there is none", () => {
    const p = join(dir, "u");
    writeFileSync(p, "");
    expect(unlinkPath(p)).toBe(true);
    expect(pathExists(p)).toBe(false);
    expect(unlinkPath(p)).toBe(false);
  });

  test("readFd / writeFd through a pipe: all bytes, then end of file", () => {
    const r = spawnSync(process.execPath, ["-e", `
      const { readFd, writeFd } = require(${JSON.stringify(join(import.meta.dir, "../../src/cni/sysio.ts"))});
      const buf = new Uint8Array(7); const got = [];
      for (;;) { const n = readFd(0, buf); if (n === 0) break; got.push(Buffer.from(buf.subarray(0, n))); }
      const data = Buffer.concat(got); if (writeFd(1, data) !== data.length) process.exit(3);`], { input: "x".repeat(100_000) + "✓" });
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toBe("x".repeat(100_000) + "✓");
  });
});

describe("the codec's wasm in the executable", () => {
  test("Bun.peek(Bun.file(embedded).bytes()) hands over the embedded bytes synchronously", () => {
    const wasm = join(import.meta.dir, "../../build/codec.wasm");
    const src = join(dir, "peek.ts");
    writeFileSync(src, `import p from ${JSON.stringify(wasm)} with { type: "file" };\n` +
      `const v = Bun.peek(Bun.file(p).bytes());\n` +
      `if (!(v instanceof Uint8Array) || !p.startsWith("/$bunfs/")) process.exit(2);\n` +
      `process.stdout.write(Buffer.from(v).toString("hex"));\n`);
    const exe = join(dir, "peek");
    const b = spawnSync(process.execPath, ["build", src, ...COMPILE_FLAGS, "--outfile", exe]);
    expect(b.status).toBe(0);
    const r = spawnSync(exe, [], { env: { PATH: "/usr/bin:/bin" } });
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toBe(readFileSync(wasm).toString("hex"));
  });
});
