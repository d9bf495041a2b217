/**
 * One client connection inside a worker: splits the byte stream into messages (framed or
 * unframed), decodes each call, runs the handler, and writes the replies back in request
 * order, batched per tick. Bad input closes only this connection.
 *
 * It owns the receive loop instead of using Apache's server so that a partial message costs
 * one cheap check instead of a thrown-and-caught exception per chunk, protocol objects are
 * reused, frame sizes are checked before anything is allocated, and an idle connection can be
 * handed to another process during a reload without closing it.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import thrift from 'thrift';
import { writeApplicationException } from '../codec/application-exception.js';
import { ServerCallContext, runWithContext } from './call-context.js';
import { type DecodeLimits, type I64Mode, ProtocolViolation } from '../codec/decode-limits.js';
import { runChain } from '../common/interceptor-chain.js';
import { buildTHeaderPrefix, isTHeader, parseTHeader, type THeaderFrame } from '../codec/theader.js';
import { withTraceContext } from '../common/trace-propagation.js';
import type { InputProtocol } from '../codec/input-protocol.js';
import { MessageSplitter } from '../codec/message-splitter.js';
import { createOutputProtocol } from '../codec/output-protocols.js';
import { createInputProtocol, type ProtocolName, protocolClass } from '../codec/protocols.js';
import { WriteBuffer } from '../codec/write-buffer.js';
import type { Logger } from '../host/logger.js';
import { internalError, type MethodEntry, type ServiceTable } from './service-loader.js';
import type { StatsRegistry } from '../monitoring/stats.js';

const { MessageType, TApplicationException, TApplicationExceptionType: AppErr, Type } = thrift.Thrift;

/** Settings of a connection, from the service config. */
export interface ConnectionOptions {
  /** Length-prefixed frames (framed and THeader transports). */
  framed: boolean;
  /** THeader transport: frames carry a header (protocol id, key/value headers) before the message. */
  header: boolean;
  protocol: ProtocolName;
  /** What one call may hold; a violation closes the connection. */
  limits: DecodeLimits;
  /** How i64 arguments reach the handler. */
  i64: I64Mode;
  /** 0 disables the idle timeout. */
  idleTimeoutMs: number;
}

/**
 * How to frame one reply on a THeader listener: the caller's protocol and header seqid, and the
 * reply headers; `plain` for a client that sent a plain framed message to the THeader listener.
 */
interface ReplyFrame {
  protocol: ProtocolName;
  seqid: number;
  plain: boolean;
  headers: Map<string, string> | undefined;
}

/** Called when a retiring connection is idle: take over the socket and the unread bytes. */
export type HandOff = (socket: Socket, unread: Buffer) => void;

/**
 * A connection closing when idle (a stop) is closed only once it has been idle this long. The
 * client of a call that just got its reply may write its next call at once (one that waited in
 * its queue for that reply, or the next of a sequence), and that call is on its way for a round
 * trip plus the client's event-loop delay: closing at the very instant of the reply would leave
 * it written but never read, however long before the stop it was made. Likewise a client that
 * connected just before the stop has usually written its first call already.
 */
const IDLE_CLOSE_GRACE_MS = 250;
/** Pause reading when this many calls of one connection are in flight. */
const MAX_IN_FLIGHT = 1024;
/**
 * Pause reading while more than this many reply bytes wait in the socket's buffer: what a
 * client that stops reading can make the worker hold (the kernel's socket buffers come on top).
 * 4 MiB keeps a reading client's socket busy; at 8 MiB, chaos scenario 6b's four non-readers
 * took the worker's RSS past its bound (+96-109 MB), at 4 MiB +59-98 MB (garbage not yet
 * collected is most of the rest).
 */
const MAX_WRITE_BACKLOG = 4 * 1024 * 1024;

/** Server side of one socket. */
export class ServerConnection {
  /** Calls received and answered (or, oneway, run). */
  requests = 0;
  /** Calls answered with an error (declared exceptions excluded). */
  errors = 0;

  /** Headers of the message being dispatched (THeader transport); empty otherwise. */
  private requestHeaders: ReadonlyMap<string, string> = NO_HEADERS;
  /** Bytes read but not decoded yet, split into whole messages. */
  private readonly splitter: MessageSplitter;
  private readonly input: InputProtocol;
  /** THeader only: the reply framing of the message being dispatched, and of the reply being written. */
  private frame: ReplyFrame | undefined;
  private replyFrame: ReplyFrame | undefined;
  /** THeader only: readers and writers per protocol id, made on first use. */
  private readonly inputs = new Map<ProtocolName, InputProtocol>();
  private readonly outputs = new Map<ProtocolName, thrift.TProtocol>();
  private readonly writer: WriteBuffer;
  private output: thrift.TProtocol;
  /** Replies waiting for an earlier one; `undefined` = not ready. Index 0 is the next to send. */
  private readonly queue: (Buffer | undefined)[] = [];
  private queueBase = 0;
  private nextSlot = 0;
  private currentSlot = -1;
  private inFlight = 0;
  private corked = false;
  private paused = false;
  private readEnded = false;
  private closed = false;
  private retire: HandOff | undefined;
  /** Retiring by closing (no hand-off): a request that has partly arrived is still answered. */
  private closeWhenIdle = false;
  /** Closing when idle: after this time (ms since epoch) it closes at its first idle instant. */
  private lingerUntil = 0;
  /** Closing when idle: idle now, closing unless a call arrives before this fires. */
  private idleGrace: NodeJS.Timeout | undefined;

  constructor(
    readonly socket: Socket,
    private readonly table: ServiceTable,
    private readonly stats: StatsRegistry,
    private readonly options: ConnectionOptions,
    private readonly log: Logger,
    private readonly onClose: (c: ServerConnection) => void,
    unread: Buffer = EMPTY,
  ) {
    this.splitter = new MessageSplitter(options.framed, options.protocol, options.limits);
    this.input = createInputProtocol(options.protocol, options.limits, options.i64);
    // A THeader reply gets its frame and header when it is delivered.
    this.writer = new WriteBuffer(options.framed && !options.header, (message) => this.deliver(message));
    this.output = createOutputProtocol(protocolClass(options.protocol), this.writer);
    socket.setNoDelay(true);
    // Node creates a socket received over IPC (adopted after a reload) with allowHalfOpen
    // false: it would end the socket on the peer's FIN, before the replies to its last calls.
    socket.allowHalfOpen = true;
    if (options.idleTimeoutMs > 0) socket.setTimeout(options.idleTimeoutMs);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('timeout', this.onTimeout);
    socket.on('drain', this.onDrain);
    socket.on('error', this.onError);
    socket.on('close', this.onSocketClose);
    if (unread.length > 0) this.onData(unread);
  }

  /** Remote `host:port`, for logs. */
  get remote(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  /** True when nothing is in flight or waiting to be written. */
  get idle(): boolean {
    return this.inFlight === 0 && this.queue.length === 0 && this.socket.writableLength === 0;
  }

  /**
   * Retires the connection: as soon as it is idle (possibly now) it is detached and `handOff`
   * receives the socket and any bytes read but not yet decoded. Without `handOff` it is closed,
   * once it has been idle for {@link IDLE_CLOSE_GRACE_MS} meanwhile answering every call that
   * arrives; from `lingerUntil` (ms since epoch) on, at its first idle instant, so that a client
   * that keeps sending cannot hold it open. Called again without `handOff` on a connection
   * retiring with one, it closes instead (and reads again).
   */
  retireWhenIdle(handOff?: HandOff, lingerUntil = 0): void {
    this.retire = handOff ?? ((socket) => socket.end());
    this.closeWhenIdle = !handOff;
    this.lingerUntil = lingerUntil;
    // A connection that moves stops reading now, so that it becomes idle even under pipelined
    // load: unread requests travel with it. One that closes answers what arrives until idle.
    if (handOff) this.pause();
    else this.resume();
    this.maybeRetire();
  }

  /** Closes at once, dropping anything in flight. */
  destroy(): void {
    this.socket.destroy();
  }

  // --- internal ---

  private readonly onData = (chunk: Buffer): void => {
    if (this.idleGrace) {
      // Busy again: the grace starts over at its next idle instant.
      clearTimeout(this.idleGrace);
      this.idleGrace = undefined;
    }
    this.splitter.push(chunk);
    this.decodeAvailable();
  };

  private decodeAvailable(): void {
    const splitter = this.splitter;
    while (!this.paused && !this.closed) {
      try {
        if (!splitter.next()) break;
      } catch (err) {
        this.protocolError(
          `${(err as Error).message}${mismatchHint(splitter.peek(8), this.options.framed)}`,
          this.headerOfPending(),
        );
        return;
      }
      let input = this.input;
      if (this.options.header) {
        const found = this.headerInput(splitter.message, splitter.messageStart, splitter.messageEnd);
        if (!found) return;
        input = found;
      } else {
        input.reset(splitter.message, splitter.messageStart, splitter.messageEnd);
      }
      this.decodeOne(input);
    }
    // A connection closing when idle waited for the rest of a message: it may be idle now.
    if (this.retire && !this.closed) this.maybeRetire();
  }

  /**
   * The header of a message that broke a limit before it was whole, when its first bytes can be
   * read as one: the caller then learns why its call failed instead of seeing the connection close.
   */
  private headerOfPending(): { fname: string; rseqid: number } | undefined {
    const view = this.splitter.peek(Number.MAX_SAFE_INTEGER);
    const start = this.options.framed ? 4 : 0;
    try {
      this.input.reset(view, start, view.length);
      const header = this.input.readMessageBegin();
      return header.mtype === MessageType.CALL ? header : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * THeader listener: reads the frame's header (or takes a plain framed message as such) and
   * returns the reader for its protocol pointed at the message; undefined after closing for a
   * bad header.
   */
  private headerInput(buf: Buffer, start: number, end: number): InputProtocol | undefined {
    let protocol: ProtocolName;
    let messageStart = start;
    if (isTHeader(buf, start, end)) {
      let parsed: THeaderFrame;
      try {
        parsed = parseTHeader(buf, start, end, this.options.limits);
      } catch (err) {
        this.protocolError((err as Error).message);
        return undefined;
      }
      protocol = parsed.protocol;
      messageStart = parsed.payloadStart;
      this.requestHeaders = parsed.headers;
      this.frame = { protocol, seqid: parsed.seqid, plain: false, headers: undefined };
    } else {
      // A plain framed client on a THeader listener, as Apache's THeader servers allow.
      protocol = buf[start] === 0x82 ? 'compact' : 'binary';
      this.requestHeaders = NO_HEADERS;
      this.frame = { protocol, seqid: 0, plain: true, headers: undefined };
    }
    let input = this.inputs.get(protocol);
    if (!input) {
      input = createInputProtocol(protocol, this.options.limits, this.options.i64);
      this.inputs.set(protocol, input);
    }
    input.reset(buf, messageStart, end);
    return input;
  }

  /** Decodes the whole message `input` points at and dispatches it. */
  private decodeOne(input: InputProtocol): void {
    let header: { fname: string; mtype: number; rseqid: number } | undefined;
    let entry: MethodEntry | undefined;
    let args: Record<string, unknown> | undefined;
    try {
      header = input.readMessageBegin();
      if (header.mtype !== MessageType.CALL && header.mtype !== MessageType.ONEWAY) {
        this.protocolError(`message type ${header.mtype} is not a call`, header, AppErr.INVALID_MESSAGE_TYPE);
        return;
      }
      entry = this.table.methods.get(header.fname);
      if (entry) {
        args = new entry.info.Args() as Record<string, unknown>;
        (args as { read(p: unknown): void }).read(input);
      } else {
        input.skip(Type.STRUCT);
      }
      input.readMessageEnd();
      if (input.pos !== input.end) {
        throw new ProtocolViolation(`${input.end - input.pos} byte(s) after the end of the message`);
      }
    } catch (err) {
      const what =
        err instanceof ProtocolViolation ? err.message : `malformed message (${(err as Error).message})`;
      this.protocolError(what, header, AppErr.PROTOCOL_ERROR);
      return;
    }
    if (!entry) {
      this.stats.counter(`${this.table.services[0] ?? '?'}.<unknown>`).reject('UNKNOWN_METHOD');
      this.log.warn({ remote: this.remote, method: header.fname }, 'unknown method called');
      if (header.mtype === MessageType.CALL) {
        this.errors++;
        this.replyException(
          this.reserveSlot(),
          this.frame,
          header.fname,
          header.rseqid,
          AppErr.UNKNOWN_METHOD,
          `Unknown method ${header.fname}`,
        );
      }
      return;
    }
    // Replies carry the bare method name, also when multiplexed (as TMultiplexedProcessor does).
    this.dispatch(entry, entry.info.name, header.rseqid, header.mtype === MessageType.ONEWAY, args!);
  }

  private dispatch(
    entry: MethodEntry,
    name: string,
    seqid: number,
    oneway: boolean,
    args: Record<string, unknown>,
  ): void {
    const slot = oneway ? -1 : this.reserveSlot();
    // Captured now: a later message on this connection replaces `this.frame`.
    const frame = this.frame && { ...this.frame };
    const startedAt = entry.counter.begin();
    this.inFlight++;
    if (this.inFlight >= MAX_IN_FLIGHT) this.pause();
    let value: unknown;
    try {
      const invoke = () =>
        entry.interceptors.length > 0 || entry.callContext
          ? this.invokeWithContext(entry, seqid, oneway, args, frame)
          : entry.invoke(args);
      // A THeader caller may carry a W3C trace context: the handler runs inside it.
      value = this.requestHeaders.size > 0 ? withTraceContext(this.requestHeaders, invoke) : invoke();
    } catch (err) {
      this.finish(entry, name, seqid, slot, frame, startedAt, undefined, err);
      return;
    }
    if (
      value !== null &&
      typeof value === 'object' &&
      typeof (value as Promise<unknown>).then === 'function'
    ) {
      (value as Promise<unknown>).then(
        (v) => this.finish(entry, name, seqid, slot, frame, startedAt, v, undefined),
        (err) =>
          this.finish(
            entry,
            name,
            seqid,
            slot,
            frame,
            startedAt,
            undefined,
            err ?? new Error('rejected with nothing'),
          ),
      );
    } else {
      this.finish(entry, name, seqid, slot, frame, startedAt, value, undefined);
    }
  }

  /** The call with its {@link CallContext}: through the interceptors, in AsyncLocalStorage if asked. */
  private invokeWithContext(
    entry: MethodEntry,
    seqid: number,
    oneway: boolean,
    args: Record<string, unknown>,
    frame: ReplyFrame | undefined,
  ): unknown {
    const socket = this.socket;
    const context = new ServerCallContext(
      entry.service,
      entry.info.name,
      seqid,
      oneway,
      { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
      (socket as TLSSocket).encrypted
        ? ((socket as TLSSocket).getPeerCertificate()?.subject as Record<string, string> | undefined)
        : undefined,
      this.requestHeaders,
      entry.argv(args),
      this.log,
    );
    // Reply headers an interceptor sets travel back in the reply's THeader.
    if (frame) frame.headers = context.responseHeaders;
    const run =
      entry.interceptors.length > 0
        ? () => runChain(entry.interceptors, context, () => entry.invokeArgv(context.args))
        : () => entry.invokeArgv(context.args);
    return entry.callContext ? runWithContext(context, run) : run();
  }

  private finish(
    entry: MethodEntry,
    name: string,
    seqid: number,
    slot: number,
    frame: ReplyFrame | undefined,
    startedAt: number,
    value: unknown,
    error: unknown,
  ): void {
    this.inFlight--;
    this.requests++;
    if (slot < 0) {
      // Oneway: nobody waits for an answer; still count and log a failure.
      if (error !== undefined) {
        this.errors++;
        this.log.error({ err: error, method: entry.key }, 'oneway handler failed');
      }
      entry.counter.end(startedAt, error === undefined ? undefined : 'INTERNAL_ERROR');
    } else {
      this.reply(entry, name, seqid, slot, frame, startedAt, value, error);
    }
    if (this.paused && this.inFlight < MAX_IN_FLIGHT / 2) this.resume();
    // A half-closed peer whose last call was oneway: no reply (and no uncork) will end it.
    if (this.readEnded && !this.corked && !this.closed && this.inFlight === 0 && this.queue.length === 0) {
      this.socket.end();
    }
    this.maybeRetire();
  }

  /**
   * Answers a finished call: its result, a declared exception, or INTERNAL_ERROR. Whatever the
   * handler's value, this never throws: a value the IDL cannot encode (a missing required field,
   * a wrong type, an out-of-range number, nothing where a result is declared) is logged with the
   * method and the field, and the caller gets INTERNAL_ERROR, so the calls behind it proceed.
   */
  private reply(
    entry: MethodEntry,
    name: string,
    seqid: number,
    slot: number,
    frame: ReplyFrame | undefined,
    startedAt: number,
    value: unknown,
    error: unknown,
  ): void {
    let declared: { write(output: unknown): void } | undefined;
    try {
      if (error === undefined) {
        const writeResult = entry.info.writeResult;
        if (writeResult) {
          if (value == null && entry.info.returnsValue) throw noResult(value);
          this.replyStruct(slot, frame, name, seqid, writeResult, value);
        } else {
          const result = new entry.info.Result({ success: value });
          if ('success' in result && result.success == null) throw noResult(value);
          this.replyStruct(slot, frame, name, seqid, writeStruct, result);
        }
        entry.counter.end(startedAt);
        return;
      }
      declared = entry.declaredResult(error);
      if (declared) {
        this.replyStruct(slot, frame, name, seqid, writeStruct, declared);
        entry.counter.end(startedAt, (error as Error).name || 'exception', error);
        return;
      }
    } catch (err) {
      this.resetOutput();
      this.errors++;
      entry.counter.end(startedAt, 'INTERNAL_ERROR', err);
      this.log.error(
        { err, method: entry.key, remote: this.remote },
        `${declared ? 'declared exception' : 'result'} of ${entry.key} cannot be encoded: ${(err as Error).message}`,
      );
      this.replyException(slot, frame, name, seqid, AppErr.INTERNAL_ERROR, internalError(entry).message);
      return;
    }
    this.errors++;
    if (error instanceof TApplicationException) {
      // Raised on purpose by the handler: it is part of the contract, pass it on.
      entry.counter.end(startedAt, 'APPLICATION_EXCEPTION');
      this.replyException(slot, frame, name, seqid, error.type, String(error.message));
    } else {
      entry.counter.end(startedAt, 'INTERNAL_ERROR', error);
      this.log.error({ err: error, method: entry.key, remote: this.remote }, 'handler threw');
      this.replyException(slot, frame, name, seqid, AppErr.INTERNAL_ERROR, internalError(entry).message);
    }
  }

  /** Encodes a REPLY into its slot; throws (having written nothing) when the value cannot be encoded. */
  private replyStruct<V>(
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
  private resetOutput(): void {
    this.writer.reset();
    this.output = createOutputProtocol(protocolClass(this.options.protocol), this.writer);
    this.outputs.clear();
  }

  private replyException(
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

  private reserveSlot(): number {
    this.queue.push(undefined);
    return this.nextSlot++;
  }

  /** WriteBuffer sink: file the message in its slot and send every reply that is now in order. */
  private deliver(message: Buffer): void {
    const slot = this.currentSlot;
    if (this.closed || slot < 0) return;
    const frame = this.replyFrame;
    if (frame) message = frameReply(message, frame);
    this.queue[slot - this.queueBase] = message;
    while (this.queue.length > 0 && this.queue[0] !== undefined) {
      this.send(this.queue.shift()!);
      this.queueBase++;
    }
  }

  private send(message: Buffer): void {
    if (!this.corked) {
      // Every reply produced in this tick goes out in one writev.
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    if (!this.socket.write(message, this.onWritten) && this.socket.writableLength > MAX_WRITE_BACKLOG) {
      this.pause();
    }
  }

  /**
   * A retiring connection waits for its replies to be written, and 'drain' fires only after a
   * write() that returned false: a small reply the kernel took late would leave it waiting.
   */
  private readonly onWritten = (): void => {
    if (this.retire && !this.socket.destroyed) this.maybeRetire();
  };

  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
    if (this.readEnded && this.inFlight === 0 && this.queue.length === 0) this.socket.end();
    this.maybeRetire();
  };

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  private resume(): void {
    // A connection that moves stays paused (its unread calls travel with it); one that closes
    // reads on, or the calls behind a pause would never be answered.
    if (!this.paused || this.closed || (this.retire && !this.closeWhenIdle)) return;
    if (this.inFlight >= MAX_IN_FLIGHT / 2 || this.socket.writableLength > MAX_WRITE_BACKLOG) return;
    this.paused = false;
    this.socket.resume();
    if (this.splitter.pending > 0) this.decodeAvailable();
  }

  private readonly onDrain = (): void => {
    this.resume();
    this.maybeRetire();
  };

  /** `graceOver`: the idle grace of a connection closing when idle has run out. */
  private maybeRetire(graceOver = false): void {
    if (!this.retire || this.closed || this.corked || !this.idle) return;
    if (this.closeWhenIdle && !this.readEnded) {
      if (this.splitter.pending > 0) return;
      if (!graceOver && this.lingering()) return;
    }
    clearTimeout(this.idleGrace);
    this.idleGrace = undefined;
    const handOff = this.retire;
    this.retire = undefined;
    if (this.readEnded) {
      this.socket.end();
      return;
    }
    this.detach();
    const socket = this.socket;
    // Stop the event loop reading more: what is still in the kernel travels with the handle.
    (socket as unknown as { _handle?: { readStop?(): void } })._handle?.readStop?.();
    socket.pause();
    const leftovers: Buffer[] = [this.splitter.takeUnread()];
    for (let chunk = socket.read(); chunk !== null; chunk = socket.read()) leftovers.push(chunk as Buffer);
    this.closed = true;
    this.onClose(this);
    handOff(socket, Buffer.concat(leftovers));
  }

  /**
   * Closing when idle, and idle now: true while it waits for a next call (the grace is armed or
   * running), false once it may close.
   */
  private lingering(): boolean {
    if (this.idleGrace) return true;
    const wait = Math.min(IDLE_CLOSE_GRACE_MS, this.lingerUntil - Date.now());
    if (wait <= 0) return false;
    this.idleGrace = setTimeout(() => {
      this.idleGrace = undefined;
      this.maybeRetire(true);
    }, wait);
    return true;
  }

  private detach(): void {
    const s = this.socket;
    s.setTimeout(0);
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('timeout', this.onTimeout);
    s.off('drain', this.onDrain);
    s.off('error', this.onError);
    s.off('close', this.onSocketClose);
  }

  private readonly onEnd = (): void => {
    // The peer will send nothing more; answer what it already sent, then close.
    this.readEnded = true;
    const unread = this.splitter.pending;
    if (unread > 0) this.log.warn({ remote: this.remote, bytes: unread }, 'peer closed mid-message');
    if (this.inFlight === 0 && this.queue.length === 0) this.socket.end();
  };

  private readonly onTimeout = (): void => {
    if (this.inFlight > 0 && this.socket.writableLength === 0) return; // a slow handler, not an idle peer
    this.log.info({ remote: this.remote, inFlight: this.inFlight }, 'closing idle connection');
    this.socket.destroy();
  };

  private readonly onError = (err: Error): void => {
    this.log.debug({ remote: this.remote, err: err.message }, 'connection error');
  };

  private readonly onSocketClose = (): void => {
    clearTimeout(this.idleGrace);
    if (this.closed) return;
    this.closed = true;
    this.onClose(this);
  };

  private protocolError(
    problem: string,
    header?: { fname: string; rseqid: number },
    type: number = AppErr.PROTOCOL_ERROR,
  ): void {
    this.stats.counter(`${this.table.services[0] ?? '?'}.<protocol>`).reject('PROTOCOL_ERROR');
    this.errors++;
    // Logged once per connection: it is closed right after.
    this.log.warn(
      { remote: this.remote, service: this.table.services.join('+'), method: header?.fname },
      `closing connection: ${problem}`,
    );
    if (header && !this.closed) {
      // We know who asked: tell them why before closing.
      try {
        this.replyException(this.reserveSlot(), this.frame, header.fname, header.rseqid, type, `Bad request: ${problem}`);
      } catch {
        // the protocol object may be in any state after bad input; closing is enough
      }
    }
    this.closed = true;
    this.splitter.takeUnread();
    this.socket.end();
    this.socket.destroySoon();
    this.onClose(this);
  }
}

const EMPTY = Buffer.alloc(0);
const NO_HEADERS: ReadonlyMap<string, string> = new Map();

/** Writes a generated struct (a result or declared exception) with its own `write`. */
function writeStruct(output: unknown, struct: { write(p: unknown): void }): void {
  struct.write(output);
}

function noResult(value: unknown): TypeError {
  return new TypeError(`handler returned ${value} where the IDL declares a result`);
}

/** Wraps a reply for a THeader listener: its THeader, or a plain frame for a plain framed client. */
function frameReply(message: Buffer, frame: ReplyFrame): Buffer {
  const prefix = frame.plain
    ? Buffer.from([message.length >>> 24, (message.length >>> 16) & 0xff, (message.length >>> 8) & 0xff, message.length & 0xff])
    : buildTHeaderPrefix(frame.protocol, frame.seqid, frame.headers, message.length);
  return Buffer.concat([prefix, message], prefix.length + message.length);
}

/** A hint when the bytes look like the other transport (a common misconfiguration). */
function mismatchHint(bytes: Buffer, framedListener: boolean): string {
  if (bytes.length < 4) return '';
  const b0 = bytes[0]!;
  const looksLikeMessage = b0 === 0x80 || b0 === 0x82 || b0 === 0x5b; // binary, compact, JSON
  if (framedListener && looksLikeMessage)
    return ' (the client seems to use buffered transport; this listener is framed)';
  if (!framedListener && b0 === 0 && bytes.length > 4 && [0x80, 0x82, 0x5b].includes(bytes[4]!)) {
    return ' (the client seems to use framed transport; this listener is buffered)';
  }
  if (/^(GET|POST|PUT|HEAD|OPTIONS) /.test(bytes.subarray(0, 8).toString('latin1')))
    return ' (an HTTP request on a Thrift port)';
  return '';
}
