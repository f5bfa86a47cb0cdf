// zod, configured once for a short-lived process. `zod/mini` (the functional, tree-shakable API
// of the same package and the same core) rather than the full API: building and first-parsing a
// config's schemas costs about a third of what the method-chaining classes cost at start-up.
//  * jitless: compiling each object schema with `new Function` on its first parse costs more than
//    a CNI command's few parses can win back (measured in test/bench).
//  * the English messages: the full API installs them on its first schema, zod/mini never does
//    (it would say just "Invalid input"); the messages parseConfig and static's errors print are
//    these.
// zod/mini has no methods to chain: z.optional(s), z.pipe(a, z.transform(fn)), s.check(z.int(), ...).
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

z.config({ jitless: true, ...en() });

export { z };
