// The few libc calls nexthop needs, through Bun FFI. Every call is synchronous: the thread may be
// inside another network namespace while they run (docs/bun.md §2).
import { dlopen, FFIType, read, type Pointer } from "bun:ffi";

const open = () => dlopen("libc.so.6", {
  socket: { args: ["i32", "i32", "i32"], returns: "i32" },
  bind: { args: ["i32", "ptr", "u32"], returns: "i32" },
  sendto: { args: ["i32", "ptr", "u64", "i32", "ptr", "u32"], returns: FFIType.i64_fast },
  recvfrom: { args: ["i32", "ptr", "u64", "i32", "ptr", "ptr"], returns: FFIType.i64_fast },
  setsockopt: { args: ["i32", "i32", "i32", "ptr", "u32"], returns: "i32" },
  getsockopt: { args: ["i32", "i32", "i32", "ptr", "ptr"], returns: "i32" },
  poll: { args: ["ptr", "u64", "i32"], returns: "i32" },
  close: { args: ["i32"], returns: "i32" },
  setns: { args: ["i32", "i32"], returns: "i32" },
  flock: { args: ["i32", "i32"], returns: "i32" },
  ioctl: { args: ["i32", "u64"], returns: "i32" },
  open: { args: ["cstring", "i32"], returns: "i32" },
  __errno_location: { args: [], returns: "ptr" },
  strerror: { args: ["i32"], returns: "cstring" },
});

let symbols: ReturnType<typeof open>["symbols"] | undefined;
let errnoPtr: Pointer | null = null;

/** The libc symbols, opened on first use (commands that never touch the kernel skip dlopen). */
export function libc(): NonNullable<typeof symbols> {
  if (!symbols) {
    symbols = open().symbols;
    errnoPtr = symbols.__errno_location() as Pointer | null;
  }
  return symbols;
}

/** errno of the calling thread; meaningful only right after a call returned < 0. */
export function errno(): number {
  libc();
  return read.i32(errnoPtr!, 0);
}

/** The C library's text for an errno value, e.g. "File exists". */
export function strerror(code: number): string {
  return String(libc().strerror(code));
}

/** NUL-terminated bytes for a `cstring` argument. */
export function cstr(s: string): Buffer {
  return Buffer.from(`${s}\0`, "utf8");
}

/** An error from a libc call, carrying its errno. */
export class SyscallError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
  ) {
    super(`${call}: ${strerror(errno)}`);
  }
}

/** Runs a libc call that returns < 0 on failure, retrying EINTR; throws SyscallError. */
export function check(call: string, fn: () => number | bigint): number {
  for (;;) {
    const rc = Number(fn());
    if (rc >= 0) return rc;
    const e = errno();
    if (e !== 4 /* EINTR */) throw new SyscallError(call, e);
  }
}
