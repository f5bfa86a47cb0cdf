// Versions and results on the wire (docs/upstream.md). Expected
// texts are written by hand from Go's rules: MarshalIndent with 4 spaces and no trailing newline;
// 1.x keys sorted at every level (Result.MarshalJSON goes through a map); 0.x in struct field
// order with "dns" always present; 0.1.0/0.2.0 in the ip4/ip6 form.
import { describe, expect, test } from "bun:test";
import { CniError } from "../../src/cni/errors";
import type { Result } from "../../src/cni/types";
import { formatResult } from "../../src/cni/print";
import { convertResult, parsePrevResult, parseResult } from "../../src/cni/result";
import { ALL_VERSIONS, configVersion, greaterThanOrEqualTo, parseVersion, versionsStartingFrom } from "../../src/cni/version";

const FULL: Result = {
  cniVersion: "1.1.0",
  interfaces: [
    { name: "eth0", mac: "0a:58:0a:01:02:03", mtu: 1500, sandbox: "/var/run/netns/pod", socketPath: "/run/sock", pciID: "0000:00:1f.6" },
    { name: "host0" },
  ],
  ips: [
    { address: "10.1.2.3/24", gateway: "10.1.2.1", interface: 0 },
    { address: "2001:db8::3/64", gateway: "2001:db8::1", interface: 0 },
    { address: "10.9.9.9/32" },
  ],
  routes: [
    { dst: "0.0.0.0/0", gw: "10.1.2.1", mtu: 1400, advmss: 1360, priority: 100, table: 0, scope: 0 },
    { dst: "192.168.0.0/16", weight: 2 },
    { dst: "::/0", gw: "2001:db8::1" },
  ],
  dns: { nameservers: ["10.0.0.53"], domain: "example.com", search: ["a.example.com"], options: ["ndots:2"] },
};

const V1 = (v: string) => `{
    "cniVersion": "${v}",
    "dns": {
        "domain": "example.com",
        "nameservers": [
            "10.0.0.53"
        ],
        "options": [
            "ndots:2"
        ],
        "search": [
            "a.example.com"
        ]
    },
    "interfaces": [
        {
            "mac": "0a:58:0a:01:02:03",
            "mtu": 1500,
            "name": "eth0",
            "pciID": "0000:00:1f.6",
            "sandbox": "/var/run/netns/pod",
            "socketPath": "/run/sock"
        },
        {
            "name": "host0"
        }
    ],
    "ips": [
        {
            "address": "10.1.2.3/24",
            "gateway": "10.1.2.1",
            "interface": 0
        },
        {
            "address": "2001:db8::3/64",
            "gateway": "2001:db8::1",
            "interface": 0
        },
        {
            "address": "10.9.9.9/32"
        }
    ],
    "routes": [
        {
            "advmss": 1360,
            "dst": "0.0.0.0/0",
            "gw": "10.1.2.1",
            "mtu": 1400,
            "priority": 100,
            "scope": 0,
            "table": 0
        },
        {
            "dst": "192.168.0.0/16"
        },
        {
            "dst": "::/0",
            "gw": "2001:db8::1"
        }
    ]
}`;

const V04 = (v: string) => `{
    "cniVersion": "${v}",
    "interfaces": [
        {
            "name": "eth0",
            "mac": "0a:58:0a:01:02:03",
            "sandbox": "/var/run/netns/pod"
        },
        {
            "name": "host0"
        }
    ],
    "ips": [
        {
            "version": "4",
            "interface": 0,
            "address": "10.1.2.3/24",
            "gateway": "10.1.2.1"
        },
        {
            "version": "6",
            "interface": 0,
            "address": "2001:db8::3/64",
            "gateway": "2001:db8::1"
        },
        {
            "version": "4",
            "address": "10.9.9.9/32"
        }
    ],
    "routes": [
        {
            "dst": "0.0.0.0/0",
            "gw": "10.1.2.1",
            "mtu": 1400,
            "advmss": 1360,
            "priority": 100,
            "table": 0,
            "scope": 0
        },
        {
            "dst": "192.168.0.0/16"
        },
        {
            "dst": "::/0",
            "gw": "2001:db8::1"
        }
    ],
    "dns": {
        "nameservers": [
            "10.0.0.53"
        ],
        "domain": "example.com",
        "search": [
            "a.example.com"
        ],
        "options": [
            "ndots:2"
        ]
    }
}`;

const V02 = (v: string) => `{
    "cniVersion": "${v}",
    "ip4": {
        "ip": "10.1.2.3/24",
        "gateway": "10.1.2.1",
        "routes": [
            {
                "dst": "0.0.0.0/0",
                "gw": "10.1.2.1"
            },
            {
                "dst": "192.168.0.0/16"
            }
        ]
    },
    "ip6": {
        "ip": "2001:db8::3/64",
        "gateway": "2001:db8::1",
        "routes": [
            {
                "dst": "::/0",
                "gw": "2001:db8::1"
            }
        ]
    },
    "dns": {
        "nameservers": [
            "10.0.0.53"
        ],
        "domain": "example.com",
        "search": [
            "a.example.com"
        ],
        "options": [
            "ndots:2"
        ]
    }
}`;

describe("version lists and parsing", () => {
  test("All and VersionsStartingFrom", () => {
    expect(ALL_VERSIONS).toEqual(["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]);
    expect(versionsStartingFrom("0.3.1")).toEqual(["0.3.1", "0.4.0", "1.0.0", "1.1.0"]);
    expect(versionsStartingFrom("9.9.9")).toEqual([]);
  });

  test("ParseVersion: up to 3 parts, Atoi each, Go's messages", () => {
    expect(parseVersion("1")).toEqual([1, 0, 0]);
    expect(parseVersion("0.4")).toEqual([0, 4, 0]);
    expect(parseVersion("+1.-2.03")).toEqual([1, -2, 3]);
    expect(() => parseVersion("")).toThrow('invalid version "": the version is empty');
    expect(() => parseVersion("1.2.3.4")).toThrow('invalid version "1.2.3.4": too many parts');
    expect(() => parseVersion("v1.0.0")).toThrow('failed to convert major version part "v1": strconv.Atoi: parsing "v1": invalid syntax');
    expect(() => parseVersion("1..0")).toThrow('failed to convert minor version part "": strconv.Atoi: parsing "": invalid syntax');
    expect(() => parseVersion("1.0.99999999999999999999")).toThrow(
      'failed to convert micro version part "99999999999999999999": strconv.Atoi: parsing "99999999999999999999": value out of range',
    );
  });

  test("GreaterThanOrEqualTo", () => {
    expect(greaterThanOrEqualTo("0.4.0", "0.4.0")).toBe(true);
    expect(greaterThanOrEqualTo("1.0.0", "0.4.0")).toBe(true);
    expect(greaterThanOrEqualTo("0.3.1", "0.4.0")).toBe(false);
    expect(greaterThanOrEqualTo("0.10.0", "0.4.0")).toBe(true);
    expect(greaterThanOrEqualTo("1.1", "1.1.0")).toBe(true);
  });

  test("config version: missing, null or empty is 0.1.0; non-string is code 6", () => {
    expect(configVersion({})).toBe("0.1.0");
    expect(configVersion({ cniVersion: "" })).toBe("0.1.0");
    expect(configVersion({ cniVersion: null })).toBe("0.1.0");
    expect(configVersion({ CNIVersion: "0.4.0" })).toBe("0.4.0");
    expect(() => configVersion({ cniVersion: 1 })).toThrow(CniError);
  });
});

describe("formatResult", () => {
  test("1.1.0 and 1.0.0: keys sorted at every level, empty dns omitted", () => {
    expect(formatResult(FULL, "1.1.0")).toBe(V1("1.1.0"));
    expect(formatResult(FULL, "1.0.0")).toBe(V1("1.0.0"));
    expect(formatResult({ cniVersion: "1.1.0", dns: {} }, "1.1.0")).toBe('{\n    "cniVersion": "1.1.0"\n}');
  });

  test("0.4.0, 0.3.1, 0.3.0: struct order, ips[].version from the family, no interface mtu", () => {
    for (const v of ["0.4.0", "0.3.1", "0.3.0"]) expect(formatResult(FULL, v)).toBe(V04(v));
  });

  test("0.x prints dns even when empty", () => {
    expect(formatResult({ cniVersion: "1.1.0" }, "0.4.0")).toBe('{\n    "cniVersion": "0.4.0",\n    "dns": {}\n}');
  });

  test("0.2.0 and 0.1.0: first address per family, routes by destination family, dst+gw only", () => {
    for (const v of ["0.2.0", "0.1.0"]) expect(formatResult(FULL, v)).toBe(V02(v));
  });

  test("0.2.0 without any address: cannot convert (code 999)", () => {
    const l2: Result = { cniVersion: "1.1.0", interfaces: [{ name: "eth0", mac: "aa:bb:cc:dd:ee:ff" }] };
    expect(() => formatResult(l2, "0.2.0")).toThrow("cannot convert: no valid IP addresses");
    try {
      formatResult(l2, "0.1.0");
    } catch (e) {
      expect((e as CniError).code).toBe(999);
    }
  });

  test("routes of a family without an address are dropped in 0.2.0", () => {
    const r: Result = { cniVersion: "1.1.0", ips: [{ address: "10.0.0.2/24" }], routes: [{ dst: "::/0" }, { dst: "10.1.0.0/16" }] };
    expect(formatResult(r, "0.2.0")).toBe(`{
    "cniVersion": "0.2.0",
    "ip4": {
        "ip": "10.0.0.2/24",
        "routes": [
            {
                "dst": "10.1.0.0/16"
            }
        ]
    },
    "dns": {}
}`);
  });

  test("addresses print as Go prints them: host bits kept, IPv6 canonical, IPv4-mapped as IPv4", () => {
    const r: Result = {
      cniVersion: "1.1.0",
      ips: [{ address: "2001:DB8:0:0:1:0:0:1/64", gateway: "2001:db8::0:1" }, { address: "::ffff:10.0.0.1/120" }],
      routes: [{ dst: "10.0.0.0/8", gw: "::ffff:10.0.0.1" }],
    };
    expect(formatResult(r, "1.1.0")).toBe(`{
    "cniVersion": "1.1.0",
    "ips": [
        {
            "address": "2001:db8::1:0:0:1/64",
            "gateway": "2001:db8::1"
        },
        {
            "address": "10.0.0.1/24"
        }
    ],
    "routes": [
        {
            "dst": "10.0.0.0/8",
            "gw": "10.0.0.1"
        }
    ]
}`);
  });

  test("internal route fields (weight, gws) are never printed; strings are escaped like Go", () => {
    const r: Result = {
      cniVersion: "1.1.0",
      interfaces: [{ name: "a<b>&c" }],
      routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.1", gws: ["10.0.0.1", "10.0.0.2"], weight: 5 }],
    };
    const text = formatResult(r, "1.1.0");
    expect(text).not.toContain("weight");
    expect(text).not.toContain("gws");
    expect(text).toContain('"name": "a\\u003cb\\u003e\\u0026c"');
  });

  test("unknown version: no converter", () => {
    expect(() => formatResult(FULL, "0.5.0")).toThrow("no converter for CNI result version 1.1.0 to 0.5.0");
  });
});

describe("parseResult and parsePrevResult", () => {
  test("every version's output reads back as what that version carries", () => {
    const v1 = parseResult(JSON.parse(formatResult(FULL, "1.0.0")), "1.0.0");
    const { routes, ...rest } = FULL;
    expect(v1).toEqual({ ...rest, routes: routes!.map(({ weight, ...r }) => r) });

    const v04 = parseResult(JSON.parse(formatResult(FULL, "0.4.0")), "0.4.0");
    expect(v04.interfaces).toEqual([{ name: "eth0", mac: "0a:58:0a:01:02:03", sandbox: "/var/run/netns/pod" }, { name: "host0" }]);
    expect(v04.ips).toEqual(FULL.ips); // version dropped
    expect(v04.routes).toEqual(routes!.map(({ weight, ...r }) => r));
    expect(v04.dns).toEqual(FULL.dns);

    const v02 = parseResult(JSON.parse(formatResult(FULL, "0.2.0")), "0.2.0");
    expect(v02).toEqual({
      cniVersion: "1.1.0",
      ips: [
        { address: "10.1.2.3/24", gateway: "10.1.2.1" },
        { address: "2001:db8::3/64", gateway: "2001:db8::1" },
      ],
      routes: [{ dst: "0.0.0.0/0", gw: "10.1.2.1" }, { dst: "192.168.0.0/16" }, { dst: "::/0", gw: "2001:db8::1" }],
      dns: FULL.dns,
    });
  });

  test("the result's version must belong to the type of the version asked for", () => {
    expect(() => parseResult({ cniVersion: "0.4.0" }, "1.0.0")).toThrow('result type supports [1.0.0 1.1.0] but unmarshalled CNIVersion is "0.4.0"');
    expect(() => parseResult({ cniVersion: "1.1.0" }, "0.3.1")).toThrow('result type supports [0.3.0 0.3.1 0.4.0] but unmarshalled CNIVersion is "1.1.0"');
    expect(() => parseResult({ cniVersion: "0.4.0" }, "0.2.0")).toThrow('result type supports [ 0.1.0 0.2.0] but unmarshalled CNIVersion is "0.4.0"');
    expect(() => parseResult({}, "2.0.0")).toThrow('unsupported CNI result version "2.0.0"');
  });

  test("Go decoding: any key case, bad addresses, wrong types", () => {
    expect(parseResult({ CNIVERSION: "1.0.0", IPs: [{ Address: "10.0.0.1/8" }] }, "1.0.0").ips).toEqual([{ address: "10.0.0.1/8" }]);
    expect(() => parseResult({ cniVersion: "1.0.0", ips: [{ address: "10.0.0.1" }] }, "1.0.0")).toThrow("invalid CIDR address: 10.0.0.1");
    expect(() => parseResult({ cniVersion: "1.0.0", ips: [{ address: "10.0.0.1/8", gateway: "10.0.0.256" }] }, "1.0.0")).toThrow(
      "invalid IP address: 10.0.0.256",
    );
    expect(() => parseResult({ cniVersion: "1.0.0", routes: [{ dst: "0.0.0.0/0", mtu: "1500" }] }, "1.0.0")).toThrow(
      "json: cannot unmarshal string into Go struct field route.mtu of type int",
    );
    expect(() => parseResult([], "1.0.0")).toThrow("json: cannot unmarshal array into Go value of type types100.Result");
  });

  test("routes accept an extra gws array when read", () => {
    const r = parseResult({ cniVersion: "1.1.0", routes: [{ dst: "0.0.0.0/0", gws: ["10.0.0.1", "FD00::0:2"] }] }, "1.1.0");
    expect(r.routes).toEqual([{ dst: "0.0.0.0/0", gws: ["10.0.0.1", "fd00::2"] }]);
    expect(() => parseResult({ cniVersion: "1.1.0", routes: [{ dst: "0.0.0.0/0", gws: ["10.0.0.01"] }] }, "1.1.0")).toThrow("invalid IP address: 10.0.0.01");
  });

  test("no prevResult: undefined", () => {
    expect(parsePrevResult({ cniVersion: "1.0.0" })).toBeUndefined();
    expect(parsePrevResult({ cniVersion: "1.0.0", prevResult: null })).toBeUndefined();
  });

  test("prevResult without a version takes the config's", () => {
    const pr = parsePrevResult({ cniVersion: "0.4.0", prevResult: { ips: [{ version: "4", address: "10.0.0.2/24" }] } });
    expect(pr).toEqual({ cniVersion: "1.1.0", ips: [{ address: "10.0.0.2/24" }] });
  });

  test("prevResult in the 0.1.0/0.2.0 ip4/ip6 form", () => {
    const pr = parsePrevResult({
      cniVersion: "0.2.0",
      prevResult: {
        cniVersion: "0.2.0",
        ip4: { ip: "10.0.0.2/24", gateway: "10.0.0.1", routes: [{ dst: "0.0.0.0/0" }] },
        ip6: { ip: "fd00::2/64", routes: [{ dst: "::/0", gw: "fd00::1" }] },
        dns: { nameservers: ["1.1.1.1"] },
      },
    });
    expect(pr).toEqual({
      cniVersion: "1.1.0",
      ips: [{ address: "10.0.0.2/24", gateway: "10.0.0.1" }, { address: "fd00::2/64" }],
      routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0", gw: "fd00::1" }],
      dns: { nameservers: ["1.1.1.1"] },
    });
  });

  test("prevResult from another version family is an error naming both", () => {
    expect(() => parsePrevResult({ cniVersion: "1.0.0", prevResult: { cniVersion: "0.4.0" } })).toThrow(
      'could not parse prevResult: result type supports [1.0.0 1.1.0] but unmarshalled CNIVersion is "0.4.0"',
    );
    // 0.3.x/0.4.0 are one result type
    expect(parsePrevResult({ cniVersion: "0.4.0", prevResult: { cniVersion: "0.3.1" } })).toEqual({ cniVersion: "1.1.0" });
  });

  test("a cniVersion key wins over the injected CNIVersion; an explicit CNIVersion is kept", () => {
    expect(() => parsePrevResult({ cniVersion: "1.0.0", prevResult: { cniVersion: "" } })).toThrow(
      'could not parse prevResult: result type supports [1.0.0 1.1.0] but unmarshalled CNIVersion is ""',
    );
    expect(parsePrevResult({ cniVersion: "1.1.0", prevResult: { CNIVersion: "1.0.0", ips: [] } })).toEqual({ cniVersion: "1.1.0" });
    expect(() => parsePrevResult({ cniVersion: "1.1.0", prevResult: { CNIVersion: "0.4.0" } })).toThrow(
      'but unmarshalled CNIVersion is "0.4.0"',
    );
  });

  test("prevResult key matches case-insensitively; the error is code 999", () => {
    expect(parsePrevResult({ cniVersion: "1.0.0", PrevResult: { ips: [{ address: "10.0.0.2/24" }] } })?.ips).toHaveLength(1);
    try {
      parsePrevResult({ cniVersion: "1.0.0", prevResult: "x" });
      throw new Error("unreachable");
    } catch (e) {
      expect((e as CniError).code).toBe(999);
      expect((e as CniError).message).toStartWith("could not parse prevResult: json: cannot unmarshal string");
    }
  });
});

describe("convertResult (what a reader of that version gets back)", () => {
  test("1.x: unchanged", () => {
    expect(convertResult(FULL, "1.0.0")).toEqual(FULL);
  });

  test("0.4.0: interfaces lose mtu/socketPath/pciID; route weights survive", () => {
    const r = convertResult(FULL, "0.4.0");
    expect(r.interfaces![0]).toEqual({ name: "eth0", mac: "0a:58:0a:01:02:03", sandbox: "/var/run/netns/pod" });
    expect(r.routes).toEqual(FULL.routes);
  });

  test("0.2.0: one address per family, no interfaces", () => {
    const r = convertResult(FULL, "0.2.0");
    expect(r.interfaces).toBeUndefined();
    expect(r.ips).toEqual([
      { address: "10.1.2.3/24", gateway: "10.1.2.1" },
      { address: "2001:db8::3/64", gateway: "2001:db8::1" },
    ]);
    expect(r.routes).toEqual([{ dst: "0.0.0.0/0", gw: "10.1.2.1" }, { dst: "192.168.0.0/16", weight: 2 }, { dst: "::/0", gw: "2001:db8::1" }]);
  });
});
