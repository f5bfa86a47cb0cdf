// Waiting for IPv6 duplicate address detection, driven by the kernel's address notifications
// instead of polling: re-read the addresses whenever the kernel reports a change.
import { CniError, ErrCode } from "../cni/errors";
import { formatIP } from "../ip";
import { listAddrs } from "../netlink/addr";
import { AF_INET6, IFA_F_DADFAILED, IFA_F_TENTATIVE, IFF_RUNNING } from "../netlink/constants";
import { linkByIndex } from "../netlink/link";
import type { NetlinkSocket } from "../netlink/socket";

/** Upstream's limit (ip.SettleAddresses in ConfigureIface). */
export const DAD_TIMEOUT_MS = 5000;

/**
 * Returns once no IPv6 address of `ifindex` is tentative. `notify` must have joined
 * RTNLGRP_IPV6_IFADDR before the addresses were added, so no change can be missed.
 */
export function waitForDad(sock: NetlinkSocket, notify: NetlinkSocket, ifindex: number, ifname: string, timeoutMs = DAD_TIMEOUT_MS): void {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const addrs = listAddrs(sock, AF_INET6, ifindex);
    const failed = addrs.find((a) => a.flags & IFA_F_DADFAILED);
    if (failed) throw new CniError(ErrCode.Internal, `link ${ifname} has address ${formatIP(failed.ip)} in DADFAILED state`);
    if (!addrs.some((a) => a.flags & IFA_F_TENTATIVE)) return;
    const left = deadline - performance.now();
    if (left <= 0 || !notify.waitMessages(left)) break;
  }
  // Like upstream: tentative addresses on a link that is not running are not an error.
  const link = linkByIndex(sock, ifindex);
  if (link && link.flags & IFF_RUNNING) {
    // Upstream prints a Go Duration with %d: nanoseconds, followed by "seconds". Kept verbatim.
    throw new CniError(ErrCode.Internal, `link ${ifname} still has tentative addresses after ${timeoutMs * 1e6} seconds`);
  }
}
