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
