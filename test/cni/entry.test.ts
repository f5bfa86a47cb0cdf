// The executable's entry (src/entry.ts) answers VERSION under a plugin name without loading the
// plugins or the protocol driver; its answer must be exactly the driver's (src/cni/skel.ts), for
// every plugin, whatever else the environment holds and whatever stdin carries. Every other
// command, and every name that is not a plugin, goes to src/main.ts.
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { fastVersion } from "../../src/entry";
import { runPlugin } from "../../src/cni/skel";
import { invokedName, PLUGIN_NAMES, supportedVersionsOf } from "../../src/plugins/names";
import { ownPlugin } from "../../src/plugins/index";
import { pluginDir, runCni } from "../lib/cni";

const plugins = pluginDir();
afterAll(() => plugins.dispose());

describe("VERSION from the entry", () => {
  test.each(PLUGIN_NAMES.map((n) => [n]))("%s: the driver's answer, in-process and from the executable", (name) => {
    const driver = runPlugin(ownPlugin(name)!, { CNI_COMMAND: "VERSION" }, "");
    expect(driver.exitCode).toBe(0);
    expect(fastVersion(name, "VERSION")).toBe(driver.stdout);
    // the executable, with variables that other commands would refuse and a stdin that is not JSON
    const extras: Record<string, string>[] = [{}, { CNI_CONTAINERID: "bad id!", CNI_IFNAME: "a/b", CNI_PATH: "" }];
    for (const extra of extras) {
      for (const config of ["", "not json", { cniVersion: "0.1.0", name: "x" }]) {
        const r = runCni({ dir: plugins.dir, plugin: name, command: "VERSION", config, extraEnv: extra });
        expect({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr }).toEqual({ exitCode: 0, stdout: driver.stdout, stderr: "" });
      }
    }
  });

  test("an answer that cannot be written fails the command: exit 1, the write's error on stderr (as Go's static)", () => {
    const { closeSync, openSync } = require("node:fs") as typeof import("node:fs");
    const full = openSync("/dev/full", "w");
    try {
      const r = Bun.spawnSync([join(plugins.dir, "static")], {
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", CNI_COMMAND: "VERSION" }, stdin: "ignore", stdout: full, stderr: "pipe",
      });
      expect(r.exitCode).toBe(1);
      expect(r.stderr.toString()).toContain("ENOSPC");
    } finally {
      closeSync(full);
    }
  });

  test("the answer arrives whole through a pipe read slowly", async () => {
    const p = Bun.spawn([join(plugins.dir, "macvlan")], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", CNI_COMMAND: "VERSION" }, stdin: "ignore", stdout: "pipe", stderr: "pipe",
    });
    await Bun.sleep(200);
    const out = await new Response(p.stdout).text();
    expect(await p.exited).toBe(0);
    expect(out).toBe(fastVersion("macvlan", "VERSION")!);
  });

  test("only a plugin's VERSION is answered there", () => {
    expect(fastVersion("static", "ADD")).toBeUndefined();
    expect(fastVersion("static", undefined)).toBeUndefined();
    expect(fastVersion("static", "version")).toBeUndefined();
    expect(fastVersion("nexthop", "VERSION")).toBeUndefined();
    expect(fastVersion("", "VERSION")).toBeUndefined();
    expect(supportedVersionsOf("vrf")![0]).toBe("0.3.1");
  });

  test("invokedName is path.basename", () => {
    const { basename } = require("node:path");
    for (const p of ["/", "//", "", "static", "./static", "/opt/cni/bin/static", "/opt/cni/bin/static/", "a//b//", "/a/b/c.d"]) {
      expect(invokedName(p)).toBe(basename(p));
    }
  });
});
