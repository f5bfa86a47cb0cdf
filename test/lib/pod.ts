// The world of the macvlan tests run through dist/nexthop: a pod netns and a "lan" netns; the
// macvlan master is a veth in the host netns whose peer is in the lan netns (deleting the lan
// netns removes the pair). With `eth0`, the pod also has an eth0 (veth into the lan) holding
// both default routes (192.0.2.1, 2001:db8:0:1::1). DAD is off unless asked for.
import { createNetns, sh, type Netns } from "./netns";

export interface Pod {
  pod: Netns;
  lan: Netns;
  /** The macvlan master's name in the host netns. */
  parent: string;
}

/** Makes a Pod; its two namespaces go into `made` as soon as they exist, for the caller to delete. */
export function macvlanPod(made: Netns[], opts: { eth0?: boolean; dad?: boolean } = {}): Pod {
  const pod = createNetns();
  const lan = createNetns();
  made.push(pod, lan);
  if (!opts.dad) {
    for (const ns of [pod, lan]) sh(["ip", "netns", "exec", ns.name, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]);
  }
  const parent = `nhp${lan.name.slice(-8)}`;
  sh(["ip", "link", "add", parent, "type", "veth", "peer", "name", "lan1", "netns", lan.name]);
  sh(["ip", "link", "set", parent, "up"]);
  sh(["ip", "-n", lan.name, "link", "set", "lan1", "up"]);
  if (opts.eth0) {
    sh(["ip", "link", "add", "eth0", "netns", pod.name, "type", "veth", "peer", "name", "lan0", "netns", lan.name]);
    sh(["ip", "-n", pod.name, "addr", "add", "192.0.2.10/24", "dev", "eth0"]);
    sh(["ip", "-n", pod.name, "addr", "add", "2001:db8:0:1::10/64", "dev", "eth0", "nodad"]);
    sh(["ip", "-n", pod.name, "link", "set", "eth0", "up"]);
    sh(["ip", "-n", lan.name, "link", "set", "lan0", "up"]);
    sh(["ip", "-n", pod.name, "route", "add", "default", "via", "192.0.2.1", "dev", "eth0"]);
    sh(["ip", "-n", pod.name, "-6", "route", "add", "default", "via", "2001:db8:0:1::1", "dev", "eth0"]);
  }
  return { pod, lan, parent };
}
