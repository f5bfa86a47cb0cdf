// CNI_ARGS, parsed as Go's types.LoadArgs parses it ("K=V;K2=V2"). The key is matched
// case-sensitively against the names the plugin knows (upstream: Go struct field names such as
// IP, GATEWAY, MAC); IgnoreUnknown is always known, as every upstream args struct embeds
// types.CommonArgs. Conventions say a runtime's `args` in the config takes precedence over
// CNI_ARGS; that choice is the plugin's.
import { CniError, ErrCode } from "./errors.ts";
import { goQuote, goQuoteList } from "./go/quote.ts";

/**
 * Parses `s` and returns the values of the known keys that are present (last one wins).
 * Throws CniError 999 (upstream returns a plain error, which skel reports as 999) with Go's
 * messages: `ARGS: invalid pair "…"` when a pair does not split on "=" into exactly two parts
 * (so a value with "=" and an empty segment such as a trailing ";" are errors), and
 * `ARGS: unknown args ["K=V" …]` for unknown keys unless IgnoreUnknown is 1 or true (any case).
 */
export function loadArgs(s: string, known: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (s === "") return out;
  const unknown: string[] = [];
  let ignoreUnknown = false;
  for (const pair of s.split(";")) {
    const kv = pair.split("=");
    if (kv.length !== 2) throw new CniError(ErrCode.Internal, `ARGS: invalid pair ${goQuote(pair)}`);
    const [key, value] = kv;
    if (key === "IgnoreUnknown") {
      // types.UnmarshallableBool
      const v = value.toLowerCase();
      if (v === "1" || v === "true") ignoreUnknown = true;
      else if (v === "0" || v === "false") ignoreUnknown = false;
      else {
        throw new CniError(
          ErrCode.Internal,
          `ARGS: error parsing value of pair ${goQuote(pair)}: boolean unmarshal error: invalid input ${v})`,
        );
      }
      if (known.includes(key)) out[key] = value;
    } else if (known.includes(key)) {
      out[key] = value;
    } else {
      unknown.push(pair);
    }
  }
  if (unknown.length > 0 && !ignoreUnknown) {
    throw new CniError(ErrCode.Internal, `ARGS: unknown args ${goQuoteList(unknown)}`);
  }
  return out;
}
