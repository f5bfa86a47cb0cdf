// RTM_NEWLINK / RTM_DELLINK / RTM_GETLINK: struct ifinfomsg + IFLA_* <-> link row.
//
//   struct ifinfomsg { u8 family; u8 pad; u16 type; i32 index; u32 flags; u32 change; }
//   IFLA_LINKINFO = nest { IFLA_INFO_KIND string, IFLA_INFO_DATA = nest of kind-specific attrs }
//     macvlan/macvtap: IFLA_MACVLAN_MODE u32;  ipvlan/ipvtap: IFLA_IPVLAN_MODE u16,
//     IFLA_IPVLAN_FLAGS u16;  vrf: IFLA_VRF_TABLE u32
//
// Kernel link dumps carry dozens of attributes; every one is length-checked and all but the ones
// in the row are skipped. LINK_ATTRS (layout.ts) lists the ones kept in rtnl_fill_ifinfo's order
// (as dumped by 6.18): IFNAME OPERSTATE MTU MASTER ADDRESS (NET_NS_FD: requests only) LINKINFO
// LINK_NETNSID LINK. The generic walk (walk.ts) does all but IFLA_LINKINFO, which is here.
import {
  LINK_ROW, LN_FAMILY, LN_TYPE, LN_INDEX, LN_FLAGS, LN_CHANGE, LN_PRESENT, LN_KIND, LN_MODE,
  LN_VRF_TABLE, LN_IPVLAN_FLAGS, LN_HAS_KIND, LN_HAS_MODE, LN_HAS_VRF_TABLE, LN_HAS_IPVLAN_FLAGS,
  ST_LINK_BASE, STATUS_MALFORMED, STATUS_NO_MEMORY, LINK_ATTRS,
} from "./layout";
import {
  NLMSG_HDRLEN, IFINFOMSG_LEN, IFLA_LINKINFO, IFLA_INFO_KIND, IFLA_INFO_DATA, IFLA_MACVLAN_MODE,
  IFLA_IPVLAN_MODE, IFLA_IPVLAN_FLAGS, IFLA_VRF_TABLE, KIND_MACVLAN, KIND_MACVTAP, KIND_IPVLAN,
  KIND_IPVTAP, KIND_VRF,
} from "./kernel";
import {
  align4, attrLen, attrType, copyStr, wfail, putZero, msgBegin, msgEnd, attrU16, attrU32, attrStr,
  nestBegin, nestEnd,
} from "./attr";
import { commitRow, openRow } from "./tables";
import { buildIndex, emitAttrs, indexOf, LINK_INDEX, parseAttrs } from "./walk";

const KIND_OTHER: i32 = 0;
const KIND_IS_MACVLAN: i32 = 1;
const KIND_IS_IPVLAN: i32 = 2;
const KIND_IS_VRF: i32 = 3;

function kindOf(row: usize): i32 {
  if (!(load<u32>(row + LN_PRESENT) & LN_HAS_KIND)) return KIND_OTHER;
  if (load<u64>(row + LN_KIND, 8) != 0) return KIND_OTHER; // longer than 8 bytes
  const k = load<u64>(row + LN_KIND);
  if (k == KIND_MACVLAN || k == KIND_MACVTAP) return KIND_IS_MACVLAN;
  if (k == KIND_IPVLAN || k == KIND_IPVTAP) return KIND_IS_IPVLAN;
  if (k == KIND_VRF) return KIND_IS_VRF;
  return KIND_OTHER;
}

@inline function setPresent(row: usize, bit: u32): void {
  store<u32>(row + LN_PRESENT, load<u32>(row + LN_PRESENT) | bit);
}

// IFLA_INFO_DATA of a kind the codec knows; false when malformed.
function parseInfoData(row: usize, kind: i32, d: usize, dl: usize): bool {
  const end = d + dl;
  let a = d;
  while (a < end) {
    const n = attrLen(a, end);
    if (n == 0) return false;
    const t = attrType(a);
    const pl = n - 4;
    if (kind == KIND_IS_MACVLAN && t == IFLA_MACVLAN_MODE) {
      if (pl != 4) return false;
      store<u32>(row + LN_MODE, load<u32>(a, 4));
      setPresent(row, LN_HAS_MODE);
    } else if (kind == KIND_IS_IPVLAN && (t == IFLA_IPVLAN_MODE || t == IFLA_IPVLAN_FLAGS)) {
      if (pl != 2) return false;
      const v = <u32>load<u16>(a, 4);
      if (t == IFLA_IPVLAN_MODE) {
        store<u32>(row + LN_MODE, v);
        setPresent(row, LN_HAS_MODE);
      } else {
        store<u16>(row + LN_IPVLAN_FLAGS, <u16>v);
        setPresent(row, LN_HAS_IPVLAN_FLAGS);
      }
    } else if (kind == KIND_IS_VRF && t == IFLA_VRF_TABLE) {
      if (pl != 4) return false;
      store<u32>(row + LN_VRF_TABLE, load<u32>(a, 4));
      setPresent(row, LN_HAS_VRF_TABLE);
    }
    a += align4(n);
  }
  return true;
}

// IFLA_LINKINFO: the kind is looked up first, then IFLA_INFO_DATA is read according to it.
function parseLinkInfo(row: usize, d: usize, dl: usize): bool {
  const end = d + dl;
  let data: usize = 0;
  let dataLen: usize = 0;
  let a = d;
  while (a < end) {
    const n = attrLen(a, end);
    if (n == 0) return false;
    const t = attrType(a);
    if (t == IFLA_INFO_KIND) {
      // kinds longer than IFNAMSIZ-1 are not kept (no kind the codec knows is)
      if (copyStr(row + LN_KIND, a + 4, n - 4, 15)) setPresent(row, LN_HAS_KIND);
    } else if (t == IFLA_INFO_DATA) {
      data = a + 4;
      dataLen = n - 4;
    }
    a += align4(n);
  }
  const kind = kindOf(row);
  if (data != 0 && kind != KIND_OTHER) return parseInfoData(row, kind, data, dataLen);
  return true;
}

export function parseLinkSpecial(row: usize, t: u32, d: usize, dl: usize, family: u32): i32 {
  return parseLinkInfo(row, d, dl) ? 0 : STATUS_MALFORMED; // IFLA_LINKINFO, the only AK_SPECIAL line
}


export function initLinkIndex(): void {
  buildIndex(LINK_ATTRS, indexOf(LINK_INDEX));
}

// Appends one link row; returns 0, STATUS_MALFORMED or STATUS_NO_MEMORY (nothing committed then).
export function parseLink(msg: usize, mlen: usize): i32 {
  if (mlen < NLMSG_HDRLEN + IFINFOMSG_LEN) return STATUS_MALFORMED;
  const row = openRow(ST_LINK_BASE, LINK_ROW, msg);
  if (row == 0) return STATUS_NO_MEMORY;
  const h = msg + NLMSG_HDRLEN;
  store<u8>(row + LN_FAMILY, load<u8>(h));
  store<u16>(row + LN_TYPE, load<u16>(h, 2));
  store<i32>(row + LN_INDEX, load<i32>(h, 4));
  store<u32>(row + LN_FLAGS, load<u32>(h, 8));
  store<u32>(row + LN_CHANGE, load<u32>(h, 12));
  const r = parseAttrs(row, h + IFINFOMSG_LEN, msg + mlen, <u32>load<u8>(h), LINK_INDEX, LN_PRESENT, 0);
  if (r != 0) return r;
  commitRow(ST_LINK_BASE);
  return 0;
}

function emitLinkInfo(row: usize, present: u32): void {
  const li = nestBegin(IFLA_LINKINFO);
  attrStr(IFLA_INFO_KIND, row + LN_KIND);
  const kind = kindOf(row);
  const wanted =
    (kind == KIND_IS_MACVLAN && (present & LN_HAS_MODE) != 0) ||
    (kind == KIND_IS_IPVLAN && (present & (LN_HAS_MODE | LN_HAS_IPVLAN_FLAGS)) != 0) ||
    (kind == KIND_IS_VRF && (present & LN_HAS_VRF_TABLE) != 0);
  if (wanted) {
    const data = nestBegin(IFLA_INFO_DATA);
    if (kind == KIND_IS_MACVLAN) {
      attrU32(IFLA_MACVLAN_MODE, load<u32>(row + LN_MODE));
    } else if (kind == KIND_IS_IPVLAN) {
      if (present & LN_HAS_MODE) attrU16(IFLA_IPVLAN_MODE, <u16>load<u32>(row + LN_MODE));
      if (present & LN_HAS_IPVLAN_FLAGS) attrU16(IFLA_IPVLAN_FLAGS, load<u16>(row + LN_IPVLAN_FLAGS));
    } else {
      attrU32(IFLA_VRF_TABLE, load<u32>(row + LN_VRF_TABLE));
    }
    nestEnd(data);
  }
  nestEnd(li);
}

export function emitLinkSpecial(row: usize, t: u32, family: u32, present: u32): void {
  emitLinkInfo(row, present); // IFLA_LINKINFO
}

export function emitLink(row: usize): void {
  const m = msgBegin(row);
  const h = putZero(IFINFOMSG_LEN);
  if (wfail) return;
  store<u8>(h, load<u8>(row + LN_FAMILY));
  store<u16>(h, load<u16>(row + LN_TYPE), 2);
  store<i32>(h, load<i32>(row + LN_INDEX), 4);
  store<u32>(h, load<u32>(row + LN_FLAGS), 8);
  store<u32>(h, load<u32>(row + LN_CHANGE), 12);
  emitAttrs(row, <u32>load<u8>(row + LN_FAMILY), load<u32>(row + LN_PRESENT), LINK_ATTRS, LINK_INDEX);
  msgEnd(m);
}
