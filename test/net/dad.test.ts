// waitForDad (src/net/dad.ts) against this machine's kernel with its default DAD: a veth a0 in a
// pod netns, its peer a0p in a lan netns. The wait is driven by RTNLGRP_IPV6_IFADDR
// notifications: it must return only once no IPv6 address of a0 is tentative (the global one and
// the link-local one the kernel adds at link-up), fail on DADFAILED, and accept addresses left
// tentative on a link without carrier. No timing is asserted.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { CniError } from "../../src/cni/errors";
import { waitForDad } from "../../src/net/dad";
import { RTNLGRP_IPV6_IFADDR } from "../../src/netlink/constants";
import { linkByName } from "../../src/netlink/link";
import { NetlinkSocket } from "../../src/netlink/socket";
import { cleanupNetns, createNetns, ipJson, sh, type Netns } from "../lib/netns";

interface AddrInfo { family: string; local: string; scope: string; tentative?: boolean; dadfailed?: boolean }

let pod: Netns, lan: Netns;
let sock: NetlinkSocket, notify: NetlinkSocket;

const v6 = () => (ipJson(["-6", "addr", "show", "dev", "a0"], pod.name) as { addr_info: AddrInfo[] }[]).flatMap((l) => l.addr_info);

beforeEach(() => {
  pod = createNetns();
  lan = createNetns();
  sh(["ip", "-n", pod.name, "link", "add", "a0", "type", "veth", "peer", "name", "a0p", "netns", lan.name]);
  sock = NetlinkSocket.open(pod.path);
  // Joined before any address exists, as configureInterface does.
  notify = NetlinkSocket.open(pod.path, [RTNLGRP_IPV6_IFADDR]);
});

afterEach(() => {
  sock?.close();
  notify?.close();
  cleanupNetns();
});

/** a0 gets 2001:db8:d::10/64 while down (tentative), then is set up. */
function addAndUp(): number {
  sh(["ip", "-n", pod.name, "addr", "add", "2001:db8:d::10/64", "dev", "a0"]);
  sh(["ip", "-n", pod.name, "link", "set", "a0", "up"]);
  return linkByName(sock, "a0")!.index;
}

describe("waitForDad on the kernel's DAD", () => {
  test("returns once the global and the link-local address have left tentative", () => {
    sh(["ip", "-n", lan.name, "link", "set", "a0p", "up"]);
    const index = addAndUp();
    // DAD takes the kernel at least a retransmit interval (1 s): both are tentative now.
    const before = v6();
    expect(before.filter((a) => a.tentative).map((a) => a.scope).sort()).toEqual(["global", "link"]);
    waitForDad(sock, notify, index, "a0");
    const after = v6();
    expect(after.map((a) => ({ scope: a.scope, tentative: a.tentative ?? false, dadfailed: a.dadfailed ?? false })).sort((x, y) => x.scope.localeCompare(y.scope)))
      .toEqual([{ scope: "global", tentative: false, dadfailed: false }, { scope: "link", tentative: false, dadfailed: false }]);
    expect(after.find((a) => a.scope === "global")!.local).toBe("2001:db8:d::10");
  });

  test("fails with DADFAILED when another host on the link holds the address", () => {
    sh(["ip", "-n", lan.name, "addr", "add", "2001:db8:d::10/64", "dev", "a0p", "nodad"]);
    sh(["ip", "-n", lan.name, "link", "set", "a0p", "up"]);
    const index = addAndUp();
    let err: unknown;
    try {
      waitForDad(sock, notify, index, "a0");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CniError);
    expect((err as CniError).message).toBe("link a0 has address 2001:db8:d::10 in DADFAILED state");
    expect(v6().find((a) => a.local === "2001:db8:d::10")!.dadfailed).toBe(true);
  });

  test("a link without carrier: addresses left tentative are not an error (as upstream)", () => {
    // a0p stays down: a0 is up but not running, the kernel does not start DAD.
    const index = addAndUp();
    waitForDad(sock, notify, index, "a0", 300);
    expect(v6().find((a) => a.local === "2001:db8:d::10")!.tentative).toBe(true);
  });
});
