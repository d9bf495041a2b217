/**
 * The call pipeline of one connection: each whole message the connection hands over is decoded
 * (its THeader unwrapped on a THeader listener), admitted or shed by the worker's
 * {@link CallScheduler}, run through interceptors and the handler, and its reply (result,
 * declared exception or TApplicationException) encoded and filed in the slot the connection
 * keeps for it, so replies leave in request order.
 *
 * The socket's life (reading, back-pressure, retirement, hand-off) is the connection's
 * (`server-connection.ts`); this file never touches the socket except to read who the peer is.
 * It is a little over 400 lines because a call's path (decode, admit, run, answer or refuse)
 * reads best in one place; encoding lives in `reply-writer.ts`, THeader in `theader-reader.ts`.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import thrift from 'thrift';
import { type DecodeLimits, type I64Mode, ProtocolViolation } from '../codec/decode-limits.js';
import type { InputProtocol } from '../codec/input-protocol.js';
import { createInputProtocol, type ProtocolName } from '../codec/protocols.js';
import { UnsupportedTransform } from '../codec/theader.js';
import { runChain } from '../common/interceptor-chain.js';
import { withTraceContext } from '../common/trace-propagation.js';
import type { Logger } from '../host/logger.js';
import type { StatsRegistry } from '../monitoring/stats.js';
import { ServerCallContext, runWithContext } from './call-context.js';
import { DEADLINE_HEADER, LOAD_HEADER } from '../common/theader-keys.js';
import { type CallRunner, type CallScheduler, type ScheduledCall, type ShedReason } from './call-scheduler.js';
import { type ReplyFrame, ReplyWriter } from './reply-writer.js';
import { internalError, type MethodEntry, type ServiceTable } from './service-loader.js';
import { THeaderReader } from './theader-reader.js';

const { MessageType, TApplicationException, TApplicationExceptionType: AppErr, Type } = thrift.Thrift;

/**
 * TApplicationException types for calls that were not run, as fbthrift numbers them (Apache's
 * enum stops at 10): a client that knows them can tell "not run, retry elsewhere" from a failure.
 */
export const LOADSHEDDING = 11;
/** TApplicationException type of a call whose deadline passed before it ran (fbthrift's TIMEOUT). */
export const DEADLINE_EXCEEDED = 12;

/** What the pipeline needs from its connection. */
export interface PipelineConnection {
  readonly socket: Socket;
  /** `host:port` of the peer, for logs. */
  readonly remote: string;
  /** True once the socket closed or was handed off: no reply can reach the caller. */
  readonly gone: boolean;
  /** Reserves the next reply slot (request order). */
  reserveSlot(): number;
  /** Files an encoded reply in its slot. */
  fillSlot(slot: number, reply: Buffer): void;
  /** A call was decoded and counts as in flight until {@link callDone}. */
  callStarted(): void;
  callDone(): void;
  /** Closes the connection for bad input (after the pipeline answered the caller, if it could). */
  closeForProtocolError(): void;
}

/** Settings of the pipeline, from the service config. */
export interface PipelineOptions {
  framed: boolean;
  header: boolean;
  protocol: ProtocolName;
  limits: DecodeLimits;
  i64: I64Mode;
}

/** One decoded call on its way through the scheduler. */
interface PipelineCall extends ScheduledCall {
  readonly entry: MethodEntry;
  readonly seqid: number;
  readonly oneway: boolean;
  readonly args: Record<string, unknown>;
  readonly slot: number;
  readonly frame: ReplyFrame | undefined;
  readonly headers: ReadonlyMap<string, string>;
  readonly pipeline: CallPipeline;
  /** Set while the call runs with a context, so a closing connection can abort its signal. */
  context?: ServerCallContext;
}

/** Decodes, admits, runs and answers the calls of one connection. */
export class CallPipeline implements CallRunner<PipelineCall> {
  /** Calls received and answered (or, oneway, run). */
  requests = 0;
  /** Calls answered with an error (declared exceptions excluded). */
  errors = 0;

  private readonly input: InputProtocol;
  /** THeader only: the reply framing of the message being decoded. */
  private frame: ReplyFrame | undefined;
  private readonly theader: THeaderReader | undefined;
  /** Headers of the message being decoded (THeader transport); empty otherwise. */
  private requestHeaders: ReadonlyMap<string, string> = NO_HEADERS;
  private readonly replies: ReplyWriter;
  /** Calls running with a context whose signal a disconnect must fire. */
  private readonly watched = new Set<PipelineCall>();

  constructor(
    private readonly conn: PipelineConnection,
    private readonly table: ServiceTable,
    private readonly stats: StatsRegistry,
    private readonly scheduler: CallScheduler,
    options: PipelineOptions,
    private readonly log: Logger,
  ) {
    this.input = createInputProtocol(options.protocol, options.limits, options.i64);
    this.replies = new ReplyWriter(options, conn);
    if (options.header) this.theader = new THeaderReader(options.limits, options.i64);
  }

  /** Decodes the whole message in `buf[start, end)` and admits it. */
  handleMessage(buf: Buffer, start: number, end: number): void {
    let input = this.input;
    if (this.theader) {
      try {
        input = this.theader.read(buf, start, end);
      } catch (err) {
        if (err instanceof UnsupportedTransform) {
          // Tell the caller in a frame it can read (no transform), then close.
          this.frame = { protocol: err.protocol, seqid: err.seqid, plain: false, headers: undefined };
          this.protocolError(err.message, { fname: '', rseqid: err.seqid }, AppErr.INVALID_TRANSFORM);
          return;
        }
        this.protocolError((err as Error).message);
        return;
      }
      this.frame = this.theader.frame;
      this.requestHeaders = this.theader.headers;
    } else {
      input.reset(buf, start, end);
    }
    this.decodeOne(input);
  }

  /**
   * Bad input: counts and logs it, answers the caller when its message header can be read
   * (`bytes` being the start of the offending message), and closes the connection.
   */
  protocolError(
    problem: string,
    header?: { fname: string; rseqid: number },
    type: number = AppErr.PROTOCOL_ERROR,
  ): void {
    this.stats.counter(`${this.table.services[0] ?? '?'}.<protocol>`).reject('PROTOCOL_ERROR');
    this.errors++;
    // Logged once per connection: it is closed right after.
    this.log.warn(
      { remote: this.conn.remote, service: this.table.services.join('+'), method: header?.fname },
      `closing connection: ${problem}`,
    );
    if (header && !this.conn.gone) {
      // We know who asked: tell them why before closing.
      try {
        this.replies.exception(this.conn.reserveSlot(), this.frame, header.fname, header.rseqid, type, `Bad request: ${problem}`);
      } catch {
        // the protocol object may be in any state after bad input; closing is enough
      }
    }
    this.conn.closeForProtocolError();
  }

  /** The header of a partial message, when its first bytes can be read as a call's. */
  peekCallHeader(view: Buffer, start: number): { fname: string; rseqid: number } | undefined {
    try {
      this.input.reset(view, start, view.length);
      const header = this.input.readMessageBegin();
      return header.mtype === MessageType.CALL ? header : undefined;
    } catch {
      return undefined;
    }
  }

  /** True once no reply can reach the caller. */
  get gone(): boolean {
    return this.conn.gone;
  }

  /** A THeader listener's connection whose client sends plain unframed messages. */
  setUnframed(protocol: ProtocolName): void {
    if (this.theader) this.theader.unframed = protocol;
  }

  /** The connection closed: calls still queued are dropped by the scheduler; running ones are aborted. */
  connectionClosed(): void {
    for (const call of this.watched) call.context?.abort('the caller disconnected');
    this.watched.clear();
  }

  // --- called by the scheduler ---

  /** Runs an admitted call. */
  run(call: PipelineCall, queuedMs: number): void {
    const { entry } = call;
    entry.counter.queued(queuedMs);
    const startedAt = entry.counter.begin();
    let value: unknown;
    try {
      // A context only where something can see it (interceptors, getCallContext()): a THeader
      // caller's deadline alone does not need one, and building it cost every such call.
      const invoke = () =>
        entry.interceptors.length > 0 || entry.callContext ? this.invokeWithContext(call) : entry.invoke(call.args);
      // A THeader caller may carry a W3C trace context: the handler runs inside it.
      value = call.headers.size > 0 ? withTraceContext(call.headers, invoke) : invoke();
    } catch (err) {
      this.finish(call, startedAt, undefined, err);
      return;
    }
    if (value !== null && typeof value === 'object' && typeof (value as Promise<unknown>).then === 'function') {
      (value as Promise<unknown>).then(
        (v) => this.finish(call, startedAt, v, undefined),
        (err) => this.finish(call, startedAt, undefined, err ?? new Error('rejected with nothing')),
      );
    } else {
      this.finish(call, startedAt, value, undefined);
    }
  }

  /** Answers a call that is not run: shed (overloaded), past its deadline, or its caller gone. */
  refuse(call: PipelineCall, reason: ShedReason): void {
    const { entry } = call;
    entry.counter.reject(reason);
    this.conn.callDone();
    if (reason === 'ABANDONED' || call.slot < 0) return;
    this.errors++;
    if (this.conn.gone) return;
    const message =
      reason === 'EXPIRED'
        ? `${entry.key}: deadline exceeded before the call started, not run`
        : `${entry.key}: server overloaded, not run (safe to retry)`;
    this.replies.exception(call.slot, call.frame, entry.info.name, call.seqid, reason === 'EXPIRED' ? DEADLINE_EXCEEDED : LOADSHEDDING, message);
  }

  // --- internal ---

  /** Decodes the whole message `input` points at and hands the call to the scheduler. */
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
      const what = err instanceof ProtocolViolation ? err.message : `malformed message (${(err as Error).message})`;
      this.protocolError(what, header, AppErr.PROTOCOL_ERROR);
      return;
    }
    if (!entry) {
      this.stats.counter(`${this.table.services[0] ?? '?'}.<unknown>`).reject('UNKNOWN_METHOD');
      this.log.warn({ remote: this.conn.remote, method: header.fname }, 'unknown method called');
      if (header.mtype === MessageType.CALL) {
        this.errors++;
        this.replies.exception(this.conn.reserveSlot(), this.frame, header.fname, header.rseqid, AppErr.UNKNOWN_METHOD, `Unknown method ${header.fname}`);
      }
      return;
    }
    // A method the IDL declares oneway is never answered, whatever the message type: Apache's
    // Go client sends oneway calls as CALL and would read a reply as the answer to its next call.
    const oneway = entry.info.oneway || header.mtype === MessageType.ONEWAY;
    const headers = this.requestHeaders;
    const call: PipelineCall = {
      entry,
      seqid: header.rseqid,
      oneway,
      args: args!,
      slot: oneway ? -1 : this.conn.reserveSlot(),
      // Copied: a later message on this connection replaces `this.frame`.
      frame: this.frame && { ...this.frame },
      headers,
      pipeline: this,
      arrivedAt: 0,
      deadline: headers.size > 0 ? deadlineOf(headers) : undefined,
    };
    this.conn.callStarted();
    this.scheduler.submit(call);
  }

  /** The call with its {@link CallContext}: through the interceptors, in AsyncLocalStorage if asked. */
  private invokeWithContext(call: PipelineCall): unknown {
    const { entry } = call;
    const socket = this.conn.socket;
    const context = new ServerCallContext(
      entry.service,
      entry.info.name,
      call.seqid,
      call.oneway,
      { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
      (socket as TLSSocket).encrypted
        ? ((socket as TLSSocket).getPeerCertificate()?.subject as Record<string, string> | undefined)
        : undefined,
      call.headers,
      entry.argv(call.args),
      this.log,
      call.deadline === undefined ? undefined : Date.now() + (call.deadline - performance.now()),
    );
    call.context = context;
    this.watched.add(call);
    // Reply headers an interceptor sets travel back in the reply's THeader.
    if (call.frame) call.frame.headers = context.responseHeaders;
    const run =
      entry.interceptors.length > 0
        ? () => runChain(entry.interceptors, context, () => entry.invokeArgv(context.args))
        : () => entry.invokeArgv(context.args);
    return entry.callContext ? runWithContext(context, run) : run();
  }

  private finish(call: PipelineCall, startedAt: number, value: unknown, error: unknown): void {
    const { entry } = call;
    if (call.context) {
      call.context.settle();
      this.watched.delete(call);
    }
    this.requests++;
    this.scheduler.done();
    if (call.slot < 0) {
      // Oneway: nobody waits for an answer; still count and log a failure.
      if (error !== undefined) {
        this.errors++;
        this.log.error({ err: error, method: entry.key }, 'oneway handler failed');
      }
      entry.counter.end(startedAt, error === undefined ? undefined : 'INTERNAL_ERROR');
    } else if (this.conn.gone) {
      // Nobody can read the reply: do not encode it.
      entry.counter.end(startedAt, 'CALLER_GONE');
    } else {
      if (call.frame && call.headers.has(LOAD_HEADER)) tagLoad(call.frame, this.scheduler.load);
      this.reply(call, startedAt, value, error);
    }
    this.conn.callDone();
  }

  /**
   * Answers a finished call: its result, a declared exception, or INTERNAL_ERROR. Whatever the
   * handler's value, this never throws: a value the IDL cannot encode (a missing required field,
   * a wrong type, an out-of-range number, nothing where a result is declared) is logged with the
   * method and the field, and the caller gets INTERNAL_ERROR, so the calls behind it proceed.
   */
  private reply(call: PipelineCall, startedAt: number, value: unknown, error: unknown): void {
    const { entry, slot, frame, seqid } = call;
    // Replies carry the bare method name, also when multiplexed (as TMultiplexedProcessor does).
    const name = entry.info.name;
    let declared: { write(output: unknown): void } | undefined;
    try {
      if (error === undefined) {
        const writeResult = entry.info.writeResult;
        if (writeResult) {
          if (value == null && entry.info.returnsValue) throw noResult(value);
          this.replies.struct(slot, frame, name, seqid, writeResult, value);
        } else {
          const result = new entry.info.Result({ success: value });
          if ('success' in result && result.success == null) throw noResult(value);
          this.replies.struct(slot, frame, name, seqid, writeStruct, result);
        }
        entry.counter.end(startedAt);
        return;
      }
      declared = entry.declaredResult(error);
      if (declared) {
        this.replies.struct(slot, frame, name, seqid, writeStruct, declared);
        entry.counter.end(startedAt, (error as Error).name || 'exception', error);
        return;
      }
    } catch (err) {
      this.replies.reset();
      this.errors++;
      entry.counter.end(startedAt, 'INTERNAL_ERROR', err);
      this.log.error(
        { err, method: entry.key, remote: this.conn.remote },
        `${declared ? 'declared exception' : 'result'} of ${entry.key} cannot be encoded: ${(err as Error).message}`,
      );
      this.replies.exception(slot, frame, name, seqid, AppErr.INTERNAL_ERROR, internalError(entry).message);
      return;
    }
    this.errors++;
    if (error instanceof TApplicationException) {
      // Raised on purpose by the handler: it is part of the contract, pass it on.
      entry.counter.end(startedAt, 'APPLICATION_EXCEPTION');
      this.replies.exception(slot, frame, name, seqid, error.type, String(error.message));
    } else {
      entry.counter.end(startedAt, 'INTERNAL_ERROR', error);
      this.log.error({ err: error, method: entry.key, remote: this.conn.remote }, 'handler threw');
      this.replies.exception(slot, frame, name, seqid, AppErr.INTERNAL_ERROR, internalError(entry).message);
    }
  }

}

const NO_HEADERS: ReadonlyMap<string, string> = new Map();

/**
 * Puts the worker's load in a reply's headers (asked for by the caller: {@link LOAD_HEADER}),
 * unless an interceptor already set the key. Only on request, so that callers that did not ask
 * (Apache's clients among them) get the headers they sent.
 */
function tagLoad(frame: ReplyFrame, load: number): void {
  const headers = frame.headers ?? (frame.headers = new Map());
  if (!headers.has(LOAD_HEADER)) headers.set(LOAD_HEADER, String(load));
}

/**
 * The call's deadline (on the `performance.now()` clock) from the caller's remaining time in
 * milliseconds, or undefined when it sent none (or nonsense).
 */
function deadlineOf(headers: ReadonlyMap<string, string>): number | undefined {
  const raw = headers.get(DEADLINE_HEADER);
  if (raw === undefined) return undefined;
  const ms = Number(raw);
  return Number.isFinite(ms) && ms >= 0 ? performance.now() + ms : undefined;
}

/** Writes a generated struct (a result or declared exception) with its own `write`. */
function writeStruct(output: unknown, struct: { write(p: unknown): void }): void {
  struct.write(output);
}

function noResult(value: unknown): TypeError {
  return new TypeError(`handler returned ${value} where the IDL declares a result`);
}

