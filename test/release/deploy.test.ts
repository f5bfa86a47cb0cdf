// deploy/: the DaemonSet mounts the node's CNI directory where the installer image's entrypoint
// installs (/host/opt/cni/bin), and the NetworkAttachmentDefinition's config is one nexthop runs:
// its macvlan ADD (master swapped for a test veth, the pod's addresses given through the `ips`
// capability as Multus passes them) makes one multipath default per family.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pluginDir, runCni } from "../lib/cni";
import { createNetns, defaultRoutes, sh } from "../lib/netns";
import { repo } from "./lib";

const yaml = (f: string) => Bun.YAML.parse(readFileSync(join(repo, "deploy", f), "utf8")) as any;

describe("deploy/", () => {
  test("daemonset.yaml: the init container mounts hostPath /opt/cni/bin at the entrypoint's --dir", () => {
    const ds = yaml("daemonset.yaml");
    expect(ds.kind).toBe("DaemonSet");
    const spec = ds.spec.template.spec;
    const vol = spec.volumes.find((v: any) => v.hostPath);
    expect(vol.hostPath).toEqual({ path: "/opt/cni/bin", type: "Directory" });
    const init = spec.initContainers[0];
    expect(init.volumeMounts).toEqual([{ name: vol.name, mountPath: "/host/opt/cni/bin" }]);
    expect(init.command).toBeUndefined(); // the image's entrypoint: /nexthop install --dir /host/opt/cni/bin
    expect(ds.spec.selector.matchLabels).toEqual(ds.spec.template.metadata.labels);
  });

  test("network-attachment.yaml: its config runs as written (master aside) and gives multipath defaults", () => {
    const nad = yaml("network-attachment.yaml");
    expect(nad.kind).toBe("NetworkAttachmentDefinition");
    const config = JSON.parse(nad.spec.config);
    expect(config.type).toBe("macvlan");
    using pod = createNetns();
    using lan = createNetns();
    for (const ns of [pod, lan]) sh(["ip", "netns", "exec", ns.name, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]);
    const parent = `nhd${lan.name.slice(-8)}`;
    sh(["ip", "link", "add", parent, "type", "veth", "peer", "name", "lan1", "netns", lan.name]);
    sh(["ip", "link", "set", parent, "up"]);
    const bin = pluginDir();
    try {
      const conf = { ...config, master: parent, runtimeConfig: { ips: ["198.51.100.10/24", "2001:db8:a::10/64"] } };
      const add = runCni({ dir: bin.dir, plugin: "macvlan", command: "ADD", config: conf, netns: pod.path, ifname: "net1" });
      expect([add.exitCode, add.stderr]).toEqual([0, ""]);
      expect(defaultRoutes(pod.name, "-4")).toEqual([{ nexthops: [
        { gateway: "198.51.100.1", dev: "net1", weight: 1 },
        { gateway: "198.51.100.2", dev: "net1", weight: 1 },
      ] }]);
      expect(defaultRoutes(pod.name, "-6")).toEqual([{ nexthops: [
        { gateway: "2001:db8:a::1", dev: "net1", weight: 1 },
        { gateway: "2001:db8:a::2", dev: "net1", weight: 1 },
      ] }]);
      expect(runCni({ dir: bin.dir, plugin: "macvlan", command: "DEL", config: conf, netns: pod.path, ifname: "net1" }).exitCode).toBe(0);
    } finally {
      bin.dispose();
    }
  });
});
