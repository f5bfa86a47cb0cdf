// The generic attribute walk and emitter, driven by a family's descriptor table in layout.ts
// (ROUTE_ATTRS, LINK_ATTRS, ADDR_ATTRS, NEIGH_ATTRS: type, kind, row offset, size, presence bit).
//
// Parsing looks each attribute's type up in an index built once from the table (two words per
// type below ATTR_INDEX_TYPES: kind | offset << 8 | size << 16, and the presence bit), checks its
// length for the kind and copies it into the row. Emitting walks the table in order and writes
// every attribute whose presence bit is set. AK_SPECIAL lines go to the family's hand-written
// hooks (nests, RTA_VIA, RTA_METRICS), called directly by family (a function value would be an
// indirect call through memory on every such attribute).
import {
  ATTR_WORDS, ATTR_INDEX_TYPES, AK_INT, AK_SINT, AK_BYTES, AK_ADDR, AK_STR, AK_LLADDR, AK_SPECIAL,
  AK_KIND_MASK, AK_ONLY_INET6, AK_NOT_INET6, STATUS_MALFORMED,
} from "./layout";
import { AF_INET, AF_INET6, MAX_ADDR_LEN } from "./kernel";
import { align4, attrLen, attrType, copyStr, attrBytes, attrStr, putAddrSlot } from "./attr";
import { parseRouteSpecial, emitRouteSpecial } from "./route";
import { parseLinkSpecial, emitLinkSpecial } from "./link";

// What a parse hook returns besides 0 (kept), STATUS_MALFORMED and STATUS_NO_MEMORY.
export const HOOK_FOREIGN: i32 = 1; // not kept: the row's foreign bit is set

// The hooks: parse (row, type, payload, payload length, message family) -> 0, HOOK_FOREIGN or a
// STATUS_* < 0, setting their own presence bits; emit (row, type, row family, presence bits),
// called once the emitter saw the line's bit.
@inline function parseHook(which: i32, row: usize, t: u32, d: usize, dl: usize, family: u32): i32 {
  if (which == ROUTE_INDEX) return parseRouteSpecial(row, t, d, dl, family);
  if (which == LINK_INDEX) return parseLinkSpecial(row, t, d, dl, family);
  return HOOK_FOREIGN; // ADDR_ATTRS and NEIGH_ATTRS have no AK_SPECIAL line
}

function emitHook(which: i32, row: usize, t: u32, family: u32, present: u32): void {
  if (which == ROUTE_INDEX) emitRouteSpecial(row, t, family, present);
  else if (which == LINK_INDEX) emitLinkSpecial(row, t, family, present);
}

const INDEX_BYTES: usize = <usize>ATTR_INDEX_TYPES * 8;

// Builds the parse index of `desc` at `index` (INDEX_BYTES, zeroed): the first line of a type wins.
export function buildIndex(desc: Array<i32>, index: usize): void {
  memory.fill(index, 0, INDEX_BYTES);
  const base = desc.dataStart;
  const n = <usize>desc.length;
  for (let i: usize = 0; i < n; i += <usize>ATTR_WORDS) {
    const p = base + i * 4;
    const t = <usize>load<i32>(p);
    if (t >= <usize>ATTR_INDEX_TYPES || load<u32>(index + t * 8) != 0) continue;
    const kind = <u32>load<i32>(p, 4) & <u32>AK_KIND_MASK;
    store<u32>(index + t * 8, kind | (<u32>load<i32>(p, 8) << 8) | (<u32>load<i32>(p, 12) << 16));
    store<u32>(index + t * 8, <u32>load<i32>(p, 16), 4);
  }
}

// The four families' indexes, in one static region (one memory.data per family would not do:
// the compiler merges identical zeroed segments into one).
export const ROUTE_INDEX: i32 = 0;
export const LINK_INDEX: i32 = 1;
export const ADDR_INDEX: i32 = 2;
export const NEIGH_INDEX: i32 = 3;
const indexes = memory.data(<i32>INDEX_BYTES * 4, 8);

@inline export function indexOf(which: i32): usize {
  return indexes + <usize>which * INDEX_BYTES;
}

// Walks the attributes in [a, end) of a message of `family` into `row`, with the index and hooks
// of family `which` (ROUTE_INDEX ..). Attributes the index does not know set `foreignBit` (0: ignored). Returns 0 or STATUS_MALFORMED / STATUS_NO_MEMORY (from
// a hook); the presence bits are or-ed into the word at row + presentOff.
@inline export function parseAttrs(
  row: usize, a: usize, end: usize, family: u32, which: i32, presentOff: usize, foreignBit: u32,
): i32 {
  const index = indexOf(which);
  const inet = family == AF_INET || family == AF_INET6;
  const alen: usize = family == AF_INET6 ? 16 : 4;
  let present: u32 = 0;
  while (a < end) {
    const n = attrLen(a, end);
    if (n == 0) return STATUS_MALFORMED;
    const t = <u32>attrType(a);
    const d = a + 4;
    const dl = n - 4;
    a += align4(n);
    if (t >= <u32>ATTR_INDEX_TYPES) {
      present |= foreignBit;
      continue;
    }
    const w = load<u32>(index + (<usize>t << 3));
    const kind = w & 0xff;
    const slot = row + <usize>((w >> 8) & 0xff);
    const size = <usize>(w >> 16);
    if (kind == AK_INT || kind == AK_SINT || kind == AK_BYTES) {
      if (dl != size) return STATUS_MALFORMED;
      if (size == 4) store<u32>(slot, load<u32>(d));
      else if (size == 1) store<u8>(slot, load<u8>(d));
      else memory.copy(slot, d, size);
    } else if (kind == AK_ADDR) {
      if (!inet) {
        present |= foreignBit;
        continue;
      }
      if (dl != alen) return STATUS_MALFORMED;
      putAddrSlot(slot, d, alen);
    } else if (kind == AK_STR) {
      if (!copyStr(slot, d, dl, 15)) return STATUS_MALFORMED;
    } else if (kind == AK_LLADDR) {
      if (dl > MAX_ADDR_LEN) return STATUS_MALFORMED;
      memory.fill(slot, 0, MAX_ADDR_LEN);
      memory.copy(slot, d, dl);
      store<u8>(row + size, <u8>dl);
    } else if (kind == AK_SPECIAL) {
      const r = parseHook(which, row, t, d, dl, family);
      if (r < 0) return r;
      if (r == HOOK_FOREIGN) present |= foreignBit;
      continue; // the hook sets its own presence bits
    } else {
      if (t != 0) present |= foreignBit; // type 0 (*_UNSPEC) is ignored
      continue;
    }
    present |= load<u32>(index + (<usize>t << 3), 4);
  }
  store<u32>(row + presentOff, load<u32>(row + presentOff) | present);
  return 0;
}

// Emits, in table order, every attribute of `row` whose presence bit is set in `present`.
export function emitAttrs(row: usize, family: u32, present: u32, desc: Array<i32>, which: i32): void {
  const v6 = family == AF_INET6;
  const alen: usize = v6 ? 16 : 4;
  const base = desc.dataStart;
  const n = <usize>desc.length;
  for (let i: usize = 0; i < n; i += <usize>ATTR_WORDS) {
    const p = base + i * 4;
    const bit = <u32>load<i32>(p, 16);
    if (!(present & bit)) continue;
    const k = <u32>load<i32>(p, 4);
    if (k & <u32>AK_ONLY_INET6 ? !v6 : k & <u32>AK_NOT_INET6 ? v6 : false) continue;
    const kind = k & <u32>AK_KIND_MASK;
    const t = <u16>load<i32>(p);
    const slot = row + <usize>load<i32>(p, 8);
    const size = <usize>load<i32>(p, 12);
    if (kind == AK_ADDR) attrBytes(t, slot, alen);
    else if (kind == AK_STR) attrStr(t, slot);
    else if (kind == AK_LLADDR) attrBytes(t, slot, <usize>load<u8>(row + size));
    else if (kind == AK_SPECIAL) emitHook(which, row, <u32>t, family, present);
    else attrBytes(t, slot, size);
  }
}
