// Synchronous file calls through libc (Bun FFI) for the paths every ADD / CHECK / DEL takes:
// stdin, stdout, the netns checks, sysctls, the netns lock. Loading node:fs costs a command
// ~2 ms and ~3 MiB on top of the FFI binding it needs anyway (README "Start-up budget"), so these
// calls do not use it. They only report success or failure; what fails is repeated with node:fs,
// which then throws exactly the error (code, message) it always did, so no error text is made up
// here. The *OrThrow calls below do that repeat for the callers that need an answer or node:fs's
// error. node:fs is loaded by those failures and by rare paths only.
//
// A binding of its own (src/netlink/libc.ts is below cni/ in no layer order); a second dlopen of
// libc costs next to nothing (README "Start-up budget"). Every call is synchronous: callers may be
// inside another network namespace (docs/bun.md §2).
import { CString, dlopen, FFIType, read as peek, toArrayBuffer, type Pointer } from "bun:ffi";

const bind = () => dlopen("libc.so.6", {
  open: { args: ["ptr", "i32", "u32"], returns: "i32" },
  read: { args: ["i32", "ptr", "u64"], returns: FFIType.i64_fast },
  write: { args: ["i32", "ptr", "u64"], returns: FFIType.i64_fast },
  close: { args: ["i32"], returns: "i32" },
  statx: { args: ["i32", "ptr", "i32", "u32", "ptr"], returns: "i32" },
  mkdir: { args: ["ptr", "u32"], returns: "i32" },
  unlink: { args: ["ptr"], returns: "i32" },
  opendir: { args: ["ptr"], returns: "ptr" },
  readdir64: { args: ["ptr"], returns: "ptr" },
  closedir: { args: ["ptr"], returns: "i32" },
  __errno_location: { args: [], returns: "ptr" },
});

let sym: ReturnType<typeof bind>["symbols"] | undefined;
let errnoPtr: Pointer | null = null;

/** The symbols, or undefined when FFI is unavailable (the callers then use node:fs). */
function libc(): NonNullable<typeof sym> | undefined {
  if (!sym) {
    try {
      sym = bind().symbols;
      errnoPtr = sym.__errno_location() as Pointer | null;
    } catch {
      return undefined;
    }
  }
  return sym;
}

function errno(): number {
  return errnoPtr === null ? 0 : peek.i32(errnoPtr, 0);
}

export const ENOENT = 2;
export const EINTR = 4;
export const EAGAIN = 11;
export const EEXIST = 17;
export const ENOTDIR = 20;

export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_CREAT = 0o100;
export const O_NOCTTY = 0o400;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;

const AT_FDCWD = -100;
const AT_EMPTY_PATH = 0x1000;
const STATX_TYPE_MODE_INO = 0x1 | 0x2 | 0x100; // STATX_TYPE | STATX_MODE | STATX_INO

const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;
export const S_IFSOCK = 0o140000;

/** What the callers need of a stat: the file type, the device (as glibc encodes st_dev) and the inode. */
export interface FileId {
  /** st_mode & S_IFMT */
  type: number;
  dev: bigint;
  ino: bigint;
}

const cpath = (path: string) => Buffer.from(`${path}\0`, "utf8");

/** glibc's makedev: the st_dev node:fs reports, from statx's major and minor. */
function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

function statxAt(fd: number, path: Buffer, flags: number): FileId | undefined {
  const c = libc();
  if (!c || path.indexOf(0) !== path.length - 1) return undefined; // a NUL inside: node:fs says why
  const buf = new Uint8Array(256);
  for (;;) {
    if (c.statx(fd, path, flags, STATX_TYPE_MODE_INO, buf) === 0) break;
    if (errno() !== EINTR) return undefined;
  }
  const dv = new DataView(buf.buffer);
  // struct statx: stx_mode u16 @28, stx_ino u64 @32, stx_dev_major u32 @136, stx_dev_minor u32 @140
  return {
    type: dv.getUint16(28, true) & S_IFMT,
    ino: dv.getBigUint64(32, true),
    dev: makedev(dv.getUint32(136, true), dv.getUint32(140, true)),
  };
}

/** stat(2) of `path` (symlinks followed); undefined on any failure. */
export function statPath(path: string): FileId | undefined {
  return statxAt(AT_FDCWD, cpath(path), 0);
}

/**
 * Whether `path` exists (existsSync): true or false when libc could tell (ENOENT and ENOTDIR are
 * false), undefined when the caller must ask node:fs.
 */
export function pathExists(path: string): boolean | undefined {
  if (statPath(path)) return true;
  const e = sym ? errno() : 0;
  return e === ENOENT || e === ENOTDIR ? false : undefined;
}

/**
 * The names in a directory, "." and ".." left out (readdirSync's list, in the directory's order);
 * undefined on any failure.
 */
export function listDir(path: string): string[] | undefined {
  const c = libc();
  if (!c || path.includes("\0") || errnoPtr === null) return undefined;
  const dir = c.opendir(cpath(path));
  if (dir === null) return undefined;
  const err = new Int32Array(toArrayBuffer(errnoPtr, 0, 4));
  try {
    const names: string[] = [];
    for (;;) {
      err[0] = 0; // readdir returns NULL at the end and on an error; errno tells which
      const ent = c.readdir64(dir);
      if (ent === null) return err[0] === 0 ? names : undefined;
      // struct dirent64: d_ino u64, d_off i64, d_reclen u16, d_type u8, then d_name (offset 19)
      const name = new CString(ent, 19).toString();
      if (name !== "." && name !== "..") names.push(name);
    }
  } finally {
    c.closedir(dir);
  }
}

/** fstat(2) of an open descriptor; undefined on any failure. */
export function statFd(fd: number): FileId | undefined {
  return statxAt(fd, Buffer.from([0]), AT_EMPTY_PATH);
}

const nodeFs = (): typeof import("node:fs") => require("node:fs");
const fileId = (s: import("node:fs").BigIntStats): FileId => ({ type: Number(s.mode) & S_IFMT, dev: s.dev, ino: s.ino });

/** stat(2) of `path` through libc; when that fails, node:fs's statSync: its answer or its error. */
export function statOrThrow(path: string): FileId {
  return statPath(path) ?? fileId(nodeFs().statSync(path, { bigint: true }));
}

/** fstat(2) of `fd` through libc; when that fails, node:fs's fstatSync: its answer or its error. */
export function fstatOrThrow(fd: number): FileId {
  return statFd(fd) ?? fileId(nodeFs().fstatSync(fd, { bigint: true }));
}

/** close(2) through libc; when that fails, node:fs's closeSync, which throws its error. */
export function closeOrThrow(fd: number): void {
  if (!closeFd(fd)) nodeFs().closeSync(fd);
}

/** open(2), EINTR retried; -1 on failure. */
export function openPath(path: string, flags: number, mode = 0): number {
  const c = libc();
  if (!c || path.includes("\0")) return -1;
  const p = cpath(path);
  for (;;) {
    const fd = c.open(p, flags, mode);
    if (fd >= 0 || errno() !== EINTR) return fd;
  }
}

/** close(2); false when it failed. */
export function closeFd(fd: number): boolean {
  const c = libc();
  return c !== undefined && c.close(fd) === 0;
}

/** unlink(2); false when it failed. */
export function unlinkPath(path: string): boolean {
  const c = libc();
  return c !== undefined && !path.includes("\0") && c.unlink(cpath(path)) === 0;
}

/** mkdir(2) of one directory: true when it was made or a directory is there already. */
export function ensureDir(path: string, mode: number): boolean {
  const c = libc();
  if (!c || path.includes("\0")) return false;
  if (c.mkdir(cpath(path), mode) === 0) return true;
  return errno() === EEXIST && statPath(path)?.type === S_IFDIR;
}

/**
 * Reads from `fd` into `buf` once: the byte count (0 at end of file), EINTR retried; -1 on
 * EAGAIN; undefined on any other failure or without FFI.
 */
export function readFd(fd: number, buf: Uint8Array): number | undefined {
  const c = libc();
  if (!c) return undefined;
  for (;;) {
    const n = Number(c.read(fd, buf, buf.length));
    if (n >= 0) return n;
    const e = errno();
    if (e === EAGAIN) return -1;
    if (e !== EINTR) return undefined;
  }
}

/**
 * Writes `data` from `off` to `fd` until done; EINTR retried, EAGAIN waits 1 ms. Returns the
 * offset reached: data.length, or less when a write failed otherwise (or there is no FFI).
 */
export function writeFd(fd: number, data: Uint8Array, off = 0): number {
  const c = libc();
  if (!c) return off;
  while (off < data.length) {
    const n = Number(c.write(fd, data.subarray(off), data.length - off));
    if (n >= 0) {
      off += n;
      continue;
    }
    const e = errno();
    if (e === EINTR) continue;
    if (e !== EAGAIN) break;
    Bun.sleepSync(1);
  }
  return off;
}

/** A whole small file as UTF-8 text (a /proc file: read until end of file); undefined on any failure. */
export function readText(path: string): string | undefined {
  const fd = openPath(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return undefined;
  try {
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(4096);
    for (;;) {
      const n = readFd(fd, buf);
      if (n === undefined || n < 0) return undefined;
      if (n === 0) break;
      chunks.push(buf.slice(0, n));
    }
    return Buffer.concat(chunks).toString("utf8");
  } finally {
    closeFd(fd);
  }
}

/**
 * `text` written to `path` as writeFileSync does (O_WRONLY|O_CREAT|O_TRUNC, mode 0666 before the
 * umask); false on any failure, which the caller repeats with node:fs for its error.
 */
export function writeText(path: string, text: string): boolean {
  const fd = openPath(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666);
  if (fd < 0) return false;
  const data = Buffer.from(text, "utf8");
  const done = writeFd(fd, data) === data.length;
  return closeFd(fd) && done;
}
