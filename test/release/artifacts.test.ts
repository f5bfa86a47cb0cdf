// The release artifacts of `npm run release` (dist/release): checksums and their documented
// verification, the archives' contents, and each executable run where a node runs it:
//  - linux-x64 in a chroot that holds only the executable, the dynamic loader and the libraries
//    `ldd` lists (no shell, no iproute2), with /proc and /sys mounted and the pod netns
//    bind-mounted: install, VERSION, and a macvlan+static multipath ADD/CHECK/DEL, the kernel
//    state read from outside the chroot;
//  - linux-x64 on an emulated CPU without AVX/AVX2 (qemu-x86_64 -cpu Nehalem);
//  - linux-arm64 under qemu user-mode emulation with Debian's arm64 libc (libc6-arm64-cross).
// Under qemu the plugin name is given as argv[0] with -0, as a runtime's exec of the link does.
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pluginDir } from "../lib/cni";
import { createNetns, defaultRoutes, ipJson, linkNames, sh, type Netns } from "../lib/netns";
import { elfMachine, platforms, releaseDir, requireArtifacts, run, tarball, unpack, version, VERSION_STDIN } from "./lib";

/** What dist/nexthop, run as `static`, answers to VERSION: every build must answer the same. */
function hostVersion() {
  const bin = pluginDir();
  try {
    const r = run([join(bin.dir, "static")], { env: { CNI_COMMAND: "VERSION" }, stdin: VERSION_STDIN });
    expect(r.stdout).toStartWith(`{"cniVersion":"1.1.0","supportedVersions":[`);
    return r;
  } finally {
    bin.dispose();
  }
}
beforeAll(requireArtifacts);

describe("release archives", () => {
  test("SHA256SUMS lists every artifact and `sha256sum -c` (the README's verification) accepts them", () => {
    const sums = readFileSync(join(releaseDir, "SHA256SUMS"), "utf8").trim().split("\n").map((l) => l.split(/  /)[1]).sort();
    expect(sums).toEqual(readdirSync(releaseDir).filter((f) => f !== "SHA256SUMS").sort());
    expect(sums).toEqual([...platforms.map((p) => `nexthop-${version}-${p}.tgz`), `nexthop-${version}-linux-x64.oci.tar`].sort());
    const r = run(["sha256sum", "--check", "--strict", "SHA256SUMS"], { cwd: releaseDir });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim().split("\n").sort()).toEqual(sums.map((f) => `${f}: OK`));
  });

  test("a tarball whose bytes changed is caught by the same step (exit 1, FAILED)", () => {
    const dir = mkdtempSync(join(tmpdir(), "nh-sums-"));
    try {
      const name = `nexthop-${version}-linux-arm64.tgz`;
      const line = readFileSync(join(releaseDir, "SHA256SUMS"), "utf8").split("\n").find((l) => l.endsWith(`  ${name}`))!;
      writeFileSync(join(dir, "SHA256SUMS"), `${line}\n`);
      copyFileSync(tarball("linux-arm64"), join(dir, name));
      expect(run(["sha256sum", "--check", "--strict", "SHA256SUMS"], { cwd: dir }).exitCode).toBe(0);
      const bytes = readFileSync(join(dir, name));
      bytes[bytes.length >> 1] ^= 0x01; // one bit in the middle
      writeFileSync(join(dir, name), bytes);
      const r = run(["sha256sum", "--check", "--strict", "SHA256SUMS"], { cwd: dir });
      expect(r.exitCode).toBe(1);
      expect(r.stdout.trim()).toBe(`${name}: FAILED`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each(platforms.map((p) => [p]))("%s: one directory with nexthop (0755, right ELF machine), LICENSE, README.md", (platform) => {
    const list = run(["tar", "-tvzf", tarball(platform)]);
    expect(list.exitCode).toBe(0);
    const entries = list.stdout.trim().split("\n").map((l) => {
      const f = l.split(/\s+/);
      return { mode: f[0], owner: f[1], name: f.slice(5).join(" ") };
    });
    const top = `nexthop-${version}-${platform}/`;
    expect(entries.map((e) => e.name)).toEqual([top, `${top}LICENSE`, `${top}README.md`, `${top}nexthop`]);
    expect(entries.every((e) => e.owner === "0/0")).toBe(true);
    expect(entries.find((e) => e.name.endsWith("/nexthop"))!.mode).toBe("-rwxr-xr-x");
    const u = unpack(platform);
    try {
      expect(elfMachine(u.exe)).toBe(platform === "linux-x64" ? 62 : 183);
      expect(readFileSync(join(dirname(u.exe), "LICENSE"), "utf8")).toBe(readFileSync(join(releaseDir, "../../LICENSE"), "utf8"));
    } finally {
      u.dispose();
    }
  });
});

// ------------------------------------------------------------------------------------------------
// linux-x64 in a chroot with nothing else

const made: Netns[] = [];
const mounts: string[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const m of mounts.splice(0).reverse()) {
    if (run(["umount", m]).exitCode !== 0) run(["umount", "-l", m]);
  }
  for (const ns of made.splice(0)) ns.delete();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function mount(args: string[], target: string): void {
  sh(["mount", ...args, target]);
  mounts.push(target);
}

/** Every path under `root` (files, links, directories), not descending into `skip`. */
function tree(root: string, skip: string[]): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(root, rel)).sort()) {
      const p = rel ? `${rel}/${e}` : e;
      const st = lstatSync(join(root, p));
      out.push(st.isDirectory() ? `${p}/` : st.isSymbolicLink() ? `${p} -> ` : p);
      if (st.isDirectory() && !skip.includes(p)) walk(p);
    }
  };
  walk("");
  return out;
}

describe("linux-x64 in a minimal chroot", () => {
  test("install, VERSION and a macvlan+static multipath ADD/CHECK/DEL with only the executable, loader and libc", () => {
    const u = unpack("linux-x64");
    dirs.push(u.dir);
    const root = join(u.dir, "root");
    mkdirSync(join(root, "opt/cni/bin"), { recursive: true });
    renameSync(u.exe, join(root, "opt/cni/bin/nexthop"));
    rmSync(dirname(u.exe), { recursive: true });
    const ldd = sh(["ldd", join(root, "opt/cni/bin/nexthop")]);
    const libs = [...ldd.matchAll(/(?:^|\s)(\/\S+)/g)].map((m) => m[1]);
    expect(libs.some((l) => l.includes("ld-linux"))).toBe(true);
    for (const lib of libs) {
      mkdirSync(join(root, dirname(lib)), { recursive: true });
      copyFileSync(realpathSync(lib), join(root, lib));
    }
    for (const d of ["proc", "sys", "var/run/netns"]) mkdirSync(join(root, d), { recursive: true });
    mount(["-t", "proc", "proc"], join(root, "proc"));
    mount(["-t", "sysfs", "sysfs"], join(root, "sys"));

    const pod = createNetns();
    const lan = createNetns();
    made.push(pod, lan);
    const inRoot = `/var/run/netns/${pod.name}`;
    writeFileSync(join(root, inRoot), "");
    mount(["--bind", pod.path], join(root, inRoot));
    for (const ns of [pod, lan]) sh(["ip", "netns", "exec", ns.name, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]);
    const parent = `nhr${lan.name.slice(-8)}`;
    sh(["ip", "link", "add", parent, "type", "veth", "peer", "name", "lan1", "netns", lan.name]);
    sh(["ip", "link", "set", parent, "up"]);

    const chrooted = (argv: string[], env: Record<string, string> = {}, stdin?: string) =>
      run(["/usr/sbin/chroot", root, ...argv], { env, stdin });

    // nexthop installs itself inside the image: links beside it
    const inst = chrooted(["/opt/cni/bin/nexthop", "install", "--dir", "/opt/cni/bin"]);
    expect([inst.exitCode, inst.stderr]).toEqual([0, ""]);
    // the chroot holds nothing but the executable, its links, the loader and the libraries
    const libEntries = libs.flatMap((l) => {
      const parts = l.slice(1).split("/");
      return parts.map((_, i) => (i === parts.length - 1 ? parts.join("/") : `${parts.slice(0, i + 1).join("/")}/`));
    });
    expect(tree(root, ["proc", "sys"])).toEqual([...new Set([
      "opt/", "opt/cni/", "opt/cni/bin/", "opt/cni/bin/ipvlan -> ", "opt/cni/bin/macvlan -> ", "opt/cni/bin/nexthop",
      "opt/cni/bin/static -> ", "opt/cni/bin/vrf -> ", "proc/", "sys/", "var/", "var/run/", "var/run/netns/", `var/run/netns/${pod.name}`,
      ...libEntries,
    ])].sort());

    const version = chrooted(["/opt/cni/bin/static"], { CNI_COMMAND: "VERSION" }, VERSION_STDIN);
    expect(version).toEqual(hostVersion());
    expect(version.exitCode).toBe(0);

    const conf = {
      cniVersion: "1.1.0", name: "nh-release", type: "macvlan", master: parent,
      ipam: {
        type: "static",
        addresses: [{ address: "198.51.100.10/24" }, { address: "2001:db8:a::10/64" }],
        routes: [
          { dst: "0.0.0.0/0", gws: ["198.51.100.1", { gw: "198.51.100.2", weight: 2 }] },
          { dst: "::/0", gws: ["2001:db8:a::1", "2001:db8:a::2"] },
        ],
      },
    };
    const env = (cmd: string) => ({ CNI_COMMAND: cmd, CNI_CONTAINERID: "nh-release", CNI_NETNS: inRoot, CNI_IFNAME: "net1", CNI_PATH: "/opt/cni/bin" });
    const add = chrooted(["/opt/cni/bin/macvlan"], env("ADD"), JSON.stringify(conf));
    expect([add.exitCode, add.stderr]).toEqual([0, ""]);
    expect(defaultRoutes(pod.name, "-4")).toEqual([{ nexthops: [
      { gateway: "198.51.100.1", dev: "net1", weight: 1 },
      { gateway: "198.51.100.2", dev: "net1", weight: 2 },
    ] }]);
    expect(defaultRoutes(pod.name, "-6")).toEqual([{ nexthops: [
      { gateway: "2001:db8:a::1", dev: "net1", weight: 1 },
      { gateway: "2001:db8:a::2", dev: "net1", weight: 1 },
    ] }]);
    const link = (ipJson(["-d", "link", "show", "net1"], pod.name) as any[])[0];
    expect(link.linkinfo.info_kind).toBe("macvlan");
    const addrs = (ipJson(["addr", "show", "net1"], pod.name) as any[])[0].addr_info
      .filter((a: any) => a.scope === "global").map((a: any) => `${a.local}/${a.prefixlen}`);
    expect(addrs).toEqual(["198.51.100.10/24", "2001:db8:a::10/64"]);

    const check = chrooted(["/opt/cni/bin/macvlan"], env("CHECK"), JSON.stringify({ ...conf, prevResult: JSON.parse(add.stdout) }));
    expect([check.exitCode, check.stdout, check.stderr]).toEqual([0, "", ""]);
    const del = chrooted(["/opt/cni/bin/macvlan"], env("DEL"), JSON.stringify({ ...conf, prevResult: JSON.parse(add.stdout) }));
    expect([del.exitCode, del.stdout, del.stderr]).toEqual([0, "", ""]);
    expect(linkNames(pod.name)).toEqual(["lo"]);
  });
});

// ------------------------------------------------------------------------------------------------
// emulated CPUs

describe("emulated CPUs (qemu user mode)", () => {
  test("linux-x64 answers VERSION on a CPU without AVX or AVX2 (qemu-x86_64 -cpu Nehalem)", () => {
    const u = unpack("linux-x64");
    try {
      const r = run(["/usr/bin/qemu-x86_64-static", "-cpu", "Nehalem", "-0", join(dirname(u.exe), "static"), u.exe], { env: { CNI_COMMAND: "VERSION" }, stdin: VERSION_STDIN });
      expect(r).toEqual(hostVersion());
    } finally {
      u.dispose();
    }
  });

  test("linux-arm64 answers VERSION under qemu-aarch64 with Debian's arm64 libc", () => {
    const u = unpack("linux-arm64");
    try {
      const r = run(["/usr/bin/qemu-aarch64-static", "-L", "/usr/aarch64-linux-gnu", "-0", join(dirname(u.exe), "static"), u.exe], { env: { CNI_COMMAND: "VERSION" }, stdin: VERSION_STDIN });
      expect(r).toEqual(hostVersion());
      const cli = run(["/usr/bin/qemu-aarch64-static", "-L", "/usr/aarch64-linux-gnu", u.exe, "--version"]);
      expect([cli.exitCode, cli.stdout.split("\n")[0]]).toEqual([0, `nexthop ${version}`]);
    } finally {
      u.dispose();
    }
  });
});
