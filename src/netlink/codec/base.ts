// The shared base of the codec wrapper: the WebAssembly instance, views of its memory, the state
// block, and the helpers every message family (./route.ts, ./link.ts, ./addr.ts, ./error.ts)
// uses to fill the scratch row an encoder emits from and to read rows a parse produced.
//
// memory.grow (tables that fill up move to a larger region) detaches every view of the old
// buffer, and a detached view handed to FFI silently becomes NULL (docs/bun.md §4): the views
// here are rebuilt after each parse(), and recvView()/requestView() return fresh views each call.
import wasmPath from "../../../build/codec.wasm" with { type: "file" };
import * as L from "../../../codec/layout.ts";
import { AF_INET6 } from "../constants";

/** What codec/index.ts exports (the module imports nothing). */
export interface Exports {
  memory: WebAssembly.Memory;
  init(): number;
  reset(): void;
  parse(len: number): number;
  encodeRoute(): number;
  encodeLink(): number;
  encodeAddr(): number;
  reencodeRoute(i: number): number;
  reencodeLink(i: number): number;
  reencodeAddr(i: number): number;
  encodeDump(type: number, seq: number, family: number): number;
  encodeRouteDump(seq: number, family: number, table: number, oif: number): number;
  encodeNeigh(): number;
  reencodeNeigh(i: number): number;
  routeFilterKeys(n: number): number;
  setRouteFilter(family: number, table: number, n: number): number;
  clearRouteFilter(): void;
}

const utf8 = new TextDecoder();
const utf8enc = new TextEncoder();

export function addrLen(family: number): number {
  return family === AF_INET6 ? 16 : 4;
}

/** `v` (undefined = 0) as an unsigned integer of `bits`; RangeError naming `what` otherwise. */
export function uint(v: number | undefined, bits: 8 | 16 | 32, what: string): number {
  const x = v ?? 0;
  const max = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  if (!Number.isInteger(x) || x < 0 || x > max) throw new RangeError(`${what}: ${v} is not a u${bits}`);
  return x;
}

/** `v` (undefined = 0) as an i32; RangeError naming `what` otherwise. */
export function int32(v: number | undefined, what: string): number {
  const x = v ?? 0;
  if (!Number.isInteger(x) || x < -0x80000000 || x > 0x7fffffff) throw new RangeError(`${what}: ${v} is not an i32`);
  return x;
}

/**
 * A fixed-width field of a row: its offset, the presence bit the codec sets when the attribute
 * was in the message (0 for header fields), and its width. Each family describes its fields once
 * in such a table; its encoder and its row reader both go through it.
 */
export interface Field {
  readonly off: number;
  readonly bit: number;
  readonly width: "u8" | "u16" | "u32" | "i32";
}

export const field = (off: number, bit: number, width: Field["width"]): Field => ({ off, bit, width });

/** Writes `v` (checked against the width) into the row at `row`; returns the presence bit. */
export function writeField(dv: DataView, row: number, f: Field, v: number | undefined, what: string): number {
  const p = row + f.off;
  switch (f.width) {
    case "u8":
      dv.setUint8(p, uint(v, 8, what));
      break;
    case "u16":
      dv.setUint16(p, uint(v, 16, what), true);
      break;
    case "u32":
      dv.setUint32(p, uint(v, 32, what), true);
      break;
    case "i32":
      dv.setInt32(p, int32(v, what), true);
      break;
  }
  return f.bit;
}

/** Reads the field of the row at `row` (0 when the attribute was absent). */
export function readField(dv: DataView, row: number, f: Field): number {
  const p = row + f.off;
  switch (f.width) {
    case "u8":
      return dv.getUint8(p);
    case "u16":
      return dv.getUint16(p, true);
    case "u32":
      return dv.getUint32(p, true);
    case "i32":
      return dv.getInt32(p, true);
  }
}

/** One line of a family's attribute descriptor table (codec/layout.ts: ROUTE_ATTRS, LINK_ATTRS, ...). */
export interface Descriptor {
  readonly type: number;
  /** AK_* without the emission-order flags. */
  readonly kind: number;
  readonly off: number;
  readonly size: number;
  readonly bit: number;
}

/** The descriptor lines of a table (the parser's choice when a type appears twice: the first). */
export function descriptors(table: readonly number[]): Map<number, Descriptor> {
  const out = new Map<number, Descriptor>();
  for (let i = 0; i < table.length; i += L.ATTR_WORDS) {
    const [type, kind, off, size, bit] = table.slice(i, i + L.ATTR_WORDS);
    if (!out.has(type)) out.set(type, { type, kind: kind & L.AK_KIND_MASK, off, size, bit });
  }
  return out;
}

/** The descriptor of attribute `type` in `table`; throws when the table has none. */
export function descriptor(table: readonly number[], type: number): Descriptor {
  const d = descriptors(table).get(type);
  if (!d) throw new Error(`codec/layout.ts: no descriptor for attribute type ${type}`);
  return d;
}

const INT_WIDTHS: Record<number, Field["width"]> = { 1: "u8", 2: "u16", 4: "u32" };

/** The row field of an integer attribute (AK_INT / AK_SINT) of a descriptor table. */
export function attrField(table: readonly number[], type: number): Field {
  const d = descriptor(table, type);
  const width = d.kind === L.AK_SINT && d.size === 4 ? "i32" : d.kind === L.AK_INT ? INT_WIDTHS[d.size] : undefined;
  if (!width) throw new Error(`codec/layout.ts: attribute type ${type} is not an integer of 1, 2 or 4 bytes`);
  return field(d.off, d.bit, width);
}

/**
 * A plain attribute of the wrapper: a number (AK_INT / AK_SINT) or an address of the row's
 * family (AK_ADDR), named by its attribute type in the family's descriptor table.
 */
export interface Plain {
  readonly type: number;
  readonly value: "number" | "address";
}

export const num = (type: number) => ({ type, value: "number" }) as const;
export const address = (type: number) => ({ type, value: "address" }) as const;

type PlainValue<A extends Plain> = A["value"] extends "number" ? number : Uint8Array;

/** The request spec members of a family's plain attributes: optional, sent when set. */
export type PlainSpec<P extends Record<string, Plain>> = { -readonly [K in keyof P]?: PlainValue<P[K]> };

/** The row readers of a family's plain attributes: numbers 0 when absent, addresses undefined. */
export type PlainReaders<P extends Record<string, Plain>> = {
  -readonly [K in keyof P]: (i: number) => P[K]["value"] extends "number" ? number : Uint8Array | undefined;
};

/**
 * A family's plain attributes, from one table of names (`{ priority: num(6), ... }`) and the
 * descriptor table: their row fields, the encoder of their spec members and their readers, so
 * that such an attribute is one line here and one line in codec/layout.ts.
 */
export class PlainAttrs<P extends Record<string, Plain>> {
  /** The number attributes' row fields, by name (for a family's field table). */
  readonly fields: { [K in keyof P as P[K]["value"] extends "number" ? K : never]: Field };
  private readonly list: { name: string; value: Plain["value"]; f: Field }[] = [];

  constructor(
    table: readonly number[],
    plain: P,
    private readonly what: string,
    private readonly familyField: Field,
  ) {
    const fields: Record<string, Field> = {};
    for (const [name, a] of Object.entries(plain)) {
      const d = descriptor(table, a.type);
      const ok = a.value === "address" ? d.kind === L.AK_ADDR : d.kind === L.AK_INT || d.kind === L.AK_SINT;
      if (!ok) throw new Error(`codec/layout.ts: attribute type ${a.type} (${what} ${name}) is not a ${a.value}`);
      const f = a.value === "number" ? attrField(table, a.type) : field(d.off, d.bit, "u8");
      if (a.value === "number") fields[name] = f;
      this.list.push({ name, value: a.value, f });
    }
    this.fields = fields as this["fields"];
  }

  /** Writes the members of `spec` that are set into the scratch row at `s`; returns their presence bits. */
  encode(c: CodecBase, s: number, spec: PlainSpec<P>, family: number): number {
    let present = 0;
    const values = spec as Record<string, number | Uint8Array | undefined>;
    for (const { name, value, f } of this.list) {
      const v = values[name];
      if (v === undefined) continue;
      if (value === "number") {
        present |= writeField(c.dv, s, f, v as number, `${this.what} ${name}`);
      } else {
        c.putAddr(s + f.off, v as Uint8Array, addrLen(family), `${this.what} ${name}`);
        present |= f.bit;
      }
    }
    return present;
  }

  /** Defines one reader per attribute on the prototype of a family's `Rows` class. */
  install(rows: { prototype: object }): void {
    const fam = this.familyField;
    for (const { name, value, f } of this.list) {
      if (Object.hasOwn(rows.prototype, name)) throw new Error(`${this.what} rows: ${name} is defined twice`);
      const read = value === "number"
        ? function (this: Rows<Record<string, Field>>, i: number): number {
          return readField(this.c.dv, this.row(i), f);
        }
        : function (this: Rows<Record<string, Field>>, i: number): Uint8Array | undefined {
          const r = this.row(i);
          const dv = this.c.dv;
          if (!(readField(dv, r, this.fields.present) & f.bit)) return undefined;
          return this.c.u8.slice(r + f.off, r + f.off + addrLen(readField(dv, r, fam)));
        };
      Object.defineProperty(rows.prototype, name, { value: read, writable: true, configurable: true });
    }
  }
}

/** The netlink header fields every row starts with. */
export const HEADER = {
  type: field(L.ROW_NLMSG_TYPE, 0, "u16"),
  nlFlags: field(L.ROW_NLMSG_FLAGS, 0, "u16"),
  seq: field(L.ROW_NLMSG_SEQ, 0, "u32"),
} as const;

export function rangeCheck(i: number, count: number, what: string): void {
  if (!(i >= 0 && i < count) || !Number.isInteger(i)) throw new RangeError(`${what} row ${i} out of range (count ${count})`);
}

/** A NUL-terminated string of at most `max` bytes at `p`. */
export function cstr(u8: Uint8Array, p: number, max: number): string {
  let n = 0;
  while (n < max && u8[p + n] !== 0) n++;
  return utf8.decode(u8.subarray(p, p + n));
}

type Table = "route" | "link" | "addr" | "neigh";

const TABLES: Record<Table, { count: number; base: number; size: number; reencode: "reencodeRoute" | "reencodeLink" | "reencodeAddr" | "reencodeNeigh" }> = {
  route: { count: L.ST_ROUTE_COUNT, base: L.ST_ROUTE_BASE, size: L.ROUTE_ROW, reencode: "reencodeRoute" },
  link: { count: L.ST_LINK_COUNT, base: L.ST_LINK_BASE, size: L.LINK_ROW, reencode: "reencodeLink" },
  addr: { count: L.ST_ADDR_COUNT, base: L.ST_ADDR_BASE, size: L.ADDR_ROW, reencode: "reencodeAddr" },
  neigh: { count: L.ST_NEIGH_COUNT, base: L.ST_NEIGH_BASE, size: L.NEIGH_ROW, reencode: "reencodeNeigh" },
};

/**
 * The module's bytes. In the executable the file is embedded (a /$bunfs/ path): Bun.file() holds
 * it in memory and its bytes() promise is already fulfilled, so Bun.peek() hands them over
 * synchronously without loading node:fs, which would cost every command ~2 ms of start-up
 * (README "Start-up budget"; docs/bun.md §9). From a real file (tests run the sources) or if the
 * promise is still pending, node:fs reads it.
 */
function wasmBytes(): Uint8Array {
  if (wasmPath.startsWith("/$bunfs/")) {
    const bytes = Bun.peek(Bun.file(wasmPath).bytes());
    if (bytes instanceof Uint8Array) return bytes;
    if (bytes instanceof Promise) bytes.catch(() => {}); // read below; the promise is dropped
  }
  return (require("node:fs") as typeof import("node:fs")).readFileSync(wasmPath);
}

/** The instance, its memory views and the state block; the families build on it. */
export class CodecBase {
  private x: Exports | undefined;
  private buf: ArrayBuffer | undefined;
  /** @internal */ u8 = new Uint8Array(0);
  /** @internal */ dv = new DataView(new ArrayBuffer(0));
  /** @internal */ st = 0;
  /** @internal Where each table's rows start (re-read after every parse: tables move). */
  bases: Record<Table, number> = { route: 0, link: 0, addr: 0, neigh: 0 };
  /** @internal */ nhBase = 0;

  /** @internal The module's exports (instantiates it on first use). */
  wasm(): Exports {
    if (this.x) return this.x;
    const mod = new WebAssembly.Module(wasmBytes());
    const x = new WebAssembly.Instance(mod, {}).exports as unknown as Exports;
    const st = x.init();
    if (st === 0) throw new Error("codec: could not allocate its memory regions");
    this.x = x;
    this.st = st;
    this.sync();
    return x;
  }

  /** Rebuilds the views when memory grew and re-reads the table bases. */
  private sync(): void {
    const b = this.x!.memory.buffer;
    if (b !== this.buf || this.u8.byteLength === 0) {
      this.buf = b;
      this.u8 = new Uint8Array(b);
      this.dv = new DataView(b);
    }
    const dv = this.dv;
    const st = this.st;
    for (const t of Object.keys(this.bases) as Table[]) this.bases[t] = dv.getUint32(st + TABLES[t].base, true);
    this.nhBase = dv.getUint32(st + L.ST_NH_BASE, true);
  }

  /** @internal The current DataView (instantiates the module on first use). */
  view(): DataView {
    if (!this.x) this.wasm();
    if (this.u8.byteLength === 0 || this.x!.memory.buffer !== this.buf) this.sync();
    return this.dv;
  }

  /** @internal */
  stateWord(off: number): number {
    return this.view().getUint32(this.st + off, true);
  }

  /** The receive region (a fresh view; its length is the region's capacity). */
  recvView(): Uint8Array {
    const x = this.wasm();
    return new Uint8Array(x.memory.buffer, this.stateWord(L.ST_RECV), L.RECV_SIZE);
  }

  /** The first `len` bytes of the request region (a fresh view). */
  requestView(len: number): Uint8Array {
    const x = this.wasm();
    if (!Number.isInteger(len) || len < 0 || len > L.REQUEST_SIZE) throw new RangeError(`requestView: bad length ${len}`);
    return new Uint8Array(x.memory.buffer, this.stateWord(L.ST_REQUEST), len);
  }

  /** Empties all tables; clears status, error, extack and dump-interrupted state. */
  reset(): void {
    this.wasm().reset();
    this.sync();
  }

  /** Parses the first `len` bytes of the receive region, appending rows; returns STATUS_*. */
  parse(len: number): number {
    const x = this.wasm();
    if (!Number.isInteger(len) || len < 0) throw new RangeError(`parse: bad length ${len}`);
    const s = x.parse(len);
    this.sync();
    return s;
  }

  /** How many times a table moved to a larger region since instantiation. */
  tableMoves(): number {
    return this.stateWord(L.ST_GROWS);
  }

  /** The WebAssembly memory (tests and diagnostics). */
  memory(): WebAssembly.Memory {
    return this.wasm().memory;
  }

  // ---- for the family encoders: fill the scratch row, let the wasm emit it ----

  /** @internal The zeroed scratch row, with the netlink header fields set. */
  scratch(type: number, nlFlags: number, seq: number): number {
    this.wasm();
    const s = this.stateWord(L.ST_SCRATCH);
    this.u8.fill(0, s, s + L.SCRATCH_ROW_SIZE);
    writeField(this.dv, s, HEADER.type, type, "nlmsg_type");
    writeField(this.dv, s, HEADER.nlFlags, nlFlags, "nlmsg_flags");
    writeField(this.dv, s, HEADER.seq, seq, "nlmsg_seq");
    return s;
  }

  /** @internal */
  putAddr(at: number, a: Uint8Array, len: number, what: string): void {
    if (!(a instanceof Uint8Array) || a.length !== len) {
      throw new RangeError(`${what}: expected ${len} address bytes, got ${a?.length}`);
    }
    this.u8.set(a, at);
  }

  /** @internal */
  putStr(at: number, s: string, what: string): void {
    const b = utf8enc.encode(s);
    if (b.length === 0 || b.length > 15 || b.includes(0)) throw new RangeError(`${what}: "${s}" must be 1..15 bytes without NUL`);
    this.u8.set(b, at);
  }

  /** @internal Stores the presence bits of the scratch row at `s` and lets the wasm emit it. */
  emit(s: number, present: Field, bits: number, encoder: "encodeRoute" | "encodeLink" | "encodeAddr" | "encodeNeigh"): number {
    writeField(this.dv, s, present, bits, "present");
    return this.done(this.wasm()[encoder](), encoder);
  }

  /** @internal The length an encoder returned; 0 means the message did not fit. */
  done(n: number, what: string): number {
    if (n === 0) throw new RangeError(`${what}: the message does not fit the request region`);
    return n;
  }

  /** RTM_GETROUTE / RTM_GETLINK / RTM_GETADDR / RTM_GETNEIGH with NLM_F_REQUEST|NLM_F_DUMP. */
  encodeDump(type: number, seq: number, family: number): number {
    const n = this.wasm().encodeDump(uint(type, 16, "dump type"), uint(seq, 32, "nlmsg_seq"), uint(family, 8, "dump family"));
    if (n === 0) throw new RangeError(`encodeDump: ${type} is not RTM_GETROUTE, RTM_GETLINK or RTM_GETADDR`);
    return n;
  }

  /**
   * RTM_GETROUTE dump of `family` that the kernel filters (on a socket with
   * NETLINK_GET_STRICT_CHK): `table` (0 = every table) in RTA_TABLE, and in rtm_table too when it
   * fits; `oif` (0 = any) in RTA_OIF, which matches a route with any nexthop through the device.
   */
  encodeRouteDump(seq: number, family: number, filter: { table?: number; oif?: number } = {}): number {
    const n = this.wasm().encodeRouteDump(
      uint(seq, 32, "nlmsg_seq"), uint(family, 8, "dump family"), uint(filter.table ?? 0, 32, "dump table"), uint(filter.oif ?? 0, 32, "dump oif"),
    );
    return this.done(n, "encodeRouteDump");
  }
}

/** The rows of one table (routes, links, addresses or neighbours), read by index through their field table. */
export class Rows<F extends Record<string, Field>> {
  constructor(
    /** @internal */ readonly c: CodecBase,
    private readonly tableName: Table,
    /** @internal */ readonly fields: F,
  ) {}

  get count(): number {
    return this.c.stateWord(TABLES[this.tableName].count);
  }

  /** @internal address of row i */
  row(i: number): number {
    rangeCheck(i, this.count, this.tableName);
    return this.c.bases[this.tableName] + i * TABLES[this.tableName].size;
  }

  /** Re-emits row `i` into the request region; returns the length. */
  reencode(i: number): number {
    this.row(i);
    const name = TABLES[this.tableName].reencode;
    return this.c.done(this.c.wasm()[name](i), name);
  }

  /** Field `name` of row `i` (0 when the attribute was absent). */
  protected get(i: number, name: keyof F): number {
    return readField(this.c.dv, this.row(i), this.fields[name]);
  }

  /** Whether row `i` had the attribute of field `name`. */
  protected has(i: number, name: keyof F): boolean {
    return (readField(this.c.dv, this.row(i), this.fields.present) & this.fields[name].bit) !== 0;
  }

  /** nlmsg_type (RTM_NEW* / RTM_DEL* / RTM_GET*). */
  type(i: number): number { return readField(this.c.dv, this.row(i), HEADER.type); }
  nlFlags(i: number): number { return readField(this.c.dv, this.row(i), HEADER.nlFlags); }
  /** nlmsg_seq of the message the row came from (which request it answers). */
  seq(i: number): number { return readField(this.c.dv, this.row(i), HEADER.seq); }
  /** The presence bits (RT_HAS_* / LN_HAS_* / AD_HAS_* / ND_HAS_*). */
  present(i: number): number { return readField(this.c.dv, this.row(i), this.fields.present); }
}
