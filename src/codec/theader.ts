/**
 * Apache Thrift's THeader transport framing (the format of fbthrift, Kitex and Apache's C++,
 * Python, Go, Java and Node libraries): inside a 4-byte frame length,
 *
 *   magic 0x0FFF (2) | flags (2) | seqid (4) | header size / 4 (2) |
 *   header: protocol id (varint) | transform count (varint) [transform ids] |
 *           info blocks: type 1 = key/value (varint count, then varint-length key, value) ... |
 *           zero padding to a multiple of 4 |
 *   payload: one message in the binary (0) or compact (2) protocol
 *
 * Parsing is bounded like the rest of the codec: every varint, count and string length is
 * checked against the header's own size and the decode limits. The zlib transform (id 1) is
 * read, inflated no further than `maxMessageBytes`; any other transform is refused with
 * {@link UnsupportedTransform}, which says which. Frames are written without transforms unless
 * given some.
 */
import zlib from 'node:zlib';
import { type DecodeLimits, ProtocolViolation, violation } from './decode-limits.js';
import type { ProtocolName } from './protocols.js';

/** `0x0FFF`, the first two bytes of a THeader frame body. */
export const THEADER_MAGIC = 0x0fff;
const INFO_KEY_VALUE = 1;
/** THeader transform ids (Apache's THeaderTransport): only zlib is in use anywhere. */
export const ZLIB_TRANSFORM = 1;
const TRANSFORM_NAMES: Record<number, string> = { 1: 'zlib', 2: 'hmac', 3: 'snappy', 4: 'qlz', 5: 'zstd' };
/** More transforms than this on one frame is not a real client. */
const MAX_TRANSFORMS = 4;

/** A frame asks for a transform this side does not implement. */
export class UnsupportedTransform extends ProtocolViolation {
  constructor(
    readonly transformId: number,
    /** The frame's header seqid and protocol, for an answer the caller can read. */
    readonly seqid: number,
    readonly protocol: ProtocolName,
  ) {
    super(
      `THeader transform ${transformId} (${TRANSFORM_NAMES[transformId] ?? 'unknown'}) is not supported; ` +
        'send without it, or with zlib (1)',
    );
  }
}

/** THeader protocol ids. */
const PROTOCOL_IDS: Record<number, ProtocolName> = { 0: 'binary', 2: 'compact' };
const PROTOCOL_ID_OF: Record<ProtocolName, number> = { binary: 0, json: 1, compact: 2 };

/** What a THeader frame says about its payload. */
export interface THeaderFrame {
  protocol: ProtocolName;
  /** The header's sequence id, echoed in the reply's header. */
  seqid: number;
  flags: number;
  headers: Map<string, string>;
  /** The payload's transforms, in the order they were applied (only zlib is accepted). */
  transforms: number[];
  /** The buffer holding the payload: the frame's own, or the inflated one with zlib. */
  payload: Buffer;
  /** Offsets of the payload (the Thrift message) in {@link payload}. */
  payloadStart: number;
  payloadEnd: number;
}

/** True when the frame body at `start` begins with the THeader magic. */
export function isTHeader(buf: Buffer, start: number, end: number): boolean {
  return end - start >= 2 && buf.readUInt16BE(start) === THEADER_MAGIC;
}

/**
 * Parses the THeader of the frame body `buf[start..end)`.
 * @throws ProtocolViolation on a malformed header, an unsupported protocol or transform, or a
 * header that breaks the decode limits
 */
export function parseTHeader(buf: Buffer, start: number, end: number, limits: DecodeLimits): THeaderFrame {
  if (end - start < 10) violation('THeader frame shorter than its fixed header');
  const flags = buf.readUInt16BE(start + 2);
  const seqid = buf.readInt32BE(start + 4);
  const headerEnd = start + 10 + buf.readUInt16BE(start + 8) * 4;
  if (headerEnd > end) violation(`THeader header of ${headerEnd - start - 10} bytes overruns its frame`);
  const r = new HeaderReader(buf, start + 10, headerEnd, limits);
  const protocolId = r.varint();
  const protocol = PROTOCOL_IDS[protocolId];
  if (!protocol) violation(`THeader protocol id ${protocolId} is not supported (binary 0 and compact 2 are)`);
  const transformCount = r.varint();
  if (transformCount > MAX_TRANSFORMS) violation(`THeader with ${transformCount} transforms`);
  const transforms: number[] = [];
  for (let i = 0; i < transformCount; i++) {
    const id = r.varint();
    if (id !== ZLIB_TRANSFORM) throw new UnsupportedTransform(id, seqid, protocol);
    transforms.push(id);
  }
  const headers = new Map<string, string>();
  while (r.pos < headerEnd) {
    const type = r.varint();
    if (type === 0) break; // padding
    if (type !== INFO_KEY_VALUE) violation(`unknown THeader info block type ${type}`);
    const count = r.varint();
    if (count > limits.maxContainerElements) {
      violation(`THeader with ${count} headers exceeds maxContainerElements ${limits.maxContainerElements}`);
    }
    for (let i = 0; i < count; i++) headers.set(r.string(), r.string());
  }
  if (transforms.length === 0) {
    return { protocol, seqid, flags, headers, transforms, payload: buf, payloadStart: headerEnd, payloadEnd: end };
  }
  let payload = buf.subarray(headerEnd, end);
  for (let i = transforms.length - 1; i >= 0; i--) payload = inflate(payload, limits);
  return { protocol, seqid, flags, headers, transforms, payload, payloadStart: 0, payloadEnd: payload.length };
}

/**
 * The bytes that go before a payload of `payloadBytes` to make a THeader frame (frame length
 * included), carrying `headers`.
 */
export function buildTHeaderPrefix(
  protocol: ProtocolName,
  seqid: number,
  headers: ReadonlyMap<string, string> | undefined,
  payloadBytes: number,
  transforms: readonly number[] = NO_TRANSFORMS,
): Buffer {
  const info = infoBytes(protocol, headers, transforms);
  const prefix = Buffer.allocUnsafe(14 + padTo4(info));
  writeTHeader(prefix, protocol, seqid, headers, transforms, info, payloadBytes);
  return prefix;
}

/**
 * A whole THeader frame (frame length included) around `payload`, in one buffer: what a reply or
 * a call goes out as, with no prefix allocated apart and no concatenation.
 */
export function buildTHeaderFrame(
  protocol: ProtocolName,
  seqid: number,
  headers: ReadonlyMap<string, string> | undefined,
  payload: Buffer,
): Buffer {
  const info = infoBytes(protocol, headers, NO_TRANSFORMS);
  const frame = Buffer.allocUnsafe(14 + padTo4(info) + payload.length);
  payload.copy(frame, writeTHeader(frame, protocol, seqid, headers, NO_TRANSFORMS, info, payload.length));
  return frame;
}

// --- internal ---

const NO_TRANSFORMS: readonly number[] = [];

/** Inflates a zlib payload, no further than the message limit (a small frame may inflate hugely). */
function inflate(data: Buffer, limits: DecodeLimits): Buffer {
  try {
    return zlib.inflateSync(data, { maxOutputLength: limits.maxMessageBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      return violation(`zlib payload inflates past maxMessageBytes ${limits.maxMessageBytes}`);
    }
    return violation(`zlib payload cannot be inflated (${(err as Error).message})`);
  }
}

const padTo4 = (n: number): number => (n + 3) & ~3;

function varintBytes(n: number): number {
  let v = n >>> 0;
  let bytes = 1;
  while (v > 0x7f) {
    v >>>= 7;
    bytes++;
  }
  return bytes;
}

function putVarint(out: Buffer, at: number, n: number): number {
  let v = n >>> 0;
  while (v > 0x7f) {
    out[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[at++] = v;
  return at;
}

/** Bytes of the header's info section (protocol id, transforms, key/value headers), before padding. */
function infoBytes(
  protocol: ProtocolName,
  headers: ReadonlyMap<string, string> | undefined,
  transforms: readonly number[],
): number {
  let n = varintBytes(PROTOCOL_ID_OF[protocol]) + varintBytes(transforms.length);
  for (const id of transforms) n += varintBytes(id);
  if (headers && headers.size > 0) {
    n += varintBytes(INFO_KEY_VALUE) + varintBytes(headers.size);
    for (const [k, v] of headers) {
      const kb = Buffer.byteLength(String(k));
      const vb = Buffer.byteLength(String(v));
      n += varintBytes(kb) + kb + varintBytes(vb) + vb;
    }
  }
  if (padTo4(n) / 4 > 0xffff) throw new RangeError('THeader headers larger than 256 KiB');
  return n;
}

/** Writes the frame length and the THeader of `info` bytes (padded) into `out`; returns where the payload goes. */
function writeTHeader(
  out: Buffer,
  protocol: ProtocolName,
  seqid: number,
  headers: ReadonlyMap<string, string> | undefined,
  transforms: readonly number[],
  info: number,
  payloadBytes: number,
): number {
  const padded = padTo4(info);
  out.writeInt32BE(10 + padded + payloadBytes, 0);
  out.writeUInt16BE(THEADER_MAGIC, 4);
  out.writeUInt16BE(0, 6);
  out.writeInt32BE(seqid, 8);
  out.writeUInt16BE(padded / 4, 12);
  let at = putVarint(out, 14, PROTOCOL_ID_OF[protocol]);
  at = putVarint(out, at, transforms.length);
  for (const id of transforms) at = putVarint(out, at, id);
  if (headers && headers.size > 0) {
    at = putVarint(out, at, INFO_KEY_VALUE);
    at = putVarint(out, at, headers.size);
    for (const [k, v] of headers) {
      at = putString(out, at, String(k));
      at = putString(out, at, String(v));
    }
  }
  out.fill(0, at, 14 + padded);
  return 14 + padded;
}

function putString(out: Buffer, at: number, s: string): number {
  const start = putVarint(out, at, Buffer.byteLength(s));
  return start + out.write(s, start, 'utf8');
}

/** Bounded reads inside one THeader header. */
class HeaderReader {
  constructor(
    private readonly buf: Buffer,
    public pos: number,
    private readonly end: number,
    private readonly limits: DecodeLimits,
  ) {}

  varint(): number {
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.end) violation('THeader header ends inside a varint');
      const b = this.buf[this.pos++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
    return violation('THeader varint longer than 5 bytes');
  }

  string(): string {
    const n = this.varint();
    if (n > this.limits.maxStringBytes) {
      violation(`THeader string of ${n} bytes exceeds maxStringBytes ${this.limits.maxStringBytes}`);
    }
    if (this.pos + n > this.end) violation('THeader string overruns the header');
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}
