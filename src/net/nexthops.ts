// Nexthop sets: a kernel route key holds a set of nexthops, and each plugin adds or removes only
// its own. Pure functions; routes.ts applies them to the kernel.
import type { Nexthop } from "../netlink/route";

/** Two nexthops are the same path when gateway and device match (the weight is an attribute). */
export function sameNexthop(a: Nexthop, b: Nexthop): boolean {
  return a.ifindex === b.ifindex && (a.gateway ?? "") === (b.gateway ?? "");
}

export function hasNexthop(set: readonly Nexthop[], nh: Nexthop): boolean {
  return set.some((x) => sameNexthop(x, nh));
}

/** `current` followed by the nexthops of `add` it does not hold yet. */
export function union(current: readonly Nexthop[], add: readonly Nexthop[]): Nexthop[] {
  return [...current, ...add.filter((nh) => !hasNexthop(current, nh))];
}

/** `current` without the nexthops in `remove`. */
export function difference(current: readonly Nexthop[], remove: readonly Nexthop[]): Nexthop[] {
  return current.filter((nh) => !hasNexthop(remove, nh));
}

