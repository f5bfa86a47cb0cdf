// What the last parse() reported: its status, the NLMSG_ERROR (or failed NLMSG_DONE) it saw, the
// kernel's extended ack, dump interruption, where a malformed message stopped it (codec/error.ts).
import * as L from "../../../codec/layout.ts";
import { CodecBase } from "./base";

const utf8 = new TextDecoder();

export class CodecStatus extends CodecBase {
  /** Status of the last parse(). */
  status(): number {
    return this.view().getInt32(this.st + L.ST_STATUS, true);
  }

  /** -errno of the last NLMSG_ERROR (0 = ACK), or of an NLMSG_DONE that reported a failed dump. */
  errorCode(): number {
    return this.view().getInt32(this.st + L.ST_ERROR_CODE, true);
  }

  /** nlmsg_seq of that message. */
  errorSeq(): number {
    return this.stateWord(L.ST_ERROR_SEQ);
  }

  /** NLMSGERR_ATTR_MSG of the last error (or NLMSG_DONE extack), "" if none. */
  extAckMessage(): string {
    const n = this.stateWord(L.ST_EXTACK_LEN);
    if (n === 0) return "";
    const p = this.stateWord(L.ST_EXTACK);
    return utf8.decode(this.u8.subarray(p, p + n));
  }

  /** NLMSGERR_ATTR_OFFS of the last error: offset of the offending attribute in the request. */
  extAckOffset(): number | undefined {
    return this.stateWord(L.ST_HAS_OFFS) ? this.stateWord(L.ST_EXTACK_OFFS) : undefined;
  }

  /** NLM_F_DUMP_INTR seen since reset(). */
  dumpInterrupted(): boolean {
    return this.stateWord(L.ST_DUMP_INTR) !== 0;
  }

  /** Offset in the receive region of the message the last MALFORMED parse() stopped at. */
  malformedOffset(): number {
    return this.stateWord(L.ST_MALFORMED_AT);
  }
}
