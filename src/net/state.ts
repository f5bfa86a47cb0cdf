// What a planner may ask about the kernel's routes, without reaching the kernel itself: the routes
// of one (family, table), every type, as one filtered dump read them (routes.ts `RouteTables`
// answers it from at most one dump per table and command; tests answer it from a list). Pure:
// types only.
import type { KernelRoute } from "../netlink/key";

export interface KernelState {
  /** Every route of `family` (AF_INET or AF_INET6) in `table`, of every type; same-prefix routes in the kernel's order. */
  routes(family: number, table: number): readonly KernelRoute[];
}
