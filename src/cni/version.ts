// CNI spec versions as the Go library (containernetworking/cni v1.3, pkg/version) handles them:
// the version lists, ParseVersion / GreaterThanOrEqualTo, the config's cniVersion, and which
// versions share a result type. Results on the wire are in ./result.ts (wire types, conversion,
// parsing) and ./print.ts (printing).
import { CniError, ErrCode } from "./errors.ts";
import { goField, goKind, isObject } from "./go/json.ts";
import { goQuote } from "./go/quote.ts";
import { ALL_VERSIONS } from "./versions.ts";

// The version lists themselves live in ./versions.ts, a module with no imports that the
// executable's entry (src/entry.ts) can load for VERSION without the rest of this one.
export { ALL_VERSIONS, CURRENT_VERSION, versionsStartingFrom } from "./versions.ts";

/** strconv.Atoi, with its error messages. */
function atoi(s: string): number {
  if (!/^[+-]?[0-9]+$/.test(s)) throw new Error(`strconv.Atoi: parsing ${goQuote(s)}: invalid syntax`);
  const n = BigInt(s);
  if (n > 9223372036854775807n || n < -9223372036854775808n) {
    throw new Error(`strconv.Atoi: parsing ${goQuote(s)}: value out of range`);
  }
  return Number(n);
}

/**
 * version.ParseVersion: "major[.minor[.micro]]", each part an integer (strconv.Atoi, so signs are
 * accepted). Throws with Go's messages. The empty string is an error here; callers that read a
 * config's cniVersion map "" to "0.1.0" first (see configVersion).
 */
export function parseVersion(version: string): [number, number, number] {
  if (version === "") throw new Error(`invalid version ${goQuote(version)}: the version is empty`);
  const parts = version.split(".");
  if (parts.length >= 4) throw new Error(`invalid version ${goQuote(version)}: too many parts`);
  const names = ["major", "minor", "micro"];
  const out: [number, number, number] = [0, 0, 0];
  parts.forEach((p, i) => {
    try {
      out[i] = atoi(p);
    } catch (err) {
      throw new Error(`failed to convert ${names[i]} version part ${goQuote(p)}: ${(err as Error).message}`);
    }
  });
  return out;
}

/** version.GreaterThanOrEqualTo(a, b); throws when either does not parse. */
export function greaterThanOrEqualTo(a: string, b: string): boolean {
  const [a1, a2, a3] = parseVersion(a);
  const [b1, b2, b3] = parseVersion(b);
  if (a1 !== b1) return a1 > b1;
  if (a2 !== b2) return a2 > b2;
  return a3 >= b3;
}

/**
 * The config's cniVersion as version.ConfigDecoder reads it: missing, null or "" mean "0.1.0".
 * A value that is not a string is a decoding error (code 6 upstream).
 */
export function configVersion(config: unknown): string {
  if (!isObject(config)) return "0.1.0";
  const v = goField(config, "cniVersion");
  if (v === undefined || v === null || v === "") return "0.1.0";
  if (typeof v !== "string") {
    throw new CniError(
      ErrCode.DecodingFailure,
      `decoding version from network config: json: cannot unmarshal ${goKind(v)} into Go struct field .cniVersion of type string`,
    );
  }
  return v;
}

/** The versions that share one result type (types100, types040, types020; "" reads as 0.2.0's). */
export const FAMILY_100: readonly string[] = ["1.0.0", "1.1.0"];
export const FAMILY_040: readonly string[] = ["0.3.0", "0.3.1", "0.4.0"];
export const FAMILY_020: readonly string[] = ["", "0.1.0", "0.2.0"];
