// Who in a pod needs which per-namespace multipath sysctl, and what the pod had before the first
// attachment changed it. The kernel keeps the values but not their owners, so this lives in one
// small file per pod namespace (docs/multipath.md §5):
//
//   /var/lib/cni/nexthop/multipath/<netns cookie>.json
//     { bootId, cookie, prev: { key: value }, holders: [{ id: "<containerID>/<ifname>", values: { key: value } }] }
//
// The namespace is named by its SO_NETNS_COOKIE, which the kernel never reuses while it runs (an
// nsfs inode number is reused), and the file records the boot it belongs to: a file from another
// boot describes namespaces that are gone and is ignored (and swept). Writes are atomic
// (temporary file + rename). Synchronous I/O only: callers may be inside the pod's namespace.
//
// node:fs and node:path are loaded only where state is written: every DEL asks anyState(), which
// lists the directory through libc (src/cni/sysio.ts), and once any pod has state reads its own
// pod's (readState) through libc too, so a command without `multipath` does not pay for them
// (README "Start-up budget").
import { listDir, pathExists, readText } from "../cni/sysio";
import { AF_INET, SOCK_CLOEXEC } from "../netlink/constants";
import { check, libc } from "../netlink/libc";
import { withNetns } from "../netlink/netns";

const fs = (): typeof import("node:fs") => require("node:fs");
const join = (...parts: string[]): string => (require("node:path") as typeof import("node:path")).join(...parts);

/** Fixed on purpose: nothing in the runtime's environment may change where state goes. */
export const STATE_DIR = "/var/lib/cni/nexthop/multipath";

const SOL_SOCKET = 1;
const SO_NETNS_COOKIE = 71;
const SOCK_DGRAM = 2;

export interface Holder {
  id: string;
  values: Record<string, string>;
}

export interface PodState {
  bootId: string;
  cookie: string;
  prev: Record<string, string>;
  holders: Holder[];
}

let bootIdCache: string | undefined;
function bootId(): string {
  const file = "/proc/sys/kernel/random/boot_id";
  return (bootIdCache ??= (readText(file) ?? fs().readFileSync(file, "utf8")).trim());
}

/** The cookie of the namespace the thread is in (kernel >= 5.14). */
function cookieHere(): string {
  const fd = check("socket(AF_INET)", () => libc().socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  try {
    const v = new BigUint64Array(1);
    const len = new Uint32Array([8]);
    check("getsockopt(SO_NETNS_COOKIE)", () => libc().getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, v, len));
    return v[0].toString();
  } finally {
    libc().close(fd);
  }
}

/** The cookie of the namespace at `netns`. */
export function netnsCookie(netns: string): string {
  return withNetns(netns, cookieHere);
}

function fileOf(cookie: string, dir: string): string {
  // STATE_DIR is absolute and normal: join would give the same string without loading node:path
  return dir === STATE_DIR ? `${STATE_DIR}/${cookie}.json` : join(dir, `${cookie}.json`);
}

/** The state of the pod whose namespace has `cookie`; undefined when there is none (or it is stale). */
export function readState(cookie: string, dir = STATE_DIR): PodState | undefined {
  const file = fileOf(cookie, dir);
  // Through libc: a DEL of any pod reads here once some pod has state (anyState).
  let text = readText(file);
  if (text === undefined) {
    if (pathExists(file) === false) return undefined;
    try {
      text = fs().readFileSync(file, "utf8");
    } catch {
      return undefined;
    }
  }
  try {
    const s = JSON.parse(text) as PodState;
    if (s.bootId !== bootId() || s.cookie !== cookie || !Array.isArray(s.holders) || typeof s.prev !== "object") return undefined;
    return s;
  } catch {
    // A torn or foreign file: treated as missing (the kernel values are then left as they are).
    return undefined;
  }
}

/** Writes (or, for undefined / no holders, removes) the pod's state. */
export function writeState(cookie: string, state: PodState | undefined, dir = STATE_DIR): void {
  const file = fileOf(cookie, dir);
  if (!state || state.holders.length === 0) {
    fs().rmSync(file, { force: true });
    return;
  }
  fs().mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs().writeFileSync(tmp, `${JSON.stringify(state)}\n`, { mode: 0o600 });
  fs().renameSync(tmp, file);
  sweep(dir);
}

/** Removes files left by earlier boots (their namespaces are gone). Best effort. */
function sweep(dir: string): void {
  let names: string[];
  try {
    names = fs().readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.endsWith(".json")) continue;
    try {
      const s = JSON.parse(fs().readFileSync(join(dir, name), "utf8")) as PodState;
      if (s.bootId !== bootId()) fs().rmSync(join(dir, name), { force: true });
    } catch {}
  }
}

/** False when no pod has state at all (spares every DEL without `multipath` the namespace lookup). */
export function anyState(dir = STATE_DIR): boolean {
  const names = listDir(dir);
  if (names) return names.some((n) => n.endsWith(".json"));
  if (!(pathExists(dir) ?? fs().existsSync(dir))) return false;
  try {
    return fs().readdirSync(dir).some((n) => n.endsWith(".json"));
  } catch {
    return false;
  }
}

export function newState(cookie: string): PodState {
  return { bootId: bootId(), cookie, prev: {}, holders: [] };
}
