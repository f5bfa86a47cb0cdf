// Go-compatibility code (src/cni/go/): what Go's encoding/json and fmt do that shows on the
// wire, kept apart from the protocol logic that uses it.
//
// Go's encoding/json binds object keys to struct fields case-insensitively, preferring an exact
// match, and the last duplicate wins. Upstream's own tests send "RuntimeConfig" and "vrfName",
// so a drop-in replacement has to read keys the same way.

/**
 * Returns a copy of `obj` whose keys that match one of `names` (exactly or case-insensitively)
 * are renamed to that canonical name. Other keys are kept as they are.
 */
export function canonicalKeys(obj: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  const byLower = new Map(names.map((n) => [n.toLowerCase(), n]));
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    const name = names.includes(key) ? key : byLower.get(key.toLowerCase());
    out[name ?? key] = value;
  }
  return out;
}

/** True for a plain JSON object (not null, not an array). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

// ------------------------------------------------------------------------------------------------
// Go encoding/json decoding as it shows in CNI output: syntax error messages and type error
// wording. Upstream runtimes log these strings and some tests compare them, so they follow Go's
// rules rather than JavaScript's. Printing is in ./marshal.ts, %q quoting in ./quote.ts.

import { goQuote } from "./quote.ts";

/** A decode failure whose message is the one Go's encoding/json would give. */
export class GoJSONError extends Error {}

/**
 * Parses JSON bytes with Go's acceptance rules and Go's syntax error messages
 * ("unexpected end of JSON input", "invalid character 'x' looking for beginning of value", …).
 * A leading byte order mark is an error, as in Go.
 */
export function parseGoJSON(input: Uint8Array | string): unknown {
  const bytes = typeof input === "string" ? new TextEncoder().encode(input) : input;
  const text = typeof input === "string" ? input : new TextDecoder("utf-8", { ignoreBOM: true }).decode(input);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new GoJSONError(goSyntaxError(bytes) ?? (err instanceof Error ? err.message : String(err)));
  }
}

const enum Ctx {
  ObjectKey,
  ObjectValue,
  ArrayValue,
}
const MAX_DEPTH = 10000;

/**
 * Go's encoding/json scanner (checkValid) over raw bytes: the message Go gives for the first
 * syntax error, or null for valid JSON.
 */
export function goSyntaxError(data: Uint8Array): string | null {
  const stack: Ctx[] = [];
  type Step = (c: number) => string | null;
  let step: Step;
  let endTop = false;
  const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
  const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
  const isHex = (c: number) => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
  const fail = (c: number, context: string) => `invalid character ${quoteChar(c)} ${context}`;
  const push = (ctx: Ctx): string | null => {
    stack.push(ctx);
    return stack.length > MAX_DEPTH ? "exceeded max depth" : null;
  };
  const pop = () => {
    stack.pop();
    if (stack.length === 0) {
      step = endTopState;
      endTop = true;
    } else step = endValue;
  };
  const endTopState: Step = (c) => (isSpace(c) ? null : fail(c, "after top-level value"));
  const beginValue: Step = (c) => {
    if (isSpace(c)) return null;
    switch (c) {
      case 0x7b: // {
        step = beginStringOrEmpty;
        return push(Ctx.ObjectKey);
      case 0x5b: // [
        step = beginValueOrEmpty;
        return push(Ctx.ArrayValue);
      case 0x22:
        step = inString;
        return null;
      case 0x2d:
        step = neg;
        return null;
      case 0x30:
        step = zero;
        return null;
      case 0x74:
        step = literal("true", 1);
        return null;
      case 0x66:
        step = literal("false", 1);
        return null;
      case 0x6e:
        step = literal("null", 1);
        return null;
    }
    if (c >= 0x31 && c <= 0x39) {
      step = nonZero;
      return null;
    }
    return fail(c, "looking for beginning of value");
  };
  const beginValueOrEmpty: Step = (c) => {
    if (isSpace(c)) return null;
    if (c === 0x5d) return endValue(c);
    return beginValue(c);
  };
  const beginStringOrEmpty: Step = (c) => {
    if (isSpace(c)) return null;
    if (c === 0x7d) {
      stack[stack.length - 1] = Ctx.ObjectValue;
      return endValue(c);
    }
    return beginString(c);
  };
  const beginString: Step = (c) => {
    if (isSpace(c)) return null;
    if (c === 0x22) {
      step = inString;
      return null;
    }
    return fail(c, "looking for beginning of object key string");
  };
  const endValue: Step = (c) => {
    const n = stack.length;
    if (n === 0) {
      step = endTopState;
      endTop = true;
      return endTopState(c);
    }
    if (isSpace(c)) {
      step = endValue;
      return null;
    }
    switch (stack[n - 1]) {
      case Ctx.ObjectKey:
        if (c === 0x3a) {
          stack[n - 1] = Ctx.ObjectValue;
          step = beginValue;
          return null;
        }
        return fail(c, "after object key");
      case Ctx.ObjectValue:
        if (c === 0x2c) {
          stack[n - 1] = Ctx.ObjectKey;
          step = beginString;
          return null;
        }
        if (c === 0x7d) {
          pop();
          return null;
        }
        return fail(c, "after object key:value pair");
      default:
        if (c === 0x2c) {
          step = beginValue;
          return null;
        }
        if (c === 0x5d) {
          pop();
          return null;
        }
        return fail(c, "after array element");
    }
  };
  const inString: Step = (c) => {
    if (c === 0x22) {
      step = endValue;
      return null;
    }
    if (c === 0x5c) {
      step = inStringEsc;
      return null;
    }
    if (c < 0x20) return fail(c, "in string literal");
    return null;
  };
  const inStringEsc: Step = (c) => {
    if ([0x62, 0x66, 0x6e, 0x72, 0x74, 0x5c, 0x2f, 0x22].includes(c)) {
      step = inString;
      return null;
    }
    if (c === 0x75) {
      step = hexDigits(4);
      return null;
    }
    return fail(c, "in string escape code");
  };
  const hexDigits =
    (left: number): Step =>
    (c) => {
      if (!isHex(c)) return fail(c, "in \\u hexadecimal character escape");
      step = left === 1 ? inString : hexDigits(left - 1);
      return null;
    };
  const neg: Step = (c) => {
    if (c === 0x30) {
      step = zero;
      return null;
    }
    if (c >= 0x31 && c <= 0x39) {
      step = nonZero;
      return null;
    }
    return fail(c, "in numeric literal");
  };
  const nonZero: Step = (c) => (isDigit(c) ? null : zero(c));
  const zero: Step = (c) => {
    if (c === 0x2e) {
      step = dot;
      return null;
    }
    if (c === 0x65 || c === 0x45) {
      step = exp;
      return null;
    }
    return endValue(c);
  };
  const dot: Step = (c) => {
    if (isDigit(c)) {
      step = dot0;
      return null;
    }
    return fail(c, "after decimal point in numeric literal");
  };
  const dot0: Step = (c) => {
    if (isDigit(c)) return null;
    if (c === 0x65 || c === 0x45) {
      step = exp;
      return null;
    }
    return endValue(c);
  };
  const exp: Step = (c) => {
    if (c === 0x2b || c === 0x2d) {
      step = expSign;
      return null;
    }
    return expSign(c);
  };
  const expSign: Step = (c) => {
    if (isDigit(c)) {
      step = exp0;
      return null;
    }
    return fail(c, "in exponent of numeric literal");
  };
  const exp0: Step = (c) => (isDigit(c) ? null : endValue(c));
  const literal =
    (word: string, i: number): Step =>
    (c) => {
      const want = word.charCodeAt(i);
      if (c !== want) return fail(c, `in literal ${word} (expecting ${quoteChar(want)})`);
      step = i + 1 === word.length ? endValue : literal(word, i + 1);
      return null;
    };

  step = beginValue;
  for (const c of data) {
    const err = step(c);
    if (err) return err;
  }
  // End of input: Go feeds one space, which completes numbers and reports cut-off literals.
  if (endTop) return null;
  const err = step(0x20);
  if (err) return err;
  return endTop ? null : "unexpected end of JSON input";
}

/** Go's quoteChar: a byte as it appears in a syntax error message. */
function quoteChar(c: number): string {
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return "'\"'";
  const q = goQuote(String.fromCharCode(c));
  return `'${q.slice(1, -1)}'`;
}

/** The JSON kind name Go uses in "cannot unmarshal X into …" messages. */
export function goKind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  switch (typeof v) {
    case "string":
      return "string";
    case "number":
      return "number";
    case "boolean":
      return "bool";
    default:
      return "object";
  }
}

/**
 * The value Go's decoder would bind to struct field `name` from `obj`: keys match exactly or
 * case-insensitively and the last matching key in the document wins. Undefined when absent.
 */
export function goField(obj: Record<string, unknown>, name: string): unknown {
  const lower = name.toLowerCase();
  let found: unknown = undefined;
  for (const [k, v] of Object.entries(obj)) if (k === name || k.toLowerCase() === lower) found = v;
  return found;
}
