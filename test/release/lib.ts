// Shared by the release tests: where `npm run release` (bun build.ts --release --image) puts the
// artifacts, and small helpers to unpack and run them. test/run.sh builds them before the host
// suites; run `npm run release -- --image` first when running one of these files alone.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sh } from "../lib/netns";

export const repo = join(import.meta.dir, "../..");
export const releaseDir = join(repo, "dist/release");
export const version: string = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")).version;
export const platforms = ["linux-x64", "linux-arm64"] as const;
export const tarball = (platform: string) => join(releaseDir, `nexthop-${version}-${platform}.tgz`);
export const imageArchive = join(releaseDir, `nexthop-${version}-linux-x64.oci.tar`);

/** Throws a message saying how to build the artifacts when one is missing. */
export function requireArtifacts(): void {
  for (const f of [...platforms.map(tarball), imageArchive, join(releaseDir, "SHA256SUMS")]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run release -- --image\` (test/run.sh does) first`);
  }
}

/** Unpacks a release tarball into a fresh temp dir; returns the executable's path and a remover. */
export function unpack(platform: string): { dir: string; exe: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), "nh-release-"));
  try {
    sh(["tar", "-xzf", tarball(platform), "-C", dir]);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return { dir, exe: join(dir, `nexthop-${version}-${platform}`, "nexthop"), dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string[], opts: { env?: Record<string, string>; stdin?: string; cwd?: string } = {}): Run {
  const r = Bun.spawnSync(cmd, {
    env: opts.env ?? { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
    stdin: opts.stdin === undefined ? "ignore" : Buffer.from(opts.stdin),
    stdout: "pipe",
    stderr: "pipe",
    cwd: opts.cwd,
  });
  return { exitCode: r.exitCode ?? 128, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** ELF e_machine of a file: 62 x86-64, 183 AArch64. */
export function elfMachine(path: string): number {
  const b = readFileSync(path).subarray(0, 20);
  if (b.toString("latin1", 0, 4) !== "\x7fELF") throw new Error(`${path} is not an ELF file`);
  return b.readUInt16LE(18);
}

/** The VERSION answer every nexthop build gives (checked against dist/nexthop by the tests). */
export const VERSION_STDIN = JSON.stringify({ cniVersion: "1.1.0" });
