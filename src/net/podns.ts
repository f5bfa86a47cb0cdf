// What CNI_NETNS must name before anything is changed: an existing network namespace. A regular
// file, a directory, a device or another kind of namespace (e.g. /proc/self/ns/mnt) is refused
// with the variable and the path in the message, instead of setns(2)'s bare "Invalid argument".
//
// The file calls go through libc (src/cni/sysio.ts), not node:fs, which would cost every command
// its start-up (README "Start-up budget"); a call that fails is repeated with node:fs, so the
// error in the message is node:fs's, as before.
import { CniError, ErrCode } from "../cni/errors";
import { closeOrThrow, O_CLOEXEC, O_NOCTTY, O_NONBLOCK, O_RDONLY, openPath, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFSOCK, statOrThrow } from "../cni/sysio";
import { CLONE_NEWNET } from "../netlink/constants";
import { check, libc } from "../netlink/libc";

/** What a path is, when it is not a network namespace ("" when it is one). */
function notNetns(path: string): string {
  const st = statOrThrow(path);
  if (st.type === S_IFDIR) return "a directory";
  if (st.type === S_IFCHR) return "a character device";
  if (st.type === S_IFBLK) return "a block device";
  if (st.type === S_IFIFO) return "a FIFO";
  if (st.type === S_IFSOCK) return "a socket";
  // Namespace files live on nsfs (one device for all of them); NS_GET_NSTYPE says which kind.
  const nsfs = statOrThrow("/proc/thread-self/ns/net");
  if (st.dev !== nsfs.dev) return "a regular file";
  // close-on-exec, as node:fs opens it
  let fd = openPath(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) fd = fs().openSync(path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  try {
    const type = check("ioctl(NS_GET_NSTYPE)", () => libc().ioctl(fd, NS_GET_NSTYPE));
    if (type === CLONE_NEWNET) return "";
    return `a ${NS_TYPES[type] ?? `type ${type}`} namespace`;
  } finally {
    closeOrThrow(fd);
  }
}

const fs = (): typeof import("node:fs") => require("node:fs");

const NS_GET_NSTYPE = 0xb703;
const NS_TYPES: Record<number, string> = {
  0x00020000: "mnt", 0x04000000: "uts", 0x08000000: "ipc", 0x10000000: "user", 0x20000000: "pid",
  0x02000000: "cgroup", 0x00000080: "time",
};

/**
 * Refuses a CNI_NETNS that exists but is not a network namespace. A path that does not exist is
 * left to the caller (DEL succeeds on a namespace that is gone; ADD reports it as upstream does).
 */
export function checkPodNetns(path: string): void {
  let what: string;
  try {
    what = notNetns(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return;
    throw new CniError(ErrCode.InvalidEnvironmentVariables, `CNI_NETNS "${path}": cannot be opened: ${(e as Error).message}`);
  }
  if (what) throw new CniError(ErrCode.InvalidEnvironmentVariables, `CNI_NETNS "${path}": not a network namespace but ${what}`);
}
