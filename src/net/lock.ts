// One nexthop command at a time per pod network namespace. Interfaces of one pod can share a
// route key (e.g. net1 and net2 joining one default route): the read-merge-write of that route
// must not interleave with another nexthop process doing the same (docs/reliability.md,
// "Concurrency"). The lock is flock(2) on a file named after the namespace's identity (device and
// inode of the namespace file, so two paths to one namespace share it), in a directory only root
// can write. flock is released by the kernel when its holder dies (SIGKILL included), so a killed
// command never leaves a stale lock. The holder unlinks the file before releasing it; a waiter
// that then wins the lock on the unlinked inode notices (the path no longer names its inode) and
// starts over, so no file is left behind and no two holders can coexist.
import { closeSync, fstatSync, mkdirSync, openSync, statSync, unlinkSync } from "node:fs";
import { check, libc, SyscallError } from "../netlink/libc";
import { CniError, ErrCode } from "../cni/errors";

export const LOCK_DIR = "/run/nexthop";
/** How long a command waits for another one on the same namespace before giving up (code 11). */
export const LOCK_TIMEOUT_MS = 30_000;

const LOCK_EX = 2;
const LOCK_NB = 4;
const EWOULDBLOCK = 11;

/** flock(2): 0 when taken, -errno otherwise. */
function flock(fd: number, op: number): number {
  try {
    return check("flock", () => libc().flock(fd, op));
  } catch (e) {
    if (e instanceof SyscallError) return -e.errno;
    throw e;
  }
}

export interface NetnsLock {
  release(): void;
}

/** The lock file of the namespace at `netns` (which must exist). */
export function lockPath(netns: string, dir = LOCK_DIR): string {
  const st = statSync(netns, { bigint: true });
  return `${dir}/netns-${st.dev.toString(16)}-${st.ino.toString(10)}.lock`;
}

/**
 * Takes the lock of the namespace at `netns`, waiting up to `timeoutMs`. Returns undefined when the
 * namespace does not exist (nothing to serialise: DEL of a namespace that is gone).
 */
export function lockNetns(netns: string, timeoutMs = LOCK_TIMEOUT_MS, dir = LOCK_DIR): NetnsLock | undefined {
  let path: string;
  try {
    path = lockPath(netns, dir);
  } catch {
    return undefined;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const deadline = performance.now() + timeoutMs;
  for (let wait = 1; ; wait = Math.min(wait * 2, 20)) {
    const fd = openSync(path, "a", 0o600);
    let held = false;
    try {
      const rc = flock(fd, LOCK_EX | LOCK_NB);
      if (rc === 0) {
        const mine = fstatSync(fd, { bigint: true });
        let now: ReturnType<typeof statSync> | undefined;
        try {
          now = statSync(path, { bigint: true });
        } catch {}
        if (now && now.ino === mine.ino && now.dev === mine.dev) {
          held = true;
          return {
            release() {
              try {
                unlinkSync(path);
              } catch {}
              closeSync(fd);
            },
          };
        }
        // The previous holder unlinked it: start over on a fresh file.
        continue;
      }
      if (rc !== -EWOULDBLOCK) throw new CniError(ErrCode.Internal, `flock ${path}: errno ${-rc}`);
    } finally {
      if (!held) closeSync(fd);
    }
    if (performance.now() >= deadline) {
      throw new CniError(
        ErrCode.TryAgainLater,
        `another nexthop command has held the lock of netns "${netns}" for more than ${timeoutMs / 1000} s (${path}); try again later`,
      );
    }
    Bun.sleepSync(wait);
  }
}

/** Runs `fn` holding the lock of the namespace at `netns`. */
export function withNetnsLock<T>(netns: string, fn: () => T): T {
  const lock = lockNetns(netns);
  try {
    return fn();
  } finally {
    lock?.release();
  }
}
