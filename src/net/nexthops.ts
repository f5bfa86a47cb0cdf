// Nexthop sets: a kernel route key holds a set of nexthops, and each plugin adds or removes only
// its own. Pure functions; routes.ts applies them to the kernel, plan.ts predicts what they do.
import { RTN_UNICAST } from "../netlink/constants";
import { sameGateway, type KernelRoute, type Nexthop, type RouteAttrs, type RouteKey } from "../netlink/key";

export interface NexthopSet {
  key: RouteKey;
  nexthops: Nexthop[];
  mtu?: number;
  advmss?: number;
  /** The rest of the route's attributes when the set is created (a move carries them all). */
  attrs?: RouteAttrs;
}

/** Two nexthops are the same path when gateway and device match (the weight is an attribute). */
export function sameNexthop(a: Nexthop, b: Nexthop): boolean {
  return a.ifindex === b.ifindex && sameGateway(a.gateway, b.gateway);
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


/**
 * Why the first IPv4 route of a slot (what REPLACE would act on) cannot take the nexthops of a
 * set with `key` by a rewrite; undefined when it can.
 */
export function cannotRewrite(route: KernelRoute, key: RouteKey): string | undefined {
  if (route.type !== RTN_UNICAST || route.scope !== key.scope) {
    return `the kernel holds a route of type ${route.type}, scope ${route.scope} with the same table, destination, metric and tos (IPv4 tells routes apart by these only); use another priority for this route`;
  }
  if (route.foreign) return "the existing route has attributes nexthop cannot write back (nexthop object, encapsulation, realms or many metrics)";
  return undefined;
}
