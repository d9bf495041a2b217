/**
 * The receiving side of a THeader listener. As Apache's THeaderTransport does, it takes what
 * each client sends and answers in kind ({@link ReplyFrame} records how):
 * - a THeader frame: protocol id, header seqid, key/value headers and transforms (zlib) read,
 *   the payload located (inflated). The reply goes back without transforms, as Apache's C++,
 *   Python and Go (before 0.21) THeader servers answer: Apache's C++ client before 0.24 overruns
 *   its receive buffer on a zlib reply that inflates past its compressed size (fixed upstream
 *   in db4a473f3);
 * - a THeader frame inside a second frame (Apache clients with `--transport=framed
 *   --protocol=header`);
 * - a plain framed binary or compact message;
 * - plain unframed binary or compact messages (the connection detects those from the first
 *   byte and splits them as unframed; see {@link THeaderReader.unframed}).
 */
import type { DecodeLimits, I64Mode } from '../codec/decode-limits.js';
import type { InputProtocol } from '../codec/input-protocol.js';
import { createInputProtocol, type ProtocolName } from '../codec/protocols.js';
import { isTHeader, parseTHeader, type THeaderFrame } from '../codec/theader.js';
import type { ReplyFrame } from './reply-writer.js';

const NO_HEADERS: ReadonlyMap<string, string> = new Map();

/** Reads THeader frames for one connection; readers per protocol id are made on first use. */
export class THeaderReader {
  /** The reply framing of the frame last read. */
  frame: ReplyFrame | undefined;
  /** The headers of the frame last read (empty for a plain framed message). */
  headers: ReadonlyMap<string, string> = NO_HEADERS;
  /** Set for a connection whose client sends plain unframed messages in this protocol. */
  unframed: ProtocolName | undefined;
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
    let payload = buf;
    if (this.unframed) {
      protocol = this.unframed;
      this.headers = NO_HEADERS;
      this.frame = { protocol, seqid: 0, plain: true, unframed: true, headers: undefined };
    } else if (isTHeader(buf, start, end) || isDoubleFramed(buf, start, end)) {
      const outer = !isTHeader(buf, start, end);
      const parsed: THeaderFrame = parseTHeader(buf, outer ? start + 4 : start, end, this.limits);
      protocol = parsed.protocol;
      ({ payload, payloadStart: start, payloadEnd: end } = parsed);
      this.headers = parsed.headers;
      this.frame = {
        protocol,
        seqid: parsed.seqid,
        plain: false,
        headers: undefined,
        ...(outer ? { outer } : {}),
      };
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
    input.reset(payload, start, end);
    return input;
  }
}

/** A frame body that is itself a whole THeader frame: `[length][0x0FFF ...]`. */
function isDoubleFramed(buf: Buffer, start: number, end: number): boolean {
  return end - start >= 6 && buf.readUInt32BE(start) === end - start - 4 && isTHeader(buf, start + 4, end);
}

/** The first byte of a plain unframed message, by protocol (binary strict, compact). */
export function unframedProtocolOf(firstByte: number): ProtocolName | undefined {
  return firstByte === 0x80 ? 'binary' : firstByte === 0x82 ? 'compact' : undefined;
}
