// Section 4 of `npm run bench`: failover and failback times of the `multipath` option, measured
// with real UDP flows (test/net/topology.ts: a pod, two routers on net1's L2 network, a
// destination behind both). Per run: 64 flows per family at 20 packets/s, router 1's LAN link
// goes down after 2 s and comes back HOLD s later. Failover = until the last of router 1's flows
// reached the destination through router 2; failback = until the last of them came back to
// router 1. Medians over N runs, per configuration and family.
import { join } from "node:path";
import { pluginDir, runCni } from "../lib/cni";
import { buildTopology, failoverFigures, flowsOf, net1Ipam, routerLink, startTraffic } from "../net/topology";

const HOLD_S = 8;
const AFTER_S = 6;

export interface FailoverRow {
  config: string;
  family: "v4" | "v6";
  runs: { failover?: number; failback?: number; affected: number; blackholed: number }[];
}

const CONFIGS: [string, unknown][] = [
  ["kernel defaults, no failover", { hashPolicy: "l4" }],
  ["failover, default timers (failoverMs 3000)", { hashPolicy: "l4", failover: true }],
  ["failover, failoverMs 6000", { hashPolicy: "l4", failover: true, failoverMs: 6000 }],
];

async function oneRun(bin: string, mp: unknown): Promise<Record<"v4" | "v6", FailoverRow["runs"][number]>> {
  const t = buildTopology();
  try {
    const config = { cniVersion: "1.1.0", name: "nh-bench-mp", type: "macvlan", master: t.parent, multipath: mp, ipam: net1Ipam(false) };
    const r = runCni({ dir: bin, plugin: "macvlan", command: "ADD", config, netns: t.pod.path, ifname: "net1", containerId: "nh-bench-mp" });
    if (r.exitCode !== 0) throw new Error(`ADD failed: ${r.stdout}`);
    const traffic = await startTraffic(t, { seconds: 2 + HOLD_S + AFTER_S });
    await Bun.sleep(2000);
    const down = routerLink(t, 1, "down");
    await Bun.sleep(HOLD_S * 1000);
    const up = routerLink(t, 1, "up");
    const { flows } = await traffic.done;
    runCni({ dir: bin, plugin: "macvlan", command: "DEL", config, netns: t.pod.path, ifname: "net1", containerId: "nh-bench-mp" });
    const out = {} as Record<"v4" | "v6", FailoverRow["runs"][number]>;
    for (const fam of ["v4", "v6"] as const) {
      const fig = failoverFigures(flowsOf(flows, fam), 1, down, up);
      out[fam] = {
        affected: fig.affected,
        failover: fig.recovered === fig.affected && fig.affected > 0 ? fig.failover : undefined,
        // Flows that never moved away have no failback to measure (their packets were lost instead).
        failback: fig.recovered === fig.affected && fig.returned === fig.affected && fig.affected > 0 ? fig.failback : undefined,
        blackholed: fig.affected - fig.recovered,
      };
    }
    return out;
  } finally {
    t.delete();
  }
}

/** Runs every configuration `n` times; returns the rows (times in seconds, undefined = never within the window). */
export async function benchFailover(n: number): Promise<FailoverRow[]> {
  const bin = pluginDir();
  try {
    const rows: FailoverRow[] = CONFIGS.flatMap(([config]) => (["v4", "v6"] as const).map((family) => ({ config, family, runs: [] })));
    for (let i = 0; i < n; i++) {
      for (const [config, mp] of CONFIGS) {
        const r = await oneRun(bin.dir, mp);
        for (const fam of ["v4", "v6"] as const) rows.find((x) => x.config === config && x.family === fam)!.runs.push(r[fam]);
      }
    }
    return rows;
  } finally {
    bin.dispose();
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : undefined;
};

/** Markdown table: median failover / failback per configuration and family, with the never-counts. */
export function failoverTable(rows: FailoverRow[]): string[][] {
  const cell = (xs: (number | undefined)[], window: number) => {
    const got = xs.filter((x): x is number => x !== undefined);
    const never = xs.length - got.length;
    const m = median(got);
    const text = m === undefined ? `never (> ${window} s)` : `**${m.toFixed(2)} s** (${got.map((x) => x.toFixed(1)).join(", ")})`;
    return never && got.length ? `${text}; ${never}/${xs.length} runs never (> ${window} s)` : text;
  };
  return rows.map((r) => {
    const lost = r.runs.reduce((n, x) => n + x.blackholed, 0);
    const back = r.runs.every((x) => x.blackholed === x.affected)
      ? "– (the flows never left the dead router)"
      : cell(r.runs.map((x) => x.failback), AFTER_S);
    const over = cell(r.runs.map((x) => x.failover), HOLD_S) + (lost ? `; ${lost} flows blackholed over ${r.runs.length} runs` : "");
    return [r.config, r.family === "v4" ? "IPv4" : "IPv6", String(r.runs.length), over, back];
  });
}

export const FAILOVER_WINDOWS = { hold: HOLD_S, after: AFTER_S, flows: 64, rate: 20, dir: join(import.meta.dir) };
