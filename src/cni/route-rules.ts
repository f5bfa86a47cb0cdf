// The rules every route's nexthops obey, whoever checks them: static's config check (gws with
// their weights, ipam.routes[i]…) and the planner's check of any IPAM's result (routes[i]…). Each
// rule has one test and one message here; the callers prefix the field path.
// Pure: no I/O.

/** The weights a nexthop can have: the kernel carries weight − 1 in one byte (rtnh_hops). */
export const WEIGHT_MIN = 1;
export const WEIGHT_MAX = 256;

export function isWeight(w: unknown): w is number {
  return typeof w === "number" && Number.isInteger(w) && w >= WEIGHT_MIN && w <= WEIGHT_MAX;
}

/** A weight that is not one; `shown` is the value as the config or result wrote it. */
export function badWeight(shown: string): string {
  return `expected an integer from ${WEIGHT_MIN} to ${WEIGHT_MAX}, got ${shown}`;
}

/** A gateway of the other family than the route's destination. */
export function gatewayFamilyMismatch(gw: string, gwFamily: 4 | 6, dst: string, dstFamily: 4 | 6): string {
  return `gateway ${JSON.stringify(gw)} is IPv${gwFamily} but dst ${JSON.stringify(dst)} is IPv${dstFamily}`;
}

/** A gateway that is already a nexthop of the same route (one address, however it is written). */
export function duplicateGateway(gw: string): string {
  return `duplicate gateway ${JSON.stringify(gw)}`;
}
