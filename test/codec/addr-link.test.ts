// Address and link dumps captured from the kernel (vectors/addr.txt, vectors/link.txt).
// Addresses: fields and byte-exact re-emission. Links: fields only (a link dump carries dozens
// of attributes the codec skips).
import { describe, expect, test } from "bun:test";
import { ensureWasm, hex, ip, loadVectors, messages, msgType } from "./helpers";

ensureWasm();
const { Codec, STATUS_DONE, STATUS_MORE } = await import("../../src/netlink/codec.ts");
const L = await import("../../codec/layout.ts");

function parseFile(file: string, lo: number, hi: number) {
  const c = new Codec();
  const original: Uint8Array[] = [];
  const statuses: number[] = [];
  for (const b of loadVectors(file)) {
    for (const m of messages(b.bytes)) if (msgType(m) >= lo && msgType(m) <= hi) original.push(m);
    c.recvView().set(b.bytes);
    statuses.push(c.parse(b.bytes.length));
  }
  return { c, original, statuses };
}

describe("address dump from the kernel", () => {
  const { c, original, statuses } = parseFile("addr.txt", 20, 22);
  const a = c.addrs;
  const byAddr = (s: string) => {
    for (let i = 0; i < a.count; i++) if (hex(a.address(i)!) === hex(ip(s))) return i;
    throw new Error(`no address ${s}`);
  };

  test("parses into one row per RTM_NEWADDR", () => {
    expect(statuses).toEqual([STATUS_MORE, STATUS_DONE]);
    expect(a.count).toBe(original.length);
    expect(a.count).toBe(14);
  });

  test("every address message re-encodes byte for byte", () => {
    for (let i = 0; i < a.count; i++) {
      const n = c.reencodeAddr(i);
      expect({ i, bytes: hex(c.requestView(n)) }).toEqual({ i, bytes: hex(original[i]) });
    }
  });

  // ip addr add 10.0.2.1/24 brd + dev veth4 label veth4:lbl
  test("IPv4: address, local, broadcast, label, flags, lifetimes", () => {
    const i = byAddr("10.0.2.1");
    expect([a.type(i), a.family(i), a.prefixlen(i), a.scope(i), a.index(i)]).toEqual([20, 2, 24, 0, 14]);
    expect(a.local(i)).toEqual(ip("10.0.2.1"));
    expect(a.broadcast(i)).toEqual(ip("10.0.2.255"));
    expect(a.label(i)).toBe("veth4:lbl");
    expect(a.flags(i)).toBe(0x80); // IFA_F_PERMANENT
    expect(a.present(i)).toBe(L.AD_HAS_ADDRESS | L.AD_HAS_LOCAL | L.AD_HAS_BROADCAST | L.AD_HAS_LABEL | L.AD_HAS_FLAGS | L.AD_HAS_CACHEINFO);
    expect(a.lifetimes(i)).toEqual({ preferred: 0xffffffff, valid: 0xffffffff });
  });

  // ip -6 addr add 2001:db8:2::1/64 dev veth4 nodad preferred_lft 300 valid_lft 600
  test("IPv6: IFA_ADDRESS only, IFA_FLAGS, lifetimes", () => {
    const i = byAddr("2001:db8:2::1");
    expect([a.family(i), a.prefixlen(i), a.index(i)]).toEqual([10, 64, 14]);
    expect(a.local(i)).toBeUndefined();
    expect(a.label(i)).toBe("");
    expect(a.flags(i)).toBe(0x02); // IFA_F_NODAD, not permanent (finite lifetime)
    expect(a.lifetimes(i)).toEqual({ preferred: 300, valid: 600 });
    const ll = c.addrs;
    let linkLocal = 0;
    for (let k = 0; k < ll.count; k++) if (ll.family(k) === 10 && ll.scope(k) === 253) linkLocal++;
    expect(linkLocal).toBe(6); // veth0 veth1 veth2 veth4 veth5 mv0 (br0 has no carrier yet)
  });
});

describe("link dump from the kernel", () => {
  const { c, original, statuses } = parseFile("link.txt", 16, 18);
  const l = c.links;
  const byName = (s: string) => {
    for (let i = 0; i < l.count; i++) if (l.ifname(i) === s) return i;
    throw new Error(`no link ${s}`);
  };

  test("parses into one row per RTM_NEWLINK, skipping the attributes it does not keep", () => {
    expect(statuses).toEqual([STATUS_MORE, STATUS_DONE]);
    expect(l.count).toBe(original.length);
    expect(Array.from({ length: l.count }, (_, i) => l.ifname(i))).toEqual(["lo", "veth0", "veth1", "veth2", "veth4", "veth5", "mv0", "br0"]);
  });

  test("loopback", () => {
    const i = byName("lo");
    expect([l.index(i), l.ifiType(i), l.mtu(i), l.kind(i), l.master(i), l.linkNetnsId(i)]).toEqual([1, 772, 65536, "", 0, -1]);
    expect(l.address(i)).toEqual(new Uint8Array(6));
    expect(l.flags(i) & 1).toBe(1); // IFF_UP
  });

  // ip link add veth0 index 10 type veth peer name veth1 index 11
  test("veth pair in one namespace", () => {
    const i = byName("veth0");
    expect([l.type(i), l.index(i), l.ifiType(i), l.mtu(i), l.kind(i), l.link(i), l.operstate(i), l.linkNetnsId(i)])
      .toEqual([16, 10, 1, 1500, "veth", 11, 6, -1]);
    expect(l.address(i).length).toBe(6);
    expect(l.present(i) & L.LN_HAS_MODE).toBe(0);
  });

  // ip link add veth2 index 12 type veth peer name vpeer index 13 netns peer
  test("veth whose peer is in another namespace: IFLA_LINK_NETNSID", () => {
    const i = byName("veth2");
    expect([l.link(i), l.linkNetnsId(i)]).toEqual([13, 0]);
  });

  // ip link add mv0 index 20 link veth1 type macvlan mode bridge
  test("macvlan: kind, IFLA_INFO_DATA mode, lower device", () => {
    const i = byName("mv0");
    expect([l.index(i), l.kind(i), l.mode(i), l.link(i)]).toEqual([20, "macvlan", 4, 11]);
    expect(l.present(i) & L.LN_HAS_MODE).toBe(L.LN_HAS_MODE);
  });

  // ip link add br0 index 30 type bridge; ip link set veth5 master br0
  test("bridge port: IFLA_MASTER", () => {
    expect(l.master(byName("veth5"))).toBe(30);
    expect(l.kind(byName("br0"))).toBe("bridge");
    expect(l.master(byName("veth4"))).toBe(0);
  });

  test("re-emission keeps the attributes of the row, in the kernel's order", () => {
    const i = byName("mv0");
    const n = c.reencodeLink(i);
    const d = new Codec();
    d.recvView().set(c.requestView(n));
    expect(d.parse(n)).toBe(STATUS_MORE);
    expect([d.links.ifname(0), d.links.kind(0), d.links.mode(0), d.links.link(0), d.links.mtu(0), d.links.operstate(0)])
      .toEqual(["mv0", "macvlan", 4, 11, 1500, 6]);
    expect(d.links.address(0)).toEqual(l.address(i));
    const n2 = d.reencodeLink(0);
    expect(hex(d.requestView(n2))).toBe(hex(c.requestView(c.reencodeLink(i))));
  });
});
