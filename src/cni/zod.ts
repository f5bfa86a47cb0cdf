// zod, configured once for a short-lived process: jitless, because compiling each object schema
// with `new Function` on its first parse costs more than a CNI command's few parses can win back
// (measured in test/bench).
import { z } from "zod";

z.config({ jitless: true });

export { z };
