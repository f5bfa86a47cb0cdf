// One nexthop command at a time per pod network namespace. Interfaces of one pod can share a
// route key (e.g. net1 and net2 joining one default route): the read-merge-write of that route
// must not interleave with another nexthop process doing the same (docs/reliability.md,
// "Concurrency"). The lock is flock(2) on a file named after the namespace's identity (device and
// inode of the namespace file, so two paths to one namespace share it), in a directory only root
// can write. flock is released by the kernel when its holder dies (SIGKILL included), so a killed
// command never leaves a stale lock. The holder unlinks the file before releasing it; a waiter
// that then wins the lock on the unlinked inode notices (the path no longer names its inode) and
// starts over, so no file is left behind and no two holders can coexist.
//
// The file calls go through libc (src/cni/sysio.ts), not node:fs, which would cost every command
// its start-up (README "Start-up budget"); a call that fails is repeated with node:fs, so what is
// thrown is node:fs's error, as before.
import { check, libc, SyscallError } from "../netlink/libc";
import { CniError, ErrCode } from "../cni/errors";
import { closeOrThrow, ensureDir, fstatOrThrow, O_APPEND, O_CLOEXEC, O_CREAT, O_WRONLY, openPath, statOrThrow, unlinkPath } from "../cni/sysio";

const fs = (): typeof import("node:fs") => require("node:fs");

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
  const st = statOrThrow(netns);
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
  if (!ensureDir(dir, 0o700)) fs().mkdirSync(dir, { recursive: true, mode: 0o700 });
  const deadline = performance.now() + timeoutMs;
  for (let wait = 1; ; wait = Math.min(wait * 2, 20)) {
    // node:fs's "a": O_WRONLY|O_APPEND|O_CREAT; close-on-exec, as node:fs opens it
    let fd = openPath(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600);
    if (fd < 0) fd = fs().openSync(path, "a", 0o600);
    let held = false;
    try {
      const rc = flock(fd, LOCK_EX | LOCK_NB);
      if (rc === 0) {
        const mine = fstatOrThrow(fd);
        let now: { dev: bigint; ino: bigint } | undefined;
        try {
          now = statOrThrow(path);
        } catch {}
        if (now && now.ino === mine.ino && now.dev === mine.dev) {
          held = true;
          return {
            release() {
              if (!unlinkPath(path)) {
                try {
                  fs().unlinkSync(path);
                } catch {}
              }
              closeOrThrow(fd);
            },
          };
        }
        // The previous holder unlinked it: start over on a fresh file.
        continue;
      }
      if (rc !== -EWOULDBLOCK) throw new CniError(ErrCode.Internal, `flock ${path}: errno ${-rc}`);
    } finally {
      if (!held) closeOrThrow(fd);
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
