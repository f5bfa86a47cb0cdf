// struct rtattr (== struct nlattr): walking with every length checked, and emitting.
//
//   struct rtattr { u16 rta_len; u16 rta_type; }  payload follows, padded to 4 bytes
//
// Walking: attrLen(a, end) returns the attribute's rta_len when its header fits in [a, end), rta_len
// covers at least the header and does not run past `end`; 0 otherwise (the caller reports
// MALFORMED). The walk advances by the padded length; the padding of the last attribute may be
// missing. Nothing outside [a, end) is ever read.
import { NLA_HDRLEN, NLA_TYPE_MASK, NLMSG_HDRLEN } from "./kernel";

@inline export function align4(n: usize): usize {
  return (n + 3) & ~(<usize>3);
}

@inline export function attrLen(a: usize, end: usize): usize {
  if (end - a < NLA_HDRLEN) return 0;
  const n = <usize>load<u16>(a);
  if (n < NLA_HDRLEN || n > end - a) return 0;
  return n;
}

@inline export function attrType(a: usize): u16 {
  return load<u16>(a, 2) & NLA_TYPE_MASK;
}

// Checks that [a, end) is a well-formed sequence of attributes (nested content is not looked at).
export function attrsValid(a: usize, end: usize): bool {
  while (a < end) {
    const n = attrLen(a, end);
    if (n == 0) return false;
    a += align4(n);
  }
  return true;
}

// Copies an address of `alen` bytes (4 or 16) into a 16-byte slot and zeroes the rest, with
// stores (memory.fill / memory.copy of a size known only at run time are calls out of the module).
@inline export function putAddrSlot(slot: usize, src: usize, alen: usize): void {
  if (alen == 4) {
    store<u32>(slot, load<u32>(src));
    store<u32>(slot, 0, 4);
    store<u64>(slot, 0, 8);
  } else {
    store<u64>(slot, load<u64>(src));
    store<u64>(slot, load<u64>(src, 8), 8);
  }
}

// Copies a NUL-terminated (or unterminated) string payload into a zeroed 16-byte slot.
// False when the string is longer than `max` bytes.
export function copyStr(dst: usize, src: usize, n: usize, max: usize): bool {
  let len: usize = 0;
  while (len < n && load<u8>(src + len) != 0) len++;
  if (len > max) return false;
  memory.fill(dst, 0, max + 1);
  memory.copy(dst, src, len);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Emitting into [wp, wend). On overflow `wfail` is set and nothing more is written; the encoder
// then returns 0. Padding is always written as zeros (the region holds earlier messages).

export let wp: usize = 0;
export let wend: usize = 0;
export let wfail: bool = false;

export function emitStart(at: usize, end: usize): void {
  wp = at;
  wend = end;
  wfail = false;
}

export function emitFail(): void {
  wfail = true;
}

function room(n: usize): bool {
  if (wfail || wend - wp < n) {
    wfail = true;
    return false;
  }
  return true;
}

// n zero bytes (fixed-size struct headers are written over them)
export function putZero(n: usize): usize {
  const at = wp;
  if (!room(n)) return at;
  memory.fill(wp, 0, n);
  wp += n;
  return at;
}

// struct nlmsghdr from a row's common header (type, flags, seq, pid); length set by msgEnd()
export function msgBegin(row: usize): usize {
  const at = wp;
  if (!room(NLMSG_HDRLEN)) return at;
  store<u32>(wp, 0);
  memory.copy(wp + 4, row, 12);
  wp += NLMSG_HDRLEN;
  return at;
}

export function msgEnd(at: usize): void {
  if (wfail) return;
  store<u32>(at, <u32>(wp - at));
}

function hdr(type: u16, payload: usize): bool {
  const total = align4(NLA_HDRLEN + payload);
  if (NLA_HDRLEN + payload > 0xffff) {
    wfail = true;
    return false;
  }
  if (!room(total)) return false;
  // zero the last word first (the padding); the header and payload are written over the rest
  store<u32>(wp + total - 4, 0);
  store<u16>(wp, <u16>(NLA_HDRLEN + payload));
  store<u16>(wp, type, 2);
  return true;
}

export function attrU8(type: u16, v: u8): void {
  if (!hdr(type, 1)) return;
  store<u8>(wp, v, 4);
  wp += 8;
}

export function attrU16(type: u16, v: u16): void {
  if (!hdr(type, 2)) return;
  store<u16>(wp, v, 4);
  wp += 8;
}

export function attrU32(type: u16, v: u32): void {
  if (!hdr(type, 4)) return;
  store<u32>(wp, v, 4);
  wp += 8;
}

export function attrBytes(type: u16, src: usize, n: usize): void {
  if (!hdr(type, n)) return;
  memory.copy(wp + NLA_HDRLEN, src, n);
  wp += align4(NLA_HDRLEN + n);
}

// String from a 16-byte NUL-padded slot, emitted with its terminating NUL (as nla_put_string does).
export function attrStr(type: u16, src: usize): void {
  let len: usize = 0;
  while (len < 15 && load<u8>(src + len) != 0) len++;
  if (!hdr(type, len + 1)) return;
  memory.copy(wp + NLA_HDRLEN, src, len);
  store<u8>(wp + NLA_HDRLEN + len, 0);
  wp += align4(NLA_HDRLEN + len + 1);
}

// struct rtvia { u16 rtvia_family; u8 rtvia_addr[]; }
export function attrVia(type: u16, family: u16, src: usize, n: usize): void {
  if (!hdr(type, 2 + n)) return;
  store<u16>(wp, family, NLA_HDRLEN);
  memory.copy(wp + NLA_HDRLEN + 2, src, n);
  wp += align4(NLA_HDRLEN + 2 + n);
}

// Nested attribute: nestBegin() writes the header, nestEnd() its length (inner padding included,
// as nla_nest_end does).
export function nestBegin(type: u16): usize {
  const at = wp;
  if (!room(NLA_HDRLEN)) return at;
  store<u16>(wp, 0);
  store<u16>(wp, type, 2);
  wp += NLA_HDRLEN;
  return at;
}

export function nestEnd(at: usize): void {
  if (wfail) return;
  const n = wp - at;
  if (n > 0xffff) {
    wfail = true;
    return;
  }
  store<u16>(at, <u16>n);
}
