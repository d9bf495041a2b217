/**
 * The life of one client socket inside a worker: reading and splitting the byte stream into
 * whole messages (framed or unframed), back-pressure (pause at too many calls in flight or too
 * many unsent reply bytes), replies written in request order and batched per tick, the idle
 * timeout, and retirement: closing when idle (a stop) or handing the socket and its unread bytes
 * to another worker (a reload). Each whole message goes to the connection's
 * {@link CallPipeline}, which decodes, admits, runs and answers it. Bad input closes only this
 * connection.
 *
 * It owns the receive loop instead of using Apache's server so that a partial message costs
 * one cheap check instead of a thrown-and-caught exception per chunk, frame sizes are checked
 * before anything is allocated, and an idle connection can be handed to another process during
 * a reload without closing it.
 */
import type { Socket } from 'node:net';
import type { DecodeLimits, I64Mode } from '../codec/decode-limits.js';
import { MessageSplitter } from '../codec/message-splitter.js';
import type { ProtocolName } from '../codec/protocols.js';
import type { Logger } from '../host/logger.js';
import type { StatsRegistry } from '../monitoring/stats.js';
import { CallPipeline, type PipelineConnection } from './call-pipeline.js';
import type { CallScheduler } from './call-scheduler.js';
import type { ServiceTable } from './service-loader.js';
import { unframedProtocolOf } from './theader-reader.js';

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
export class ServerConnection implements PipelineConnection {
  /** Bytes read but not decoded yet, split into whole messages. */
  private splitter: MessageSplitter;
  /** THeader listener: whether the client's framing was looked at yet (on its first byte). */
  private framingKnown: boolean;
  private readonly pipeline: CallPipeline;
  /** Replies waiting for an earlier one; `undefined` = not ready. Index 0 is the next to send. */
  private readonly queue: (Buffer | undefined)[] = [];
  private queueBase = 0;
  private nextSlot = 0;
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
    table: ServiceTable,
    stats: StatsRegistry,
    scheduler: CallScheduler,
    private readonly options: ConnectionOptions,
    private readonly log: Logger,
    private readonly onClose: (c: ServerConnection) => void,
    unread: Buffer = EMPTY,
  ) {
    this.splitter = new MessageSplitter(options.framed, options.protocol, options.limits);
    this.framingKnown = !options.header;
    this.pipeline = new CallPipeline(this, table, stats, scheduler, options, log);
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

  /** Calls received and answered (or, oneway, run). */
  get requests(): number {
    return this.pipeline.requests;
  }

  /** Calls answered with an error (declared exceptions excluded). */
  get errors(): number {
    return this.pipeline.errors;
  }

  /** True once the socket closed or moved: no reply can reach the caller. */
  get gone(): boolean {
    return this.closed;
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

  // --- called by the pipeline ---

  reserveSlot(): number {
    this.queue.push(undefined);
    return this.nextSlot++;
  }

  /** Files a reply in its slot and sends every reply that is now in order. */
  fillSlot(slot: number, reply: Buffer): void {
    if (this.closed) return;
    this.queue[slot - this.queueBase] = reply;
    while (this.queue.length > 0 && this.queue[0] !== undefined) {
      this.send(this.queue.shift()!);
      this.queueBase++;
    }
  }

  callStarted(): void {
    this.inFlight++;
    if (this.inFlight >= MAX_IN_FLIGHT) this.pause();
  }

  callDone(): void {
    this.inFlight--;
    if (this.paused && this.inFlight < MAX_IN_FLIGHT / 2) this.resume();
    // A half-closed peer whose last call was oneway: no reply (and no uncork) will end it.
    if (this.readEnded && !this.corked && !this.closed && this.inFlight === 0 && this.queue.length === 0) {
      this.socket.end();
    }
    this.maybeRetire();
  }

  closeForProtocolError(): void {
    this.markClosed();
    this.splitter.takeUnread();
    this.socket.end();
    this.socket.destroySoon();
  }

  // --- internal ---

  private readonly onData = (chunk: Buffer): void => {
    if (this.idleGrace) {
      // Busy again: the grace starts over at its next idle instant.
      clearTimeout(this.idleGrace);
      this.idleGrace = undefined;
    }
    if (!this.framingKnown) this.detectFraming(chunk);
    this.splitter.push(chunk);
    this.decodeAvailable();
  };

  /**
   * THeader listener, first bytes: a plain unframed binary or compact client (its first byte
   * is a protocol id, never the top byte of a valid frame length) is split as unframed.
   */
  private detectFraming(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.framingKnown = true;
    const protocol = unframedProtocolOf(chunk[0]!);
    if (!protocol) return;
    this.splitter = new MessageSplitter(false, protocol, this.options.limits);
    this.pipeline.setUnframed(protocol);
  }

  private decodeAvailable(): void {
    const splitter = this.splitter;
    while (!this.paused && !this.closed) {
      try {
        if (!splitter.next()) break;
      } catch (err) {
        const view = splitter.peek(Number.MAX_SAFE_INTEGER);
        this.pipeline.protocolError(
          `${(err as Error).message}${mismatchHint(splitter.peek(8), this.options.framed)}`,
          // A message that broke a limit before it was whole: when its first bytes read as a
          // call's header, the caller learns why its call failed instead of seeing a close.
          this.pipeline.peekCallHeader(view, this.options.framed ? 4 : 0),
        );
        return;
      }
      this.pipeline.handleMessage(splitter.message, splitter.messageStart, splitter.messageEnd);
    }
    // A connection closing when idle waited for the rest of a message: it may be idle now.
    if (this.retire && !this.closed) this.maybeRetire();
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
    this.markClosed();
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
    this.markClosed();
  };

  /** Closed or moved: no reply can be sent any more; calls still waiting are dropped. */
  private markClosed(): void {
    this.closed = true;
    this.pipeline.connectionClosed();
    this.onClose(this);
  }
}

const EMPTY = Buffer.alloc(0);

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
