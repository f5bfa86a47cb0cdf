// test/bench/tabledump.ts -- run by bench.ts as its own process:
//
//   bun test/bench/tabledump.ts NETNS_PATH FAMILY TABLE WARM
//
// Times ONE route dump filtered in the kernel by family and table (codec.encodeRouteDump: rtm_family,
// rtm_table and RTA_TABLE, on a socket with NETLINK_GET_STRICT_CHK, which NetlinkSocket.open sets)
// through NetlinkSocket.dump and the wasm codec into its row tables: first in this fresh process
// (cold: JIT, codec instantiate and the tables' growth -- what a CLI command pays for the read),
// then WARM more times. Prints one JSON line: {"rows":N,"cold":ms,"warm":[ms...],"instantiate":ms}.
import { codec } from "../../src/netlink/codec";
import { NetlinkSocket } from "../../src/netlink/socket";

const [path, familyArg, tableArg, warmArg] = process.argv.slice(2);
const family = Number(familyArg), table = Number(tableArg), warm = Number(warmArg ?? "5");

/** The codec's filtered route dump request (what RouteTables sends). */
const encodeFiltered = (seq: number) => codec.encodeRouteDump(seq, family, { table });

const t0 = performance.now();
codec.reset(); // instantiates the wasm codec
const instantiate = performance.now() - t0;
const sock = NetlinkSocket.open(path);
try {
  const once = () => {
    const t = performance.now();
    sock.dump(encodeFiltered);
    return performance.now() - t;
  };
  const cold = once();
  const rows = codec.routes.count;
  const times: number[] = [];
  for (let i = 0; i < warm; i++) times.push(once());
  process.stdout.write(JSON.stringify({ rows, cold, warm: times, instantiate }) + "\n");
} finally {
  sock.close();
}
