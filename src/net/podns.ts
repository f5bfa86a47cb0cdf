// What CNI_NETNS must name before anything is changed: an existing network namespace. A regular
// file, a directory, a device or another kind of namespace (e.g. /proc/self/ns/mnt) is refused
// with the variable and the path in the message, instead of setns(2)'s bare "Invalid argument".
import { closeSync, constants, openSync, statSync } from "node:fs";
import { CniError, ErrCode } from "../cni/errors";
import { CLONE_NEWNET } from "../netlink/constants";
import { check, libc } from "../netlink/libc";

/** What a path is, when it is not a network namespace ("" when it is one). */
function notNetns(path: string): string {
  const st = statSync(path);
  if (st.isDirectory()) return "a directory";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isFIFO()) return "a FIFO";
  if (st.isSocket()) return "a socket";
  // Namespace files live on nsfs (one device for all of them); NS_GET_NSTYPE says which kind.
  const nsfs = statSync("/proc/thread-self/ns/net");
  if (st.dev !== nsfs.dev) return "a regular file";
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const type = check("ioctl(NS_GET_NSTYPE)", () => libc().ioctl(fd, NS_GET_NSTYPE));
    if (type === CLONE_NEWNET) return "";
    return `a ${NS_TYPES[type] ?? `type ${type}`} namespace`;
  } finally {
    closeSync(fd);
  }
}

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
