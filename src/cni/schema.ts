// zod at the edge: parse a config object once, and turn the first problem into a CNI error that
// names the field and the value.
import { z } from "./zod";
import { CniError, ErrCode } from "./errors";

export function parseConfig<T extends z.ZodMiniType>(schema: T, value: unknown, prefix = "failed to load netconf"): z.infer<T> {
  const r = z.safeParse(schema, value, { reportInput: true });
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "");
  const input = "input" in issue && issue.input !== undefined ? ` (got ${JSON.stringify(issue.input)})` : "";
  throw new CniError(ErrCode.InvalidNetworkConfig, `${prefix}: ${field || "config"}: ${issue.message}${input}`);
}

export const dnsSchema = z.looseObject({
  nameservers: z.optional(z.array(z.string())),
  domain: z.optional(z.string()),
  search: z.optional(z.array(z.string())),
  options: z.optional(z.array(z.string())),
});

/** The netconf key that picks the same-destination route behaviour (see src/net/plan.ts). */
export const ecmpSchema = z.optional(z.enum(["merge", "upstream"]));
