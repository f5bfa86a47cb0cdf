// test/bench/vrf-guest.ts -- run by bench.ts inside the test VM (the host kernel has no vrf):
// vrf ADD and DEL, whole process under the C timer, nexthop vs Debian's Go vrf, alternating,
// a fresh netns per run (dummy0 up with an address and a gateway route, as a chain's first
// plugin leaves it).
//
//   bun test/bench/vrf-guest.ts TIMER NH_VRF GO_VRF N OUT.json
import { writeFileSync } from "node:fs";

const [timer, nhVrf, goVrf, nText, out] = process.argv.slice(2);
const N = Number(nText);
const sh = (cmd: string[]) => {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
};
const conf = JSON.stringify({
  cniVersion: "1.0.0", name: "bench", type: "vrf", vrfname: "blue", table: 1001,
  prevResult: { cniVersion: "1.0.0", interfaces: [{ name: "dummy0" }], ips: [{ address: "10.0.0.2/24", gateway: "10.0.0.1", interface: 0 }] },
});
writeFileSync("/tmp/vrf-bench.json", conf);

function run(bin: string, command: string, ns: string): number {
  const env = [`CNI_COMMAND=${command}`, "CNI_CONTAINERID=bench", `CNI_NETNS=/var/run/netns/${ns}`, "CNI_IFNAME=dummy0", "CNI_PATH=/usr/lib/cni", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"];
  const r = Bun.spawnSync(["env", "-i", ...env, timer, "-i", "/tmp/vrf-bench.json", "-o", "/dev/null", "--", bin], { stdout: "pipe", stderr: "pipe" });
  const line = r.stdout.toString().trim();
  const kv = Object.fromEntries(line.split(" ").map((p) => p.split("=")));
  if (r.exitCode !== 0 || kv.exit !== "0") throw new Error(`${bin} ${command}: ${line} ${r.stderr.toString()}`);
  return Number(kv.wall_us) / 1000;
}

const samples: Record<string, { add: number[]; del: number[] }> = { nexthop: { add: [], del: [] }, go: { add: [], del: [] } };
for (let i = 0; i < N + 1; i++) {
  for (const impl of i % 2 ? ["go", "nexthop"] : ["nexthop", "go"]) {
    const ns = `nh-vrfbench-${i}-${impl}`;
    sh(["ip", "netns", "add", ns]);
    try {
      sh(["ip", "-n", ns, "link", "add", "dummy0", "type", "dummy"]);
      sh(["ip", "-n", ns, "addr", "add", "10.0.0.2/24", "dev", "dummy0"]);
      sh(["ip", "-n", ns, "link", "set", "dummy0", "up"]);
      sh(["ip", "-n", ns, "route", "add", "10.10.0.0/16", "via", "10.0.0.1"]);
      const bin = impl === "go" ? goVrf : nhVrf;
      const add = run(bin, "ADD", ns);
      const del = run(bin, "DEL", ns);
      if (i > 0) { // the first round warms the page cache
        samples[impl].add.push(add);
        samples[impl].del.push(del);
      }
    } finally {
      sh(["ip", "netns", "del", ns]);
    }
  }
}
writeFileSync(out, JSON.stringify({ kernel: sh(["uname", "-r"]).trim(), samples }));
