// Builds dist/nexthop: the AssemblyScript codec to build/codec.wasm, then one Bun executable
// with the wasm embedded. Run with `bun build.ts`.
//
// `bun build.ts --release` (npm run release) also builds one executable per released platform
// from the Bun runtimes in test/release/node_modules (npm packages, installed by `npm ci`; see
// docs/release.md), packs each as dist/release/nexthop-<version>-linux-<arch>.tgz and writes
// dist/release/SHA256SUMS. Nothing is downloaded. With `--image` it also builds the installer
// image for the DaemonSet (deploy/) as an OCI archive beside them. `--compare-x64` builds the x64
// executable from both x64 runtimes and times their start-up side by side.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = import.meta.dir;

function run(cmd: string[], cwd = root): void {
  const r = spawnSync(cmd[0], cmd.slice(1), { cwd, stdio: "inherit" });
  if (r.status !== 0) throw new Error(`build step failed (${r.status ?? r.signal}): ${cmd.join(" ")}`);
}

// The flags of every executable, the host build and the release builds alike.
// .env / bunfig.toml autoload disabled: a file in the runtime's cwd must never change behaviour.
// --format=cjs: the bundler then loads each builtin (node:fs, bun:ffi, …) where the module that
// imports it is first evaluated, not all of them before the entry runs as ESM output does, so a
// command loads only what its own path imports (README "Start-up budget"). CommonJS output has no
// top-level await; the entry is synchronous.
export const COMPILE_FLAGS = [
  "--compile", "--minify", "--sourcemap", "--bytecode",
  "--format=cjs", "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig",
  // Code generation from strings refused (strict): a `--preload`/`--require`/`--import` smuggled
  // in through BUN_OPTIONS is refused by Bun before the entry point runs (docs/reliability.md).
  "--compile-exec-argv=--disallow-code-generation-from-strings=strict",
  // JIT tier-up thresholds ×8: a command runs for tens of milliseconds, too short for optimised
  // code to pay back its compilation. Measured with macvlan+static ADD/CHECK/DEL on the 2-vCPU
  // machine (README "Start-up budget", same run, medians of 12 cycles): ADD CPU 129.7 → 107.6 ms,
  // CHECK 122.2 → 96.3 ms, peak RSS of ADD 50.1 → 46.9 MiB; VERSION unchanged. 64 and 1000 gave
  // the same CPU and 1 MiB less, but were not checked against large-table dumps, so 8.
  // Measured and not kept: --bytecode-depth=1/2 (ADD CPU +11 % / ±0, VERSION within noise),
  // --bytecode-order (no order file from the two-module executable's ADD: README "Start-up
  // budget"). All on a 2-vCPU machine shared with other jobs: CPU figures, not wall.
  "--compile-jit-policy=8",
];

/**
 * Compiles the executable to `outfile`; `extra` selects a target runtime for release builds.
 * Two entry points: src/entry.ts runs first and answers VERSION; src/main.ts, everything else, is a
 * module of its own in the executable that entry.ts loads only for the other commands.
 */
function compile(outfile: string, extra: string[] = []): void {
  run([process.execPath, "build", "src/entry.ts", "src/main.ts", ...COMPILE_FLAGS, ...extra, "--outfile", outfile]);
}

if (import.meta.main) {
  mkdirSync(`${root}/build`, { recursive: true });
  mkdirSync(`${root}/dist`, { recursive: true });

  // -O3 with the stub runtime and `--use abort=` gives a module with no imports at all.
  run([
    process.execPath, "node_modules/assemblyscript/bin/asc.js", "codec/index.ts",
    "-o", "build/codec.wasm", "-O3", "--runtime", "stub", "--noAssert", "--converge", "--use", "abort=",
  ]);

  compile("dist/nexthop");
}

// ------------------------------------------------------------------------------------------------
// release

interface ReleaseTarget {
  /** The artifact's platform name: nexthop-<version>-<platform>.tgz. */
  platform: string;
  /** bun build --target. */
  target: string;
  /** The npm package whose bin/bun is the runtime embedded in the executable. */
  runtime: string;
  /** OCI architecture of the installer image built with --image (built only where ldd can list the libraries). */
  image?: string;
}

// The x64 artifact is built on the baseline runtime (no AVX2 needed); `--compare-x64` shows
// what the default runtime would change (docs/release.md has the figure and the choice).
// musl is not released: docs/release.md says why.
const RELEASE_TARGETS: readonly ReleaseTarget[] = [
  { platform: "linux-x64", target: "bun-linux-x64-baseline", runtime: "@oven/bun-linux-x64-baseline", image: "amd64" },
  { platform: "linux-arm64", target: "bun-linux-arm64", runtime: "@oven/bun-linux-aarch64" },
];
const RUNTIMES_DIR = `${root}/test/release/node_modules`;
const RELEASE_DIR = `${root}/dist/release`;

function runtimePath(pkg: string): string {
  const p = join(RUNTIMES_DIR, pkg, "bin", "bun");
  if (!existsSync(p)) {
    throw new Error(
      `the Bun runtime ${p} is missing: \`npm ci\` installs it (its postinstall runs ` +
        "`npm ci --prefix test/release --force`); run that command, then `npm run release` again",
    );
  }
  return p;
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** The archive timestamp: SOURCE_DATE_EPOCH, else the last commit's time, so a rebuild packs the same bytes. */
function sourceDateEpoch(): string {
  if (process.env.SOURCE_DATE_EPOCH) return process.env.SOURCE_DATE_EPOCH;
  const r = spawnSync("git", ["log", "-1", "--format=%ct"], { cwd: root, encoding: "utf8" });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : "0";
}

function release(withImage: boolean): void {
  const version: string = JSON.parse(readFileSync(`${root}/package.json`, "utf8")).version;
  const runtimes = RELEASE_TARGETS.map((t) => runtimePath(t.runtime)); // all present before any work
  rmSync(RELEASE_DIR, { recursive: true, force: true });
  mkdirSync(RELEASE_DIR, { recursive: true });
  const epoch = sourceDateEpoch();
  const sums: string[] = [];
  const rows: string[] = [];
  RELEASE_TARGETS.forEach((t, i) => {
    const name = `nexthop-${version}-${t.platform}`;
    const stage = join(RELEASE_DIR, name);
    mkdirSync(stage);
    try {
      compile(join(stage, "nexthop"), [`--target=${t.target}`, `--compile-executable-path=${runtimes[i]}`]);
      // the source maps are embedded in the executable; the copies written beside it are not shipped
      for (const map of ["nexthop.map", "main.js.map"]) rmSync(join(stage, map), { force: true });
      copyFileSync(`${root}/LICENSE`, join(stage, "LICENSE"));
      copyFileSync(`${root}/README.md`, join(stage, "README.md"));
      const tgz = `${name}.tgz`;
      // GNU tar piped to gzip -n: fixed owner, order and times, so the archive is reproducible.
      run(["sh", "-c", `tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@${epoch} ` +
        `-cf - ${name} | gzip -n > ${tgz}`], RELEASE_DIR);
      sums.push(`${sha256(join(RELEASE_DIR, tgz))}  ${tgz}`);
      rows.push(`${tgz}: executable ${statSync(join(stage, "nexthop")).size} B, archive ${statSync(join(RELEASE_DIR, tgz)).size} B`);
      if (withImage && t.image) {
        const oci = `${name}.oci.tar`;
        image(join(stage, "nexthop"), t.image, join(RELEASE_DIR, oci), version);
        sums.push(`${sha256(join(RELEASE_DIR, oci))}  ${oci}`);
        rows.push(`${oci}: OCI image archive ${statSync(join(RELEASE_DIR, oci)).size} B`);
      }
    } finally {
      rmSync(stage, { recursive: true, force: true });
    }
  });
  writeFileSync(join(RELEASE_DIR, "SHA256SUMS"), sums.join("\n") + "\n");
  console.log(["release: dist/release/", ...rows.map((r) => `  ${r}`), "  SHA256SUMS"].join("\n"));
}

/**
 * The DaemonSet installer image (deploy/): FROM scratch, holding only /nexthop and the dynamic
 * loader and libraries `ldd` lists for it (no shell), entrypoint `/nexthop install --dir
 * /host/opt/cni/bin`. Committed straight to an oci-archive file with buildah, so nothing is left
 * in the local image store. Needs root and buildah (Debian's package; .ci/run installs it).
 */
function image(exe: string, arch: string, out: string, version: string): void {
  if (process.arch !== (arch === "amd64" ? "x64" : arch)) throw new Error(`--image: ldd can list the libraries of ${arch} executables only on ${arch}`);
  const ldd = spawnSync("ldd", [exe], { encoding: "utf8" });
  if (ldd.status !== 0) throw new Error(`ldd ${exe} failed: ${ldd.stderr}`);
  const libs = [...ldd.stdout.matchAll(/(?:^|\s)(\/\S+)/g)].map((m) => m[1]);
  if (!libs.some((l) => /\/ld-linux[^/]*\.so/.test(l))) throw new Error(`ldd ${exe} names no dynamic loader:\n${ldd.stdout}`);
  const from = spawnSync("buildah", ["from", "scratch"], { encoding: "utf8" });
  if (from.status !== 0) throw new Error(`buildah from scratch failed: ${from.stderr}`);
  const ctr = from.stdout.trim();
  let committed = false;
  try {
    run(["buildah", "copy", "--quiet", "--chmod", "0755", ctr, exe, "/nexthop"]);
    for (const lib of libs) run(["buildah", "copy", "--quiet", ctr, realpathSync(lib), lib]);
    run(["buildah", "config", "--os", "linux", "--arch", arch,
      "--entrypoint", JSON.stringify(["/nexthop", "install", "--dir", "/host/opt/cni/bin"]), "--cmd", "",
      "--label", `org.opencontainers.image.version=${version}`,
      "--label", "org.opencontainers.image.title=nexthop CNI plugins installer",
      "--label", "org.opencontainers.image.licenses=Apache-2.0", ctr]);
    rmSync(out, { force: true });
    run(["buildah", "commit", "--quiet", "--rm", "--format", "oci", ctr, `oci-archive:${out}:nexthop:${version}`]);
    committed = true;
  } finally {
    if (!committed) spawnSync("buildah", ["rm", ctr], { stdio: "ignore" });
  }
}

/** Median whole-process wall time of `nexthop --version`, alternating between the executables. */
function compareX64(): void {
  const dir = join(RELEASE_DIR, "compare-x64");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    const builds = [
      { name: "default (@oven/bun-linux-x64)", target: "bun-linux-x64", runtime: "@oven/bun-linux-x64" },
      { name: "baseline (@oven/bun-linux-x64-baseline)", target: "bun-linux-x64-baseline", runtime: "@oven/bun-linux-x64-baseline" },
    ].map((b, i) => {
      const exe = join(dir, `nexthop-${i}`);
      compile(exe, [`--target=${b.target}`, `--compile-executable-path=${runtimePath(b.runtime)}`]);
      rmSync(`${exe}.map`, { force: true });
      return { ...b, exe, sha: sha256(exe), runtimeSha: sha256(runtimePath(b.runtime)), times: [] as number[] };
    });
    const runs = 40;
    for (let i = 0; i < runs + 5; i++) {
      for (const b of i % 2 ? builds : [...builds].reverse()) {
        const t0 = process.hrtime.bigint();
        const r = spawnSync(b.exe, ["--version"], { stdio: "ignore" });
        const t = Number(process.hrtime.bigint() - t0) / 1e6;
        if (r.status !== 0) throw new Error(`${b.exe} --version exited ${r.status ?? r.signal}`);
        if (i >= 5) b.times.push(t); // 5 warm-up rounds
      }
    }
    const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
    for (const b of builds) {
      console.log(`${b.name}: median ${median(b.times).toFixed(2)} ms over ${runs} runs; runtime sha256 ${b.runtimeSha.slice(0, 16)}…, executable sha256 ${b.sha.slice(0, 16)}…`);
    }
    console.log(`baseline/default start-up ratio: ${(median(builds[1].times) / median(builds[0].times)).toFixed(3)}` +
      (builds[0].sha === builds[1].sha ? " (the two executables are byte-identical)" : ""));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main && process.argv.includes("--release")) {
  release(process.argv.includes("--image"));
  if (process.argv.includes("--compare-x64")) compareX64();
}
