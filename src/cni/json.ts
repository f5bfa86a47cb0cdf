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
// Go encoding/json and fmt behaviour that shows in CNI output: decode error messages, string
// escaping, MarshalIndent layout, %q quoting. Upstream runtimes log these strings and some tests
// compare them, so they follow Go's rules rather than JavaScript's.

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

/** Go's strconv.Quote (and fmt's %q for a string). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += "\\" + ch;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += "\\ufffd"; // lone surrogate: invalid UTF-8 in Go
    else if (isGoPrint(ch)) out += ch;
    else if (cp === 7) out += "\\a";
    else if (cp === 8) out += "\\b";
    else if (cp === 12) out += "\\f";
    else if (cp === 10) out += "\\n";
    else if (cp === 13) out += "\\r";
    else if (cp === 9) out += "\\t";
    else if (cp === 11) out += "\\v";
    else if (cp < 0x20 || cp === 0x7f) out += "\\x" + cp.toString(16).padStart(2, "0");
    else if (cp < 0x10000) out += "\\u" + cp.toString(16).padStart(4, "0");
    else out += "\\U" + cp.toString(16).padStart(8, "0");
  }
  return out + '"';
}

const GRAPHIC = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
/** unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
function isGoPrint(ch: string): boolean {
  return ch === " " || GRAPHIC.test(ch);
}

/** fmt's %q of a []string: `["a" "b"]`. */
export function goQuoteList(items: readonly string[]): string {
  return `[${items.map(goQuote).join(" ")}]`;
}

/** fmt's %v / %s of a []string: `[a b]`. */
export function goList(items: readonly string[]): string {
  return `[${items.join(" ")}]`;
}

/** A JSON string literal escaped as Go's encoding/json does (HTML-safe, \u2028/\u2029 escaped). */
export function goJSONString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    switch (c) {
      case 0x22:
        out += '\\"';
        continue;
      case 0x5c:
        out += "\\\\";
        continue;
      case 0x08:
        out += "\\b";
        continue;
      case 0x0c:
        out += "\\f";
        continue;
      case 0x0a:
        out += "\\n";
        continue;
      case 0x0d:
        out += "\\r";
        continue;
      case 0x09:
        out += "\\t";
        continue;
      case 0x3c:
      case 0x3e:
      case 0x26:
      case 0x2028:
      case 0x2029:
        out += "\\u" + c.toString(16).padStart(4, "0");
        continue;
    }
    if (c < 0x20) {
      out += "\\u00" + c.toString(16).padStart(2, "0");
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff) {
      out += s[i] + s[i + 1];
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      out += "\\ufffd"; // a lone surrogate is invalid UTF-8 to Go
    } else {
      out += s[i];
    }
  }
  return out + '"';
}

/**
 * Encodes like Go's json.MarshalIndent(v, "", "    ") (indent given) or json.Marshal (no
 * indent). Objects keep their insertion order (callers build them in Go's field order, or sort
 * them for Go maps); `undefined` members are left out, as omitempty does.
 */
export function goMarshal(value: unknown, indent?: string): string {
  return encode(value, indent, "");
}

function encode(v: unknown, indent: string | undefined, prefix: string): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "string") return goJSONString(v);
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  const inner = indent === undefined ? "" : prefix + indent;
  const nl = indent === undefined ? "" : "\n";
  const colon = indent === undefined ? ":" : ": ";
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]";
    const parts = v.map((x) => inner + encode(x, indent, inner));
    return `[${nl}${parts.join("," + nl)}${nl}${indent === undefined ? "" : prefix}]`;
  }
  const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
  if (entries.length === 0) return "{}";
  const parts = entries.map(([k, x]) => inner + goJSONString(k) + colon + encode(x, indent, inner));
  return `{${nl}${parts.join("," + nl)}${nl}${indent === undefined ? "" : prefix}}`;
}

/** A copy with object keys sorted at every level, as Go marshals a map[string]interface{}. */
export function sortKeysDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeysDeep);
  if (isObject(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort(byteOrder)) if (v[k] !== undefined) out[k] = sortKeysDeep(v[k]);
    return out;
  }
  return v;
}

/** Go's string ordering (bytewise on UTF-8; equal to UTF-16 order for the BMP). */
export function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
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
