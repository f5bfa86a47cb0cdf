// The committed vectors are one capture; this runs capture.py again against the running kernel
// (needs root, python3, strace, ip; uses netns, veth, macvlan, bridge, IPv4/IPv6 multipath) and
// checks that what it dumps today still parses and re-emits byte for byte, and that iproute2's
// requests are still what the committed ones are, apart from nlmsg_seq (a timestamp) and padding.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureWasm, hex, loadVectors, messages, msgType, zeroPadding } from "./helpers";

ensureWasm();
const { Codec, STATUS_DONE } = await import("../../src/netlink/codec.ts");

const which = (cmd: string) => Bun.spawnSync(["sh", "-c", `command -v ${cmd}`]).exitCode === 0;
const canRun = process.getuid?.() === 0 && which("python3") && which("strace") && which("ip");

describe("live capture from the running kernel (netns veth macvlan bridge multipath)", () => {
  test.skipIf(!canRun)("dumps re-emit byte for byte; iproute2 requests unchanged", () => {
    const dir = mkdtempSync(join(tmpdir(), "nhcap-vectors-"));
    try {
      const r = Bun.spawnSync(["python3", join(import.meta.dir, "capture.py"), "--out", dir], { stdout: "pipe", stderr: "pipe" });
      if (r.exitCode !== 0) throw new Error(`capture.py: ${r.stderr.toString()}`);
      for (const [file, lo, hi, re] of [["route.txt", 24, 26, "route"], ["addr.txt", 20, 22, "addr"]] as const) {
        const c = new Codec();
        const original: Uint8Array[] = [];
        let status = 0;
        for (const b of loadVectors(join(dir, file))) {
          for (const m of messages(b.bytes)) if (msgType(m) >= lo && msgType(m) <= hi) original.push(m);
          c.recvView().set(b.bytes);
          status = c.parse(b.bytes.length);
        }
        expect(status).toBe(STATUS_DONE);
        const rows = re === "route" ? c.routes : c.addrs;
        expect(rows.count).toBe(original.length);
        for (let i = 0; i < rows.count; i++) {
          const n = re === "route" ? c.reencodeRoute(i) : c.reencodeAddr(i);
          expect({ file, i, bytes: hex(c.requestView(n)) }).toEqual({ file, i, bytes: hex(original[i]) });
        }
      }
      const now = loadVectors(join(dir, "request.txt"));
      const committed = loadVectors("request.txt");
      expect(now.map((b) => b.name)).toEqual(committed.map((b) => b.name));
      const noSeq = (m: Uint8Array) => {
        const z = zeroPadding(m);
        z.fill(0, 8, 12);
        return hex(z);
      };
      for (let k = 0; k < now.length; k++) expect({ name: now[k].name, bytes: noSeq(now[k].bytes) }).toEqual({ name: committed[k].name, bytes: noSeq(committed[k].bytes) });
      // capture.py deletes its namespaces, also on failure
      const left = Bun.spawnSync(["ip", "netns", "list"]).stdout.toString();
      expect(left).not.toMatch(/nhcap-/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
