// NLMSG_ERROR (struct nlmsgerr, error 0 = ACK) and NLMSG_DONE, with extended ack TLVs.
//
//   NLMSG_ERROR payload: struct nlmsgerr { i32 error; struct nlmsghdr msg; }
//     followed by the rest of the original request unless NLM_F_CAPPED, then, with
//     NLM_F_ACK_TLVS, attributes: NLMSGERR_ATTR_MSG (string), NLMSGERR_ATTR_OFFS (u32), ...
//   NLMSG_DONE payload: i32 error (negative when the dump failed), then TLVs with NLM_F_ACK_TLVS.
//
// Within one parse() call the first failure sticks: once an error was recorded, later ACKs and
// DONEs in the same buffer neither change the status nor overwrite the error fields.
import {
  ST_ERROR_CODE, ST_ERROR_SEQ, ST_EXTACK, ST_EXTACK_LEN, ST_EXTACK_OFFS, ST_HAS_OFFS, EXTACK_CAP,
  STATUS_ACK, STATUS_DONE, STATUS_ERROR, STATUS_MALFORMED,
} from "./layout";
import { NLMSG_HDRLEN, NLM_F_CAPPED, NLM_F_ACK_TLVS, NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS } from "./kernel";
import { align4, attrLen, attrType } from "./attr";
import { stateWord, setStateWord } from "./tables";

// set by parse() at the start of each call; true once an error was recorded in that call
export let errorSticks: bool = false;

export function beginParse(): void {
  errorSticks = false;
}

// Walks extended-ack TLVs in [a, end); records them unless `record` is false.
function walkTlvs(a: usize, end: usize, record: bool): bool {
  while (a < end) {
    const n = attrLen(a, end);
    if (n == 0) return false;
    const t = attrType(a);
    if (t == NLMSGERR_ATTR_MSG) {
      let len: usize = 0;
      const d = a + 4;
      while (len < n - 4 && load<u8>(d + len) != 0) len++;
      if (len > <usize>EXTACK_CAP) len = <usize>EXTACK_CAP;
      if (record) {
        memory.copy(<usize>stateWord(ST_EXTACK), d, len);
        setStateWord(ST_EXTACK_LEN, <u32>len);
      }
    } else if (t == NLMSGERR_ATTR_OFFS) {
      if (n != 8) return false;
      if (record) {
        setStateWord(ST_EXTACK_OFFS, load<u32>(a, 4));
        setStateWord(ST_HAS_OFFS, 1);
      }
    }
    a += align4(n);
  }
  return true;
}

// Validates the TLVs first, then records the error (unless an earlier one sticks).
function record(msg: usize, tlv: usize, end: usize, err: i32): void {
  if (errorSticks) return;
  setStateWord(ST_EXTACK_LEN, 0);
  setStateWord(ST_EXTACK_OFFS, 0);
  setStateWord(ST_HAS_OFFS, 0);
  if (tlv != 0) walkTlvs(tlv, end, true);
  setStateWord(ST_ERROR_CODE, <u32>err);
  setStateWord(ST_ERROR_SEQ, load<u32>(msg, 8));
  if (err != 0) errorSticks = true;
}

// Returns STATUS_ACK, STATUS_ERROR or STATUS_MALFORMED.
export function parseError(msg: usize, mlen: usize): i32 {
  // error code plus at least the original request's header
  if (mlen < NLMSG_HDRLEN + 4 + NLMSG_HDRLEN) return STATUS_MALFORMED;
  const flags = load<u16>(msg, 6);
  const err = load<i32>(msg, NLMSG_HDRLEN);
  const end = msg + mlen;
  let tlv: usize = 0;
  if (flags & NLM_F_ACK_TLVS) {
    tlv = msg + NLMSG_HDRLEN + 4 + NLMSG_HDRLEN;
    if (!(flags & NLM_F_CAPPED)) {
      const origLen = <usize>load<u32>(msg, NLMSG_HDRLEN + 4);
      if (origLen < NLMSG_HDRLEN || origLen > mlen - NLMSG_HDRLEN - 4) return STATUS_MALFORMED;
      tlv = msg + NLMSG_HDRLEN + 4 + align4(origLen);
      if (tlv > end) tlv = end; // the original request's padding may be missing at the very end
    }
    if (!walkTlvs(tlv, end, false)) return STATUS_MALFORMED;
  }
  record(msg, tlv, end, err);
  return err == 0 ? STATUS_ACK : STATUS_ERROR;
}

// Returns STATUS_DONE, STATUS_ERROR (the dump failed: negative error) or STATUS_MALFORMED.
export function parseDone(msg: usize, mlen: usize): i32 {
  const flags = load<u16>(msg, 6);
  const err = mlen >= NLMSG_HDRLEN + 4 ? load<i32>(msg, NLMSG_HDRLEN) : 0;
  const end = msg + mlen;
  let tlv: usize = 0;
  if (flags & NLM_F_ACK_TLVS) {
    if (mlen < NLMSG_HDRLEN + 4) return STATUS_MALFORMED;
    tlv = msg + NLMSG_HDRLEN + 4;
    if (!walkTlvs(tlv, end, false)) return STATUS_MALFORMED;
  }
  if (err < 0) {
    record(msg, tlv, end, err);
    return STATUS_ERROR;
  }
  if (tlv != 0 && !errorSticks) {
    // a successful dump may still carry a warning message
    setStateWord(ST_EXTACK_LEN, 0);
    setStateWord(ST_EXTACK_OFFS, 0);
    setStateWord(ST_HAS_OFFS, 0);
    walkTlvs(tlv, end, true);
  }
  return STATUS_DONE;
}
