// The skeleton of a chained plugin (one that configures what an earlier plugin made): its
// prevResult is required and must describe the interface the runtime names, and ADD runs its
// plan in the pod's namespace with an undo log that rolls everything back on failure.
import { CniError, ErrCode } from "../cni/errors";
import type { CmdArgs, Result } from "../cni/types";
import { NetlinkSocket } from "../netlink/socket";
import { rolledBack, UndoLog } from "./undo";

/** The prevResult a chained plugin needs, or upstream's error when there is none. */
export function requirePrevResult(prev: Result | undefined): Result {
  if (!prev) throw new CniError(ErrCode.Internal, "missing prevResult from earlier plugin");
  return prev;
}

/** Refuses a prevResult that lists interfaces but not CNI_IFNAME (it belongs to another attachment). */
export function checkPrevInterface(prev: Result, args: CmdArgs): void {
  const names = (prev.interfaces ?? []).filter((i) => !i.sandbox || i.sandbox === args.netns).map((i) => i.name);
  if (names.length && !names.includes(args.ifname)) {
    throw new CniError(
      ErrCode.InvalidNetworkConfig,
      `prevResult.interfaces: no interface "${args.ifname}" in the pod (it names ${names.map((n) => `"${n}"`).join(", ")})`,
    );
  }
}

/**
 * Runs `fn` with a socket in the pod's namespace and an undo log; any failure rolls the log
 * back and is rethrown as a CniError (with the rollback's own failures in its details).
 */
export function withPodChanges<T>(netns: string, fn: (sock: NetlinkSocket, log: UndoLog) => T): T {
  const log = new UndoLog();
  const sock = NetlinkSocket.open(netns);
  try {
    return fn(sock, log);
  } catch (e) {
    throw rolledBack(e, log);
  } finally {
    sock.close();
  }
}
