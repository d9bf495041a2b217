/**
 * One client socket to one address. Calls are pipelined: each gets a sequence id and waits in a
 * pending map until the reply with that id arrives, its own deadline passes, or the socket dies;
 * a dying socket rejects every pending call at once, naming service, method and address (the
 * Apache client leaves them hanging). The socket is unref'd while nothing is pending, so an
 * idle pooled connection never keeps the process alive. A call can be cancelled (the losing
 * attempt of a backup request): it leaves the pending map, so a late reply to it is read past
 * and never handed to another call, and the connection stays in use. A call that times out
 * retires its connection, which is closed with a reset, unless it is a THeader connection on
 * which the server answered within the timeout (it knows the deadline and drops the call).
 */
import net from 'node:net';
import tls from 'node:tls';
import thrift from 'thrift';
import type { DecodeLimits, I64Mode } from '../src/codec/decode-limits.js';
import type { MethodInfo } from '../src/codec/generated-service.js';
import type { InputProtocol } from '../src/codec/input-protocol.js';
import { MessageSplitter } from '../src/codec/message-splitter.js';
import { createOutputProtocol } from '../src/codec/output-protocols.js';
import { createInputProtocol, type ProtocolName, protocolClass } from '../src/codec/protocols.js';
import { buildTHeaderFrame, isTHeader, parseTHeader } from '../src/codec/theader.js';
import { WriteBuffer } from '../src/codec/write-buffer.js';
import { type CallTarget, CallTimeoutError, ConnectionClosedError, ReplyDecodeError } from './errors.js';

const { MessageType, TApplicationException, TApplicationExceptionType, Type } = thrift.Thrift;

/** What a {@link Connection} needs to know. */
export interface ConnectionOptions {
  host: string;
  port: number;
  /** `host:port`, for messages. */
  address: string;
  service: string;
  protocol: ProtocolName;
  framed: boolean;
  /** THeader transport: calls carry a header with the protocol id and key/value headers. */
  header: boolean;
  connectTimeoutMs: number;
  /** Connect with TLS, with these settings (PEM contents); plain TCP when undefined. */
  tls?: ClientTlsSettings | undefined;
  /** What one reply may hold (`maxMessageBytes` is the service's `maxReplyBytes`). */
  limits: DecodeLimits;
  /** How i64 values in replies reach the caller. */
  i64: I64Mode;
  /** Called once when the socket has closed (after pending calls were rejected). */
  onClose?: (conn: Connection) => void;
  /** THeader only: called with the headers of every reply that carries some (e.g. the host's `load`). */
  onReplyHeaders?: (headers: ReadonlyMap<string, string>) => void;
}

/** TLS settings of a connection: PEM contents, as `tls.connect` takes them. */
export interface ClientTlsSettings {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
  rejectUnauthorized: boolean;
}

/** Lifecycle of a connection. `retired`: finishes pending calls, takes no new ones. */
export type ConnectionState = 'connecting' | 'open' | 'retired' | 'closed';

/** One pipelined Thrift connection. */
export class Connection {
  /** Settles when the socket is connected; rejects with the connect error (never rejects later). */
  readonly ready: Promise<void>;
  /** Why the connection closed, once it has. */
  closeCause: Error | undefined;
  private stateValue: ConnectionState = 'connecting';
  /** A call on this socket timed out: it is closed with a reset (see {@link close}). */
  private abandoned = false;
  /** When the socket last delivered bytes (`performance.now()`); its creation before that. */
  private lastReadAt = performance.now();
  private readonly socket: net.Socket;
  private readonly pending = new Map<number, PendingCall>();
  private seqid = 0;
  private readonly out: WriteBuffer;
  private readonly outProto: thrift.TProtocol;
  private readonly splitter: MessageSplitter;
  private readonly inProto: InputProtocol;
  private corked = false;
  private slotWaiter: { below: number; cb: () => void } | undefined;

  constructor(private readonly options: ConnectionOptions) {
    this.out = new WriteBuffer(options.framed && !options.header, () => {});
    this.outProto = createOutputProtocol(protocolClass(options.protocol), this.out);
    this.splitter = new MessageSplitter(options.framed, options.protocol, options.limits);
    this.inProto = createInputProtocol(options.protocol, options.limits, options.i64);
    this.socket = options.tls
      ? tls.connect({
          host: options.host,
          port: options.port,
          ...options.tls,
          // SNI takes a host name, never an IP address.
          servername: options.tls.servername ?? (net.isIP(options.host) ? undefined : options.host),
        })
      : net.connect({ host: options.host, port: options.port });
    this.socket.setNoDelay(true);
    // Ref'd while connecting (a caller is waiting on it); unref'd whenever nothing is pending.
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const err = new Error(`connect timeout after ${options.connectTimeoutMs} ms`);
        (err as NodeJS.ErrnoException).code = 'ETIMEDOUT';
        this.socket.destroy(err);
      }, options.connectTimeoutMs);
      timer.unref();
      this.socket.once(options.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        if (this.stateValue === 'connecting') this.stateValue = 'open';
        if (this.pending.size === 0) this.socket.unref();
        resolve();
      });
      this.socket.once('close', () => {
        clearTimeout(timer);
        reject(this.closeCause ?? new Error('connection closed while connecting'));
      });
    });
    // The pool awaits `ready`; mark the rejection handled for connections nobody awaits.
    this.ready.catch(() => {});
    this.socket.on('data', (chunk) => this.onData(chunk));
    this.socket.on('error', (err) => {
      this.closeCause ??= err;
    });
    this.socket.on('end', () => {
      this.closeCause ??= new Error('server closed the connection');
      if (this.stateValue !== 'connecting') this.stateValue = 'closed';
      this.socket.destroy();
    });
    this.socket.on('close', () => this.onClose());
  }

  /** `host:port` of the peer. */
  get address(): string {
    return this.options.address;
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** Calls waiting for their reply. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** True while new calls may be written. */
  get usable(): boolean {
    return this.stateValue === 'open';
  }

  /**
   * Writes one call and returns its reply. Throws synchronously, with `requestSent: false`, when
   * the connection cannot take it; an encoding error (bad argument) throws as-is. When `signal`
   * aborts before the reply, the call rejects with the signal's reason and is forgotten: its
   * reply, if one comes, is read past.
   */
  call(
    method: MethodInfo,
    args: Record<string, unknown>,
    timeoutMs: number,
    headers?: ReadonlyMap<string, string>,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const target: CallTarget = { service: this.options.service, method: method.name, address: this.address };
    if (this.stateValue !== 'open') {
      throw new ConnectionClosedError(
        `${target.service}.${target.method}: connection to ${target.address} is ${this.stateValue}; request not sent`,
        target,
        false,
        { cause: this.closeCause },
      );
    }
    this.seqid = (this.seqid + 1) | 0;
    const seqid = this.seqid;
    const message = this.encode(method, args, seqid, headers);
    if (method.oneway) {
      // Settled once the bytes are with the kernel: a caller may then close and exit.
      return new Promise<unknown>((resolve, reject) =>
        this.send(message, (err) => {
          if (!err) resolve(undefined);
          else {
            reject(
              new ConnectionClosedError(
                `${target.service}.${target.method}: oneway call to ${target.address} not written (${err.message})`,
                target,
                true,
                { cause: err },
              ),
            );
          }
        }),
      );
    }
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => this.onTimeout(seqid, timeoutMs), timeoutMs);
      if (this.pending.size === 0) this.socket.ref();
      const call: PendingCall = { method, target, resolve, reject, timer, signal, onAbort: undefined };
      if (signal) {
        call.onAbort = () => this.cancel(seqid, signal.reason);
        signal.addEventListener('abort', call.onAbort, { once: true });
      }
      this.pending.set(seqid, call);
      this.send(message);
    });
  }

  /** Calls `cb` once when fewer than `below` calls are pending, or the connection stops being usable. */
  whenBelow(below: number, cb: () => void): void {
    if (this.pending.size < below || !this.usable) cb();
    else this.slotWaiter = { below, cb };
  }

  /** Takes no new calls; closes once the pending ones are settled. Idempotent. */
  retire(): void {
    if (this.stateValue === 'closed') return;
    if (this.stateValue !== 'retired') this.stateValue = 'retired';
    if (this.pending.size === 0) this.close();
    this.notifySlot();
  }

  /**
   * Ends a retired socket: a FIN normally, a reset when a call on it timed out. A FIN may be a
   * half-close that still waits for replies, so a server keeps running the calls it read; a
   * reset tells it the caller gave up, and a thrifthost host then drops the calls of this
   * connection that have not started.
   */
  private close(): void {
    // A TLS socket has no TCP handle to reset: it is destroyed instead.
    if (this.abandoned && !this.options.tls) this.socket.resetAndDestroy();
    else if (this.abandoned) this.socket.destroy();
    else this.socket.end();
  }

  /** Closes now, rejecting every pending call. Idempotent. */
  destroy(cause?: Error): void {
    this.closeCause ??= cause ?? new Error('connection destroyed by the client');
    // Unusable at once: the socket's 'close' comes a tick later, and a call borrowed meanwhile
    // (after a reply that could not be decoded) would be written into a dead socket.
    this.stateValue = 'closed';
    this.socket.destroy();
  }

  // --- internal ---

  /**
   * Writes a message; the calls made in one tick leave in one syscall (and one read on the server).
   * `written` is called once the bytes are handed to the kernel, or with the write's error.
   */
  private send(message: Buffer, written?: (err?: Error | null) => void): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(message, written);
  }

  private encode(
    method: MethodInfo,
    args: Record<string, unknown>,
    seqid: number,
    headers: ReadonlyMap<string, string> | undefined,
  ): Buffer {
    let message: Buffer | undefined;
    this.out.sink = (buf) => {
      message = buf;
    };
    // TCompactProtocol never forgets the seqid it wrote and warns on every later message.
    this.outProto._seqid = null;
    try {
      this.outProto.writeMessageBegin(
        method.name,
        method.oneway ? MessageType.ONEWAY : MessageType.CALL,
        seqid,
      );
      if (method.writeArgs) method.writeArgs(this.outProto, args);
      else new method.Args(args).write(this.outProto);
      this.outProto.writeMessageEnd();
      this.outProto.flush();
    } catch (err) {
      this.out.reset();
      throw err;
    }
    if (!this.options.header) return message as Buffer;
    return buildTHeaderFrame(this.options.protocol, seqid, headers, message!);
  }

  private onData(chunk: Buffer): void {
    this.lastReadAt = performance.now();
    const splitter = this.splitter;
    splitter.push(chunk);
    try {
      while (splitter.next()) {
        let buf = splitter.message;
        let start = splitter.messageStart;
        let end = splitter.messageEnd;
        if (this.options.header && isTHeader(buf, start, end)) {
          const frame = parseTHeader(buf, start, end, this.options.limits);
          if (frame.protocol !== this.options.protocol) {
            throw new Error(`THeader reply in the ${frame.protocol} protocol to a ${this.options.protocol} call`);
          }
          ({ payload: buf, payloadStart: start, payloadEnd: end } = frame);
          if (frame.headers.size > 0) this.options.onReplyHeaders?.(frame.headers);
        }
        this.inProto.reset(buf, start, end);
        this.readMessage();
      }
    } catch (err) {
      this.failDecode(err);
    }
  }

  /** Reads one whole reply and settles its call; settles nothing until fully read. */
  private readMessage(): void {
    const proto = this.inProto;
    const { mtype, rseqid } = proto.readMessageBegin();
    const call = this.pending.get(rseqid);
    if (!call) {
      // A reply to a call that timed out: read past it.
      proto.skip(Type.STRUCT);
      proto.readMessageEnd();
      return;
    }
    let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
    if (mtype === MessageType.EXCEPTION) {
      const x = remoteException();
      x.read(proto as unknown as thrift.TProtocol);
      proto.readMessageEnd();
      outcome = { ok: false, error: x };
    } else {
      const result = new call.method.Result();
      result.read(proto);
      proto.readMessageEnd();
      outcome = resultOutcome(call.method, result);
    }
    this.settle(rseqid, call);
    if (outcome.ok) call.resolve(outcome.value);
    else call.reject(outcome.error);
  }

  private settle(seqid: number, call: PendingCall): void {
    clearTimeout(call.timer);
    if (call.onAbort) call.signal?.removeEventListener('abort', call.onAbort);
    this.pending.delete(seqid);
    if (this.pending.size === 0) {
      this.socket.unref();
      if (this.stateValue === 'retired') this.close();
    }
    this.notifySlot();
  }

  private notifySlot(): void {
    const w = this.slotWaiter;
    if (w && (this.pending.size < w.below || !this.usable)) {
      this.slotWaiter = undefined;
      w.cb();
    }
  }

  private onTimeout(seqid: number, timeoutMs: number): void {
    const call = this.pending.get(seqid);
    if (!call) return;
    this.settle(seqid, call);
    const t = call.target;
    call.reject(
      new CallTimeoutError(
        `${t.service}.${t.method} on ${t.address} got no reply within ${timeoutMs} ms (what was left of the call's deadline, callTimeoutMs)`,
        t,
      ),
    );
    // Over THeader the server knows the call's deadline and will not run it once that passed, so
    // a socket on which the server keeps answering stays: resetting it would cost a reconnect
    // (through the host's hand-off) per timeout, and under overload those reconnects fed the
    // timeouts (chaos scenario 10). A socket silent for a whole timeout may be stuck or dead; and
    // a server that got no deadline would run the call for nobody: stop sending on those sockets,
    // and close them with a reset so that the server knows the caller is gone.
    if (this.options.header && performance.now() - this.lastReadAt < timeoutMs) return;
    this.abandoned = true;
    this.retire();
  }

  /**
   * The caller gave up on a call (its backup won): it is forgotten, and its late reply will be
   * read past; the connection goes on serving other calls. Not reset, as a timed-out one is: a
   * backup is sent when one host is slow for one call, not stuck, and a reset would cost a new
   * connection (a connect, a TLS handshake, the host's hand-off) for every backup that wins,
   * delaying the calls that wait for it, to spare the host one call it may well have started.
   */
  private cancel(seqid: number, reason: unknown): void {
    const call = this.pending.get(seqid);
    if (!call) return;
    this.settle(seqid, call);
    call.reject(reason);
  }

  private failDecode(err: unknown): void {
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const call of calls) {
      clearTimeout(call.timer);
      if (call.onAbort) call.signal?.removeEventListener('abort', call.onAbort);
      const t = call.target;
      call.reject(
        new ReplyDecodeError(
          `${t.service}.${t.method} on ${t.address}: reply could not be decoded (${(err as Error).message}); ` +
            'check that client and server use the same protocol and transport',
          t,
          { cause: err },
        ),
      );
    }
    this.destroy(err as Error);
  }

  private onClose(): void {
    this.stateValue = 'closed';
    const cause = this.closeCause ?? new Error('connection closed');
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const call of calls) {
      clearTimeout(call.timer);
      if (call.onAbort) call.signal?.removeEventListener('abort', call.onAbort);
      const t = call.target;
      call.reject(
        new ConnectionClosedError(
          `${t.service}.${t.method} on ${t.address}: connection lost before the reply (${cause.message})`,
          t,
          true,
          { cause },
        ),
      );
    }
    this.notifySlot();
    this.options.onClose?.(this);
  }
}

interface PendingCall {
  method: MethodInfo;
  target: CallTarget;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  timer: NodeJS.Timeout;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** A decoded result struct → the value to resolve with, or the declared exception to throw. */
function resultOutcome(
  method: MethodInfo,
  result: Record<string, any>,
): { ok: true; value: unknown } | { ok: false; error: unknown } {
  for (const field of method.exceptionFields) {
    if (result[field] !== null && result[field] !== undefined) return { ok: false, error: result[field] };
  }
  if (!('success' in result)) return { ok: true, value: undefined };
  if (result.success !== null && result.success !== undefined) return { ok: true, value: result.success };
  return {
    ok: false,
    error: new TApplicationException(
      TApplicationExceptionType.MISSING_RESULT,
      `${method.name} failed: unknown result`,
    ),
  };
}

/**
 * An empty TApplicationException to read a server's answer into, built without capturing a
 * stack: it could only show this reader, and under overload, when most replies are calls the
 * host shed, capturing it cost more than reading the reply (5 % of a driver's CPU at 4x).
 */
function remoteException(): InstanceType<typeof TApplicationException> {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new TApplicationException();
  } finally {
    Error.stackTraceLimit = limit;
  }
}
