/**
 * Encodes the replies of one connection: a REPLY (result or declared exception) or an EXCEPTION
 * (TApplicationException), in the listener's protocol or, on a THeader listener, in the
 * caller's protocol wrapped in its THeader (or a plain frame for a plain framed caller), and
 * files each in the reply slot the connection reserved for it.
 */
import thrift from 'thrift';
import { writeApplicationException } from '../codec/application-exception.js';
import { createOutputProtocol } from '../codec/output-protocols.js';
import { type ProtocolName, protocolClass } from '../codec/protocols.js';
import { buildTHeaderFrame } from '../codec/theader.js';
import { WriteBuffer } from '../codec/write-buffer.js';

const { MessageType } = thrift.Thrift;

/**
 * How to frame one reply on a THeader listener: the caller's protocol and header seqid, and the
 * reply headers; `plain` for a client that sent a plain framed message to the THeader listener.
 */
export interface ReplyFrame {
  protocol: ProtocolName;
  seqid: number;
  plain: boolean;
  headers: Map<string, string> | undefined;
  /** The caller wrapped its THeader frame in a second frame (framed transport over THeader). */
  outer?: boolean;
  /** A plain unframed client on a THeader listener: the reply goes back unframed. */
  unframed?: boolean;
}

/** Where encoded replies go. */
export interface ReplySink {
  /** True once no reply can reach the caller: nothing is filed any more. */
  readonly gone: boolean;
  fillSlot(slot: number, reply: Buffer): void;
}

/** The reply encoder of one connection. */
export class ReplyWriter {
  private readonly outputs = new Map<ProtocolName, thrift.TProtocol>();
  private readonly writer: WriteBuffer;
  private output: thrift.TProtocol;
  private currentSlot = -1;
  private replyFrame: ReplyFrame | undefined;

  constructor(
    private readonly options: { framed: boolean; header: boolean; protocol: ProtocolName },
    private readonly sink: ReplySink,
  ) {
    // A THeader reply gets its frame and header when it is filed.
    this.writer = new WriteBuffer(options.framed && !options.header, (message) => this.file(message));
    this.output = createOutputProtocol(protocolClass(options.protocol), this.writer);
  }

  /** Encodes a REPLY into its slot; throws (having written nothing) when the value cannot be encoded. */
  struct<V>(
    slot: number,
    frame: ReplyFrame | undefined,
    name: string,
    seqid: number,
    write: (output: unknown, value: V) => void,
    value: V,
  ): void {
    const output = this.beginReply(slot, frame);
    output.writeMessageBegin(name, MessageType.REPLY, seqid);
    write(output, value);
    output.writeMessageEnd();
    output.flush();
  }

  exception(
    slot: number,
    frame: ReplyFrame | undefined,
    name: string,
    seqid: number,
    type: number,
    message: string,
  ): void {
    const output = this.beginReply(slot, frame);
    output.writeMessageBegin(name, MessageType.EXCEPTION, seqid);
    writeApplicationException(output, type, message);
    output.writeMessageEnd();
    output.flush();
  }

  /** Points the writer at `slot` and returns the output protocol for the reply's framing. */
  private beginReply(slot: number, frame: ReplyFrame | undefined): thrift.TProtocol {
    this.currentSlot = slot;
    this.replyFrame = frame;
    if (!frame) return this.output;
    let output = this.outputs.get(frame.protocol);
    if (!output) {
      output = createOutputProtocol(protocolClass(frame.protocol), this.writer);
      this.outputs.set(frame.protocol, output);
    }
    return output;
  }

  /** Forgets a half-written message (and any state the protocol object kept of it). */
  reset(): void {
    this.writer.reset();
    this.output = createOutputProtocol(protocolClass(this.options.protocol), this.writer);
    this.outputs.clear();
  }

  /** WriteBuffer sink: frames the message for a THeader caller and files it in its slot. */
  private file(message: Buffer): void {
    const slot = this.currentSlot;
    if (slot < 0 || this.sink.gone) return;
    const frame = this.replyFrame;
    this.sink.fillSlot(slot, frame ? frameReply(message, frame) : message);
  }
}

/**
 * Wraps a reply for a THeader listener in what its caller sent: a THeader frame (without
 * transforms, in a second frame if the caller used one), a plain frame, or nothing for a plain
 * unframed client.
 */
function frameReply(message: Buffer, frame: ReplyFrame): Buffer {
  if (frame.unframed) return message;
  if (frame.plain) return Buffer.concat([lengthPrefix(message.length), message], message.length + 4);
  const inner = buildTHeaderFrame(frame.protocol, frame.seqid, frame.headers, message);
  return frame.outer ? Buffer.concat([lengthPrefix(inner.length), inner], inner.length + 4) : inner;
}

function lengthPrefix(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n, 0);
  return b;
}
