// Entering a network namespace from the JS thread. setns() moves only the calling thread; the
// caller must do nothing but synchronous work until it returns (docs/bun.md §2: async I/O runs
// on pool threads that could be created inside the namespace and stay there).
import { CLONE_NEWNET, O_CLOEXEC, O_RDONLY } from "./constants";
import { check, cstr, libc } from "./libc";

/** Opens a namespace file (e.g. /var/run/netns/x); throws SyscallError (ENOENT when gone). */
export function openNetns(path: string): number {
  return check(`open ${path}`, () => libc().open(cstr(path), O_RDONLY | O_CLOEXEC));
}

/**
 * Runs `fn` with the thread in the network namespace at `path`, and always returns to the
 * original namespace, also when `fn` throws.
 */
export function withNetns<T>(path: string, fn: () => T): T {
  const target = openNetns(path);
  let home = -1;
  try {
    home = openNetns("/proc/thread-self/ns/net");
    check("setns", () => libc().setns(target, CLONE_NEWNET));
    try {
      return fn();
    } finally {
      // Failing to return would leave the rest of the process in the pod's namespace.
      check("setns (return to the original netns)", () => libc().setns(home, CLONE_NEWNET));
    }
  } finally {
    libc().close(target);
    if (home >= 0) libc().close(home);
  }
}
