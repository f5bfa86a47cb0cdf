// The executable's entry (src/entry.ts) answers VERSION under a plugin name without loading the
// plugins or the protocol driver; its answer must be exactly the driver's (src/cni/skel.ts), for
// every plugin, whatever else the environment holds and whatever stdin carries. Every other
// command, and every name that is not a plugin, goes to src/main.ts.
import { afterAll, describe, expect, test } from "bun:test";
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
