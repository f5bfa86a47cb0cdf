// The built executable (dist/nexthop), run the way a runtime runs it: alone in a directory,
// under a plugin name, with a bare environment. Only behaviour skel has before dispatching to a
// plugin is exercised here, so no network is touched. Builds dist/nexthop first when it is
// missing or older than the sources; every test fails when that build fails.
import { beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const repo = join(import.meta.dir, "../..");
const binary = join(repo, "dist/nexthop");
const bun = process.execPath;
const version: string = (await Bun.file(join(repo, "package.json")).json()).version;

function newestSource(): number {
  let newest = 0;
  const walk = (p: string) => {
    const st = statSync(p);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    else newest = Math.max(newest, st.mtimeMs);
  };
  for (const p of ["src", "codec", "build.ts", "package.json"]) if (existsSync(join(repo, p))) walk(join(repo, p));
  return newest;
}

let buildError = "";

/** dist/nexthop up to date (bun build.ts); otherwise why it could not be built. */
function ensureBinary(): void {
  if (existsSync(binary) && statSync(binary).mtimeMs >= newestSource()) return;
  const r = Bun.spawnSync([bun, "build.ts"], { cwd: repo, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) buildError = `bun build.ts exited ${r.exitCode}:\n${r.stdout}\n${r.stderr}`;
  else if (!existsSync(binary)) buildError = "bun build.ts succeeded but dist/nexthop is missing";
}

beforeAll(() => {
  mkdirSync(join(repo, "dist"), { recursive: true });
  ensureBinary();
});

/** A fresh directory holding only the executable, and `static` as a symlink to it. */
function aloneDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "nh-exec-"));
  copyFileSync(binary, join(dir, "nexthop"));
  symlinkSync("nexthop", join(dir, "static"));
  return dir;
}

interface Run {
  stdout: string;
  stderr: string;
  exitCode: number;
}

function run(path: string, env: Record<string, string>, stdin: string | Uint8Array = "", cwd?: string, argv: string[] = []): Run {
  const r = Bun.spawnSync([path, ...argv], { env, cwd, stdin: typeof stdin === "string" ? Buffer.from(stdin) : stdin, stdout: "pipe", stderr: "pipe" });
  return { stdout: r.stdout.toString(), stderr: r.stderr.toString(), exitCode: r.exitCode ?? -1 };
}

/** A test of the executable: it fails (never passes silently) when dist/nexthop could not be built. */
const it = (name: string, fn: () => void) =>
  test(name, () => {
    if (buildError) throw new Error(`dist/nexthop could not be built:\n${buildError}`);
    fn();
  });

const VERSION_OUT = '{"cniVersion":"1.1.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}\n';

describe("dist/nexthop as a plugin", () => {
  it("answers VERSION when copied alone into an empty directory and run through a symlink named static", () => {
    const dir = aloneDir();
    try {
      expect(readdirSync(dir).sort()).toEqual(["nexthop", "static"]);
      const r = run(join(dir, "static"), { CNI_COMMAND: "VERSION" }, "ignored", dir);
      expect(r).toEqual({ stdout: VERSION_OUT, stderr: "", exitCode: 0 });
      // a hard link carries the name the same way
      linkSync(join(dir, "nexthop"), join(dir, "macvlan"));
      expect(run(join(dir, "macvlan"), { CNI_COMMAND: "VERSION" }, "", dir).stdout).toBe(VERSION_OUT);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("ignores .env and bunfig.toml in its working directory", () => {
    const dir = aloneDir();
    try {
      writeFileSync(join(dir, ".env"), "CNI_COMMAND=DEL\nCNI_PATH=/evil\n");
      writeFileSync(join(dir, "bunfig.toml"), 'preload = ["./evil.ts"]\n');
      writeFileSync(join(dir, "evil.ts"), `require("fs").writeFileSync(${JSON.stringify(join(dir, "pwned"))}, "x");\n`);
      const r = run(join(dir, "static"), {}, "", dir);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(
        `CNI static plugin v${version} (nexthop)\nCNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0\n`,
      );
      expect(existsSync(join(dir, "pwned"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const env = { CNI_COMMAND: "ADD", CNI_CONTAINERID: "ctr-1", CNI_NETNS: "/var/run/netns/nh-none", CNI_IFNAME: "eth0", CNI_PATH: "/nonexistent" };
  const conf = (v = "1.0.0") => JSON.stringify({ cniVersion: v, name: "net", type: "static", ipam: { type: "static" } });
  const cases: { what: string; env: Record<string, string>; stdin: string | Uint8Array; code: number; msg: RegExp; details?: RegExp }[] = [
    { what: "malformed JSON", env, stdin: '{"cniVersion": "1.0.0", "name": ', code: 6, msg: /^error unmarshall network config: unexpected end of JSON input$/ },
    { what: "a missing variable", env: { ...env, CNI_NETNS: "" }, stdin: conf(), code: 4, msg: /^required env variables \[CNI_NETNS\] missing$/ },
    { what: "several missing variables", env: { CNI_COMMAND: "DEL" }, stdin: conf(), code: 4, msg: /\[CNI_CONTAINERID,CNI_IFNAME,CNI_PATH\]/ },
    { what: "a bad container id", env: { ...env, CNI_CONTAINERID: "../etc" }, stdin: conf(), code: 4, msg: /^invalid characters in containerID$/, details: /^\.\.\/etc$/ },
    { what: "a bad interface name", env: { ...env, CNI_IFNAME: "eth0:1" }, stdin: conf(), code: 4, msg: /^interface name contains \/ or : or whitespace characters$/ },
    { what: "a too long interface name", env: { ...env, CNI_IFNAME: "x".repeat(16) }, stdin: conf(), code: 4, msg: /^interface name is too long$/, details: /^interface name should be less than 16 characters$/ },
    { what: "an unsupported cniVersion", env, stdin: conf("9.9.9"), code: 1, msg: /^incompatible CNI versions$/, details: /config is "9\.9\.9"/ },
    { what: "an unknown command", env: { ...env, CNI_COMMAND: "REMOVE" }, stdin: conf(), code: 4, msg: /^unknown CNI_COMMAND: REMOVE$/ },
    { what: "a missing network name", env, stdin: '{"cniVersion":"1.0.0"}', code: 7, msg: /^missing network name$/ },
    { what: "oversized stdin", env, stdin: conf().slice(0, -1) + `,"pad":"${"x".repeat(2 << 20)}"}`, code: 7, msg: /too large: more than 1048576 bytes/ },
    { what: "CHECK on 0.3.1", env: { ...env, CNI_COMMAND: "CHECK" }, stdin: conf("0.3.1"), code: 1, msg: /^config version does not allow CHECK$/ },
  ];
  for (const c of cases) {
    it(`${c.what}: code ${c.code}, a CNI error object on stdout, exit 1, no stack trace`, () => {
      const dir = aloneDir();
      try {
        const r = run(join(dir, "static"), c.env, c.stdin, dir);
        expect(r.exitCode).toBe(1);
        expect(r.stdout).not.toMatch(/\n\s+at /);
        expect(r.stdout).toStartWith('{\n    "code": ');
        expect(r.stdout.endsWith("\n")).toBe(false);
        const obj = JSON.parse(r.stdout);
        expect(Object.keys(obj)).toEqual(c.details ? ["code", "msg", "details"] : ["code", "msg"]);
        expect(obj.code).toBe(c.code);
        expect(obj.msg).toMatch(c.msg);
        if (c.details) expect(obj.details).toMatch(c.details);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it("under its own name with CNI_COMMAND set: a CNI error (code 50) naming the plugin names", () => {
    const r = run(binary, { CNI_COMMAND: "ADD" });
    expect(r.exitCode).toBe(1);
    const obj = JSON.parse(r.stdout);
    expect(obj.code).toBe(50);
    expect(obj.msg).toContain("static, macvlan, ipvlan, vrf");
  });
});

describe("dist/nexthop as a command", () => {
  it("--version and --help print on stdout and exit 0", () => {
    const v = run(binary, {}, "", undefined, ["--version"]);
    expect(v.exitCode).toBe(0);
    expect(v.stdout).toStartWith(`nexthop ${version}\n`);
    const h = run(binary, {}, "", undefined, ["--help"]);
    expect(h.exitCode).toBe(0);
    expect(h.stdout).toContain("nexthop install --dir DIR [--force]");
    expect(run(binary, {}, "", undefined, ["bogus"]).exitCode).toBe(2);
  });

  it("install --dir: the executable plus relative symlinks; idempotent; the installed names work", () => {
    const root = mkdtempSync(join(tmpdir(), "nh-install-"));
    const dir = join(root, "opt/cni/bin");
    mkdirSync(dir, { recursive: true }); // install needs DIR to exist (test/release/install.test.ts)
    try {
      const first = run(binary, {}, "", undefined, ["install", "--dir", dir]);
      expect(first.exitCode).toBe(0);
      expect(first.stdout).toContain(`installed ${join(dir, "nexthop")}`);
      const ino = statSync(join(dir, "nexthop")).ino;
      expect(statSync(join(dir, "nexthop")).mode & 0o777).toBe(0o755);
      for (const n of ["static", "macvlan", "ipvlan", "vrf"]) {
        expect(lstatSync(join(dir, n)).isSymbolicLink()).toBe(true);
        expect(readlinkSync(join(dir, n))).toBe("nexthop");
      }
      const second = run(binary, {}, "", undefined, ["install", "--dir", dir]);
      expect(second.exitCode).toBe(0);
      expect(second.stdout.trim().split("\n").every((l) => l.startsWith("unchanged "))).toBe(true);
      expect(statSync(join(dir, "nexthop")).ino).toBe(ino);
      expect(readdirSync(dir).sort()).toEqual(["ipvlan", "macvlan", "nexthop", "static", "vrf"]);
      // the installed copy installs over itself as a no-op too
      expect(run(join(dir, "nexthop"), {}, "", undefined, ["install", "--dir", dir]).exitCode).toBe(0);
      expect(run(join(dir, "static"), { CNI_COMMAND: "VERSION" }).stdout).toBe(VERSION_OUT);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("install refuses to overwrite a foreign file without --force, and changes nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "nh-install-"));
    try {
      const upstream = "#!/bin/sh\necho upstream static\n";
      writeFileSync(join(dir, "static"), upstream);
      const r = run(binary, {}, "", undefined, ["install", "--dir", dir]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(`refusing to overwrite ${join(dir, "static")}`);
      expect(r.stderr).toContain("--force");
      expect(readFileSync(join(dir, "static"), "utf8")).toBe(upstream);
      expect(readdirSync(dir)).toEqual(["static"]);

      const forced = run(binary, {}, "", undefined, ["install", "--dir", dir, "--force"]);
      expect(forced.exitCode).toBe(0);
      expect(forced.stdout).toContain(`replaced ${join(dir, "static")} -> nexthop`);
      expect(readlinkSync(join(dir, "static"))).toBe("nexthop");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("install treats a different nexthop file or a foreign symlink as foreign; a copy of itself as its own", () => {
    const dir = mkdtempSync(join(tmpdir(), "nh-install-"));
    try {
      writeFileSync(join(dir, "nexthop"), "not this executable");
      expect(run(binary, {}, "", undefined, ["install", "--dir", dir]).stderr).toContain(`refusing to overwrite ${join(dir, "nexthop")}`);
      rmSync(join(dir, "nexthop"));
      symlinkSync("/bin/true", join(dir, "vrf"));
      expect(run(binary, {}, "", undefined, ["install", "--dir", dir]).stderr).toContain(`refusing to overwrite ${join(dir, "vrf")}`);
      rmSync(join(dir, "vrf"));
      copyFileSync(binary, join(dir, "macvlan")); // an old-style copy of this executable
      const r = run(binary, {}, "", undefined, ["install", "--dir", dir]);
      expect(r.exitCode).toBe(0);
      expect(readlinkSync(join(dir, "macvlan"))).toBe("nexthop");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
