// CNI_ARGS with Go's types.LoadArgs semantics (docs/upstream.md).
import { describe, expect, test } from "bun:test";
import { loadArgs } from "../../src/cni/args";
import { CniError } from "../../src/cni/errors";

const KNOWN = ["IP", "GATEWAY", "MAC"];

function err(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    return e as CniError;
  }
  throw new Error("expected an error");
}

describe("loadArgs", () => {
  test("empty string: nothing", () => {
    expect(loadArgs("", KNOWN)).toEqual({});
  });

  test("known keys, values verbatim, last duplicate wins", () => {
    expect(loadArgs("IP=10.0.0.2/24,10.0.1.2/24;MAC=00:11:22:33:44:55", KNOWN)).toEqual({
      IP: "10.0.0.2/24,10.0.1.2/24",
      MAC: "00:11:22:33:44:55",
    });
    expect(loadArgs("IP=1;IP=2", KNOWN)).toEqual({ IP: "2" });
    expect(loadArgs("IP=", KNOWN)).toEqual({ IP: "" });
  });

  test("a pair must split on '=' into exactly two parts", () => {
    for (const [s, pair] of [
      ["IP", "IP"],
      ["IP=a=b", "IP=a=b"],
      ["IP=1;", ""],
      [";IP=1", ""],
      ["IP=1;;MAC=2", ""],
      ["IgnoreUnknown=1;X", "X"],
    ]) {
      const e = err(() => loadArgs(s, KNOWN));
      expect(e.message).toBe(`ARGS: invalid pair ${JSON.stringify(pair)}`);
      expect(e.code).toBe(999);
    }
  });

  test("keys are case-sensitive; unknown ones are listed with %q", () => {
    const e = err(() => loadArgs("ip=1;K8S_POD_NAME=p;IP=2", KNOWN));
    expect(e.message).toBe('ARGS: unknown args ["ip=1" "K8S_POD_NAME=p"]');
  });

  test("IgnoreUnknown=1/true in any case ignores unknown keys, wherever it appears", () => {
    for (const v of ["1", "true", "TRUE", "True"]) {
      expect(loadArgs(`K8S_POD_NAME=p;IgnoreUnknown=${v};IP=3`, KNOWN)).toEqual({ IP: "3" });
    }
  });

  test("IgnoreUnknown=0/false, and the last value wins", () => {
    expect(err(() => loadArgs("IgnoreUnknown=0;X=1", KNOWN)).message).toBe('ARGS: unknown args ["X=1"]');
    expect(err(() => loadArgs("IgnoreUnknown=1;IgnoreUnknown=false;X=1", KNOWN)).message).toBe('ARGS: unknown args ["X=1"]');
    expect(loadArgs("IgnoreUnknown=false;IgnoreUnknown=1;X=1", KNOWN)).toEqual({});
  });

  test("IgnoreUnknown's key is case-sensitive too; a bad value is an error", () => {
    expect(err(() => loadArgs("ignoreunknown=1;X=1", KNOWN)).message).toBe('ARGS: unknown args ["ignoreunknown=1" "X=1"]');
    expect(err(() => loadArgs("IgnoreUnknown=yes", KNOWN)).message).toBe(
      'ARGS: error parsing value of pair "IgnoreUnknown=yes": boolean unmarshal error: invalid input yes)',
    );
  });

  test("IgnoreUnknown is returned only when asked for", () => {
    expect(loadArgs("IgnoreUnknown=1", KNOWN)).toEqual({});
    expect(loadArgs("IgnoreUnknown=1", ["IgnoreUnknown"])).toEqual({ IgnoreUnknown: "1" });
  });
});
