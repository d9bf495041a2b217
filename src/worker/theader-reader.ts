/**
 * The receiving side of a THeader listener: each whole frame is either a THeader frame (its
 * protocol id, header seqid and key/value headers read, the payload located) or a plain framed
 * message, which Apache's THeader servers also accept; either way the reply must go back in
 * kind, which {@link ReplyFrame} records.
 */
import type { DecodeLimits, I64Mode } from '../codec/decode-limits.js';
import type { InputProtocol } from '../codec/input-protocol.js';
import { createInputProtocol, type ProtocolName } from '../codec/protocols.js';
import { isTHeader, parseTHeader } from '../codec/theader.js';
import type { ReplyFrame } from './reply-writer.js';

const NO_HEADERS: ReadonlyMap<string, string> = new Map();

/** Reads THeader frames for one connection; readers per protocol id are made on first use. */
export class THeaderReader {
  /** The reply framing of the frame last read. */
  frame: ReplyFrame | undefined;
  /** The headers of the frame last read (empty for a plain framed message). */
  headers: ReadonlyMap<string, string> = NO_HEADERS;
  private readonly inputs = new Map<ProtocolName, InputProtocol>();

  constructor(
    private readonly limits: DecodeLimits,
    private readonly i64: I64Mode,
  ) {}

  /**
   * Points the reader of the frame's protocol at its message.
   * @throws ProtocolViolation or Error for a header that breaks a limit or cannot be read
   */
  read(buf: Buffer, start: number, end: number): InputProtocol {
    let protocol: ProtocolName;
    let messageStart = start;
    if (isTHeader(buf, start, end)) {
      const parsed = parseTHeader(buf, start, end, this.limits);
      protocol = parsed.protocol;
      messageStart = parsed.payloadStart;
      this.headers = parsed.headers;
      this.frame = { protocol, seqid: parsed.seqid, plain: false, headers: undefined };
    } else {
      // A plain framed client on a THeader listener, as Apache's THeader servers allow.
      protocol = buf[start] === 0x82 ? 'compact' : 'binary';
      this.headers = NO_HEADERS;
      this.frame = { protocol, seqid: 0, plain: true, headers: undefined };
    }
    let input = this.inputs.get(protocol);
    if (!input) {
      input = createInputProtocol(protocol, this.limits, this.i64);
      this.inputs.set(protocol, input);
    }
    input.reset(buf, messageStart, end);
    return input;
  }
}
