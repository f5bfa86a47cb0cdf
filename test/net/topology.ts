// The multipath traffic topology (test/net/multipath.test.ts, test/bench/bench.ts): a pod, two
// routers on one L2 network (a bridge in the "lan" netns, reached by the pod's macvlan through a
// veth parent in the host netns), a third router on the pod's eth0, and a destination behind all
// three. Only addresses inside these namespaces are used. UDP flows come from test/net/flows.py.
//
//   pod: eth0 10.77.2.10 (veth to r0)    net1 (macvlan, made by the plugin) 10.77.1.10
//   r0: 10.77.2.1         r1: 10.77.1.1   r2: 10.77.1.2          (IPv6: 2001:db8:77:N::…)
//   dest: 10.77.99.1 / 2001:db8:77:99::1 on lo, reached from rK over 10.77.1K.0/24 (dev dK)
import { join } from "node:path";
import { createNetns, sh, type Netns } from "../lib/netns";

export const FLOWS = join(import.meta.dir, "flows.py");
export const DEST4 = "10.77.99.1";
export const DEST6 = "2001:db8:77:99::1";
export const GW4 = ["10.77.1.1", "10.77.1.2"];
export const GW6 = ["2001:db8:77:1::1", "2001:db8:77:1::2"];

export interface Topology {
  pod: Netns;
  lan: Netns;
  routers: Netns[]; // r0 (eth0), r1, r2
  dest: Netns;
  /** The macvlan master in the host netns. */
  parent: string;
  delete(): void;
}

const ns = (n: Netns, ...cmd: string[]) => sh(["ip", "-n", n.name, ...cmd]);
const sysctl = (n: Netns, ...kv: string[]) => sh(["ip", "netns", "exec", n.name, "sysctl", "-qw", ...kv]);

/** Builds the topology; `eth0` adds the pod's eth0 with defaults via r0 in both families. */
export function buildTopology(opts: { eth0?: boolean } = {}): Topology {
  const made: Netns[] = [];
  const mk = () => {
    const n = createNetns();
    made.push(n);
    return n;
  };
  const del = () => {
    for (const n of made.splice(0)) n.delete();
  };
  try {
    const pod = mk(), lan = mk(), dest = mk();
    const routers = [mk(), mk(), mk()];
    // No DAD (fast setup); routers keep their IPv6 addresses while their link is down (a router
    // that comes back must answer for its address at once, as a rebooted one does).
    for (const n of made) {
      sysctl(n, "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0", "net.ipv4.conf.all.rp_filter=0",
        "net.ipv4.conf.default.rp_filter=0", "net.ipv6.conf.all.keep_addr_on_down=1", "net.ipv6.conf.default.keep_addr_on_down=1");
    }
    const parent = `nhm${lan.name.slice(-8)}`;
    sh(["ip", "link", "add", parent, "type", "veth", "peer", "name", "lan1", "netns", lan.name]);
    sh(["ip", "link", "set", parent, "up"]);
    ns(lan, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0");
    ns(lan, "link", "set", "lan1", "master", "br0");
    ns(lan, "link", "set", "lan1", "up");
    ns(lan, "link", "set", "br0", "up");
    ns(dest, "link", "set", "lo", "up");
    ns(dest, "addr", "add", `${DEST4}/32`, "dev", "lo");
    ns(dest, "addr", "add", `${DEST6}/128`, "dev", "lo");
    routers.forEach((r, k) => {
      sysctl(r, "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1");
      // router -> destination
      sh(["ip", "-n", r.name, "link", "add", "up0", "type", "veth", "peer", "name", `d${k}`, "netns", dest.name]);
      ns(r, "addr", "add", `10.77.1${k}.1/24`, "dev", "up0");
      ns(r, "addr", "add", `2001:db8:77:1${k}::1/64`, "dev", "up0");
      ns(dest, "addr", "add", `10.77.1${k}.2/24`, "dev", `d${k}`);
      ns(dest, "addr", "add", `2001:db8:77:1${k}::2/64`, "dev", `d${k}`);
      ns(r, "link", "set", "up0", "up");
      ns(dest, "link", "set", `d${k}`, "up");
      ns(r, "route", "add", `${DEST4}/32`, "via", `10.77.1${k}.2`);
      ns(r, "-6", "route", "add", `${DEST6}/128`, "via", `2001:db8:77:1${k}::2`);
      if (k === 0) return;
      // router -> LAN (the bridge)
      sh(["ip", "-n", r.name, "link", "add", "lan", "type", "veth", "peer", "name", `p${k}`, "netns", lan.name]);
      ns(lan, "link", "set", `p${k}`, "master", "br0");
      ns(lan, "link", "set", `p${k}`, "up");
      ns(r, "addr", "add", `${GW4[k - 1]}/24`, "dev", "lan");
      ns(r, "addr", "add", `${GW6[k - 1]}/64`, "dev", "lan");
      ns(r, "link", "set", "lan", "up");
    });
    if (opts.eth0) {
      const r0 = routers[0];
      sh(["ip", "-n", pod.name, "link", "add", "eth0", "type", "veth", "peer", "name", "lan", "netns", r0.name]);
      ns(pod, "addr", "add", "10.77.2.10/24", "dev", "eth0");
      ns(pod, "addr", "add", "2001:db8:77:2::10/64", "dev", "eth0");
      ns(r0, "addr", "add", "10.77.2.1/24", "dev", "lan");
      ns(r0, "addr", "add", "2001:db8:77:2::1/64", "dev", "lan");
      ns(pod, "link", "set", "eth0", "up");
      ns(r0, "link", "set", "lan", "up");
      ns(pod, "route", "add", "default", "via", "10.77.2.1", "dev", "eth0");
      ns(pod, "-6", "route", "add", "default", "via", "2001:db8:77:2::1", "dev", "eth0");
    }
    ns(pod, "link", "set", "lo", "up");
    return { pod, lan, routers, dest, parent, delete: del };
  } catch (e) {
    del();
    throw e;
  }
}

/** The static IPAM section for net1; `joined` makes the routes defaults (joining eth0's). */
export function net1Ipam(joined: boolean, addr4 = "10.77.1.10", addr6 = "2001:db8:77:1::10") {
  const d4 = joined ? "0.0.0.0/0" : "10.77.99.0/24";
  const d6 = joined ? "::/0" : "2001:db8:77:99::/64";
  return {
    type: "static",
    addresses: [{ address: `${addr4}/24` }, { address: `${addr6}/64` }],
    routes: [
      { dst: d4, gw: GW4[0] }, { dst: d4, gw: GW4[1] },
      { dst: d6, gw: GW6[0] }, { dst: d6, gw: GW6[1] },
    ],
  };
}

/** CLOCK_MONOTONIC (the clock flows.py stamps packets with) right after `cmd` ran. */
export function monotonicAfter(cmd: string[]): number {
  const py = `import subprocess,sys,time; subprocess.run(sys.argv[1:], check=True); print(time.monotonic())`;
  return Number(sh(["python3", "-c", py, ...cmd]).trim());
}

export type Arrival = [t: number, ifname: string, src: string];
export type FlowLog = Record<string, Arrival[]>;

export interface Traffic {
  /** Resolves with what the destination received, per flow. */
  done: Promise<{ flows: FlowLog; sent: number[] }>;
}

/** Starts a receiver in dest and senders in the pod (both families), bounded by `seconds`. */
export async function startTraffic(t: Topology, opts: { seconds: number; flows?: number; rate?: number; bind4?: string; bind6?: string; port?: number }): Promise<Traffic> {
  const port = String(opts.port ?? 7777);
  const recv = Bun.spawn(["ip", "netns", "exec", t.dest.name, "python3", FLOWS, "recv", port, String(opts.seconds + 2)], { stdout: "pipe", stderr: "pipe" });
  // wait for "ready" (bounded)
  const reader = recv.stderr.getReader();
  const deadline = Date.now() + 5000;
  let seen = "";
  while (!seen.includes("ready") && Date.now() < deadline) {
    const r = await Promise.race([reader.read(), Bun.sleep(5000).then(() => ({ done: true, value: undefined }))]);
    if (r.done) break;
    seen += new TextDecoder().decode(r.value);
  }
  reader.releaseLock();
  if (!seen.includes("ready")) {
    recv.kill();
    throw new Error(`receiver did not start: ${seen}`);
  }
  const send = (dst: string, bind?: string) =>
    Bun.spawn(["ip", "netns", "exec", t.pod.name, "python3", FLOWS, "send", dst, port, String(opts.flows ?? 64), String(opts.rate ?? 20), String(opts.seconds), ...(bind ? [bind] : [])], { stdout: "pipe", stderr: "pipe" });
  const senders = [send(DEST4, opts.bind4), send(DEST6, opts.bind6)];
  const done = (async () => {
    const outs = await Promise.all(senders.map(async (p) => {
      const out = await new Response(p.stdout).text();
      if ((await p.exited) !== 0) throw new Error(`sender failed: ${await new Response(p.stderr).text()}`);
      return JSON.parse(out).sent as number;
    }));
    const text = await new Response(recv.stdout).text();
    if ((await recv.exited) !== 0) throw new Error(`receiver failed`);
    return { flows: JSON.parse(text).flows as FlowLog, sent: outs };
  })();
  return { done };
}

/** The router a destination interface leads to: d0 -> 0 (eth0), d1 -> 1, d2 -> 2. */
export const routerOf = (ifname: string) => Number(ifname.slice(1));

export function flowsOf(log: FlowLog, family: "v4" | "v6"): Arrival[][] {
  return Object.entries(log).filter(([k]) => k.startsWith(`${family}-`)).map(([, a]) => a.sort((x, y) => x[0] - y[0]));
}

/** Per router, how many flows it carried in [from, to) (a flow counts for its last router there). */
export function spread(flows: Arrival[][], from = -Infinity, to = Infinity): number[] {
  const n = [0, 0, 0];
  for (const f of flows) {
    const inWin = f.filter((a) => a[0] >= from && a[0] < to);
    if (inWin.length) n[routerOf(inWin[inWin.length - 1][1])]++;
  }
  return n;
}

export interface FailoverFigures {
  /** Flows that used the failed router just before it failed. */
  affected: number;
  /** Of these, flows that reached the destination again while it was down. */
  recovered: number;
  /** Longest gap of any affected flow after the failure (s), until its first packet via another router. */
  failover: number;
  /** Of the affected flows, how many came back to the router after it returned. */
  returned: number;
  /** Time from the router's return until the last returning flow came back (s). */
  failback: number;
}

/** Failover/failback figures for router `r` that went down at `down` and came back at `up`. */
export function failoverFigures(flows: Arrival[][], r: number, down: number, up: number): FailoverFigures {
  const fig: FailoverFigures = { affected: 0, recovered: 0, failover: 0, returned: 0, failback: 0 };
  for (const f of flows) {
    const before = f.filter((a) => a[0] < down);
    if (!before.length || routerOf(before[before.length - 1][1]) !== r) continue;
    fig.affected++;
    const moved = f.find((a) => a[0] >= down && a[0] < up && routerOf(a[1]) !== r);
    if (moved) {
      fig.recovered++;
      fig.failover = Math.max(fig.failover, moved[0] - down);
    } else {
      fig.failover = Math.max(fig.failover, up - down);
    }
    const back = f.find((a) => a[0] >= up && routerOf(a[1]) === r);
    if (back) {
      fig.returned++;
      fig.failback = Math.max(fig.failback, back[0] - up);
    }
  }
  return fig;
}

/** Sets router `k`'s LAN interface down or up; returns CLOCK_MONOTONIC right after. */
export function routerLink(t: Topology, k: number, state: "up" | "down"): number {
  return monotonicAfter(["ip", "-n", t.routers[k].name, "link", "set", "lan", state]);
}
