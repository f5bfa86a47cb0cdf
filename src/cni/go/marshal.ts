// Go's encoding/json output: string escaping, json.Marshal / MarshalIndent layout, map key order.
import { isObject } from "./json.ts";

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
