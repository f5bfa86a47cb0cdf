// Reaching the pod's network namespace, shared by every plugin: a socket opened inside it (and
// always closed), and the namespace file as the kernel objects that move there need it.
import { CniError, ErrCode, errorText } from "../cni/errors";
import { ENOENT } from "../netlink/constants";
import { SyscallError } from "../netlink/libc";
import { openNetns } from "../netlink/netns";
import { NetlinkSocket } from "../netlink/socket";

/** Runs `fn` with a socket in the namespace at `path` (or the current one), always closed after. */
export function withSocket<T>(path: string | undefined, fn: (sock: NetlinkSocket) => T): T {
  const sock = NetlinkSocket.open(path);
  try {
    return fn(sock);
  } finally {
    sock.close();
  }
}

/** Opens the pod's namespace file (for IFLA_NET_NS_FD); a failure is upstream's message. */
export function openPodNetns(netns: string): number {
  try {
    return openNetns(netns);
  } catch (e) {
    throw new CniError(ErrCode.Internal, `failed to open netns "${netns}": ${errorText(e)}`);
  }
}

/**
 * A socket in the pod's namespace for DEL, which must succeed when the namespace is gone:
 * undefined then.
 */
export function openPodSocketForDel(netns: string): NetlinkSocket | undefined {
  try {
    return NetlinkSocket.open(netns);
  } catch (e) {
    if (e instanceof SyscallError && e.errno === ENOENT) return undefined;
    throw new CniError(ErrCode.Internal, `failed to open netns "${netns}": ${errorText(e)}`);
  }
}
