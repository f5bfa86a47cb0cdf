// `nexthop install --dir DIR` on a live node: replacing nexthop while plugins run, and the target
// directories that must be refused (read-only, full, missing, holding foreign plugins) with a clear
// message, exit 1 and nothing half-written. Uses dist/nexthop and a second, different nexthop
// build (dist/nexthop with bytes appended: it still runs, and is a nexthop of "another version").
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNetns, defaultRoutes, linkNames, sh, type Netns } from "../lib/netns";
import { binary } from "../lib/cni";
import { run } from "./lib";

const PLUGINS = ["ipvlan", "macvlan", "nexthop", "static", "vrf"];
let work: string;
let other: string; // another nexthop build
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "nh-inst-"));
  other = join(work, "nexthop-other");
  copyFileSync(binary, other);
  appendFileSync(other, Buffer.alloc(4096, 0x5a));
  expect(run([other, "--version"]).exitCode).toBe(0);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const mounts: string[] = [];
const made: Netns[] = [];
afterEach(() => {
  for (const m of mounts.splice(0).reverse()) if (run(["umount", m]).exitCode !== 0) run(["umount", "-l", m]);
  for (const ns of made.splice(0)) ns.delete();
});

const freshDir = () => mkdtempSync(join(work, "dir-"));
const install = (exe: string, dir: string, ...extra: string[]) => run([exe, "install", "--dir", dir, ...extra]);

describe("install replaces a running nexthop atomically", () => {
  test("upgrading to another nexthop build needs no --force; the plugin names follow; idempotent", () => {
    const dir = freshDir();
    expect(install(binary, dir).exitCode).toBe(0);
    const up = install(other, dir);
    expect([up.exitCode, up.stderr]).toEqual([0, ""]);
    expect(up.stdout.split("\n")[0]).toBe(`replaced ${join(dir, "nexthop")}`);
    expect(readFileSync(join(dir, "nexthop")).equals(readFileSync(other))).toBe(true);
    const again = install(other, dir);
    expect(again.stdout.trim().split("\n").every((l) => l.startsWith("unchanged "))).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(PLUGINS);
  });

  test("ADD/DEL in a loop through DIR/macvlan while DIR/nexthop is replaced over and over: every run succeeds", async () => {
    const dir = freshDir();
    expect(install(binary, dir).exitCode).toBe(0);
    const pod = createNetns();
    const lan = createNetns();
    made.push(pod, lan);
    const parent = `nhi${lan.name.slice(-8)}`;
    sh(["ip", "link", "add", parent, "type", "veth", "peer", "name", "lan1", "netns", lan.name]);
    sh(["ip", "link", "set", parent, "up"]);
    const conf = JSON.stringify({
      cniVersion: "1.1.0", name: "nh-inst", type: "macvlan", master: parent,
      ipam: { type: "static", addresses: [{ address: "198.51.100.10/24" }], routes: [{ dst: "0.0.0.0/0", gws: ["198.51.100.1", "198.51.100.2"] }] },
    });
    const env = (cmd: string) => ({ CNI_COMMAND: cmd, CNI_CONTAINERID: "nh-inst", CNI_NETNS: pod.path, CNI_IFNAME: "net1", CNI_PATH: dir });

    // the installer: alternate the two builds, each install a real replacement (write beside + rename)
    const rounds = 12;
    const script = `for i in $(seq ${rounds}); do "$1" install --dir "$3" >/dev/null || exit 1; "$2" install --dir "$3" >/dev/null || exit 1; done`;
    const installer = Bun.spawn(["bash", "-c", script, "installer", binary, other, dir], { stdout: "ignore", stderr: "pipe" });
    let done = false;
    const finished = installer.exited.then((code) => {
      done = true;
      return code;
    });
    const failures: string[] = [];
    let adds = 0;
    while (!done || adds < 5) {
      const add = Bun.spawn([join(dir, "macvlan")], { env: env("ADD"), stdin: Buffer.from(conf), stdout: "pipe", stderr: "pipe" });
      const [code, out, err] = await Promise.all([add.exited, new Response(add.stdout).text(), new Response(add.stderr).text()]);
      if (code !== 0 || !out.includes('"gw": "198.51.100.2"')) failures.push(`ADD exit ${code}: ${out} ${err}`);
      else adds++;
      const del = Bun.spawn([join(dir, "macvlan")], { env: env("DEL"), stdin: Buffer.from(conf), stdout: "pipe", stderr: "pipe" });
      const [dcode, dout, derr] = await Promise.all([del.exited, new Response(del.stdout).text(), new Response(del.stderr).text()]);
      if (dcode !== 0) failures.push(`DEL exit ${dcode}: ${dout} ${derr}`);
      if (failures.length > 0) break;
    }
    const code = await finished;
    expect(failures).toEqual([]);
    expect([code, await new Response(installer.stderr).text()]).toEqual([0, ""]);
    expect(adds).toBeGreaterThanOrEqual(5);
    expect(linkNames(pod.name)).toEqual(["lo"]);
    expect(defaultRoutes(pod.name, "-4")).toEqual([]);
    // no temporary file is left, and the last build installed is the one in place
    expect(readdirSync(dir).sort()).toEqual(PLUGINS);
    expect(readFileSync(join(dir, "nexthop")).equals(readFileSync(other))).toBe(true);
  });
});

describe("install after an interrupted install", () => {
  test("a temporary file left with this pid is replaced, and gone afterwards", () => {
    const dir = freshDir();
    // the installer runs as `bash -c 'exec …'`, so the temp name carries bash's pid
    const script = `printf partial > "$2/.nexthop.nexthop-$$.tmp"; exec "$1" install --dir "$2"`;
    const r = run(["bash", "-c", script, "installer", binary, dir]);
    expect([r.exitCode, r.stderr]).toEqual([0, ""]);
    expect(readdirSync(dir).sort()).toEqual(PLUGINS);
    expect(readFileSync(join(dir, "nexthop")).equals(readFileSync(binary))).toBe(true);
  });
});

describe("install: target directories that are refused", () => {
  test("missing DIR: a clear message, exit 1, nothing created", () => {
    const dir = join(work, "no-such", "bin");
    const r = install(binary, dir);
    expect(r).toEqual({ exitCode: 1, stdout: "", stderr: `nexthop install: ${dir} does not exist: create it, or mount the node's CNI plugin directory there\n` });
    expect(() => statSync(join(work, "no-such"))).toThrow();
    const file = join(work, "a-file");
    writeFileSync(file, "");
    expect(install(binary, file)).toEqual({ exitCode: 1, stdout: "", stderr: `nexthop install: ${file} is not a directory\n` });
  });

  test("read-only DIR: EROFS named, exit 1, the previous install untouched", () => {
    const dir = freshDir();
    expect(install(other, dir).exitCode).toBe(0); // an older nexthop that the new one would replace
    sh(["mount", "--bind", dir, dir]);
    mounts.push(dir);
    sh(["mount", "-o", "remount,bind,ro", dir]);
    const r = install(binary, dir);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(new RegExp(`^nexthop install: cannot write ${dir}/\\.nexthop\\.nexthop-\\d+\\.tmp: read-only file system \\(EROFS\\)\\n$`));
    expect(readFileSync(join(dir, "nexthop")).equals(readFileSync(other))).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(PLUGINS);
  });

  test("full DIR (a 32 MiB tmpfs): ENOSPC named, exit 1, no partial file left", () => {
    const dir = freshDir();
    sh(["mount", "-t", "tmpfs", "-o", "size=32m,mode=0755", "nh-full", dir]);
    mounts.push(dir);
    writeFileSync(join(dir, "keep"), "x"); // what was there stays
    const r = install(binary, dir);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(new RegExp(`^nexthop install: cannot write ${dir}/\\.nexthop\\.nexthop-\\d+\\.tmp: no space left on device \\(ENOSPC\\)\\n$`));
    expect(readdirSync(dir)).toEqual(["keep"]);
    const df = sh(["df", "--output=used", "-B1", dir]).trim().split("\n")[1].trim();
    expect(Number(df)).toBeLessThan(1 << 20); // the partial copy's blocks are freed
  });

  test.each([["static"], ["macvlan"]])("a foreign %s: refused without --force, exit 1, nothing written; --force replaces it", (name) => {
    const dir = freshDir();
    const upstream = "\x7fELF upstream Go plugin";
    writeFileSync(join(dir, name), upstream, { mode: 0o755 });
    const r = install(binary, dir);
    expect(r).toEqual({ exitCode: 1, stdout: "", stderr: `nexthop install: refusing to overwrite ${join(dir, name)}: not a copy of or a link to a nexthop executable (use --force to replace)\n` });
    expect(readdirSync(dir)).toEqual([name]);
    expect(readFileSync(join(dir, name), "utf8")).toBe(upstream);
    const forced = install(binary, dir, "--force");
    expect(forced.exitCode).toBe(0);
    expect(readlinkSync(join(dir, name))).toBe("nexthop");
    expect(readdirSync(dir).sort()).toEqual(PLUGINS);
  });
});
