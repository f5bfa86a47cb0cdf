// Host tests of test/vm/run-in-vm.sh: exit-code propagation, argument/env passing, -w shares,
// timeout (124) and a dying VM (125). Three VM boots (~3 s each under TCG) in all; they skip
// when the VM cannot run here (not root, no qemu, kernel cache not prepared by --setup, or
// NEXTHOP_VM=skip from test/run.sh).
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const script = join(import.meta.dir, "run-in-vm.sh");
const cache = process.env.VMTEST_CACHE ?? "/var/cache/vmtest";
const vmReady = process.getuid?.() === 0 && process.env.NEXTHOP_VM !== "skip" &&
  Bun.which("qemu-system-x86_64") !== null && existsSync(`${cache}/default/.complete`);

function runInVm(args: string[]): { rc: number | null; out: string; err: string; secs: number } {
  const t0 = performance.now();
  const r = Bun.spawnSync(["bash", script, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  return {
    rc: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString(), secs: (performance.now() - t0) / 1000,
  };
}

describe("run-in-vm.sh", () => {
  test("usage errors exit 2 without booting", () => {
    expect(runInVm([]).rc).toBe(2);
    expect(runInVm(["--bogus", "--", "true"]).rc).toBe(2);
    expect(runInVm(["-t", "soon", "--", "true"]).rc).toBe(2);
  });

  test.skipIf(!vmReady)("returns the guest's exit code, passes args and env verbatim, keeps -w writes", () => {
    const dir = mkdtempSync(join(tmpdir(), "nh-vmtest-"));
    try {
      const r = runInVm([
        "-w", dir, "-e", "FOO=a b", "-C", "/usr/share", "--",
        "sh", "-c", 'printf "%s|%s|%s|%s\\n" "$FOO" "$1" "$(pwd)" "$(uname -r)"; echo kept >"$2/out"; ' +
          "touch /usr/share/nh-discarded; [ -d /run/vmtest ] && exit 3",
        "sh", "it's $HOME", dir,
      ]);
      expect(r.err).toBe("");
      expect(r.out).toMatch(/^a b\|it's \$HOME\|\/usr\/share\|\d+\.\d+\.\d+-\d+-amd64\n$/);
      expect(r.rc).toBe(3);
      expect(readFileSync(join(dir, "out"), "utf8")).toBe("kept\n");
      expect(existsSync("/usr/share/nh-discarded")).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  test.skipIf(!vmReady)("-t: a command that outlives the limit gives 124", () => {
    const r = runInVm(["-t", "5", "--", "sleep", "100"]);
    expect(r.rc).toBe(124);
    expect(r.err).toContain("timed out after 5s");
    expect(r.secs).toBeLessThan(20);
  }, 30_000);

  test.skipIf(!vmReady)("a guest kernel panic gives 125", () => {
    const r = runInVm(["-t", "60", "--", "sh", "-c", "echo c >/proc/sysrq-trigger; sleep 30"]);
    expect(r.rc).toBe(125);
    expect(r.err).toContain("VM exited without reporting an exit status");
  }, 30_000);
});
