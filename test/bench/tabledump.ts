// test/bench/tabledump.ts -- run by bench.ts as its own process:
//
//   bun test/bench/tabledump.ts NETNS_PATH FAMILY TABLE WARM
//
// Times ONE route dump filtered in the kernel by family and table (RTM_GETROUTE with rtm_family,
// rtm_table and RTA_TABLE on a socket with NETLINK_GET_STRICT_CHK, which NetlinkSocket.open sets)
// through NetlinkSocket.dump and the wasm codec into its row tables: first in this fresh process
// (cold: JIT, codec instantiate and the tables' growth -- what a CLI command pays for the read),
// then WARM more times. Prints one JSON line: {"rows":N,"cold":ms,"warm":[ms...],"instantiate":ms}.
import { codec } from "../../src/netlink/codec";
import { NLM_F_DUMP, NLM_F_REQUEST, RTM_GETROUTE } from "../../src/netlink/constants";
import { NetlinkSocket } from "../../src/netlink/socket";

const RTA_TABLE = 15; // <linux/rtnetlink.h>
const [path, familyArg, tableArg, warmArg] = process.argv.slice(2);
const family = Number(familyArg), table = Number(tableArg), warm = Number(warmArg ?? "5");

/** nlmsghdr + rtmsg + RTA_TABLE (u32), written into the codec's request region. */
function encodeFiltered(seq: number): number {
  const len = 16 + 12 + 8;
  const b = codec.requestView(len);
  b.fill(0);
  const v = new DataView(b.buffer, b.byteOffset, len);
  v.setUint32(0, len, true);
  v.setUint16(4, RTM_GETROUTE, true);
  v.setUint16(6, NLM_F_REQUEST | NLM_F_DUMP, true);
  v.setUint32(8, seq, true);
  b[16] = family; // rtm_family
  b[20] = table < 256 ? table : 252; // rtm_table (RT_TABLE_COMPAT above 255)
  v.setUint16(28, 8, true);
  v.setUint16(30, RTA_TABLE, true);
  v.setUint32(32, table, true);
  return len;
}

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
