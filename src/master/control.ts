/**
 * The channel between the `rpc` CLI and a running master: a unix socket beside the pid file
 * (`<pidFile>.sock`). One request per connection, each direction one line of JSON:
 *
 *   -> {"cmd":"status"}
 *   <- {"ok":true,"result":{...}}   or   {"ok":false,"error":{"code":"ERR_...","message":"..."}}
 *
 * Reads are bounded on both sides; a peer that sends too much or nothing is cut off.
 */
import fs from 'node:fs';
import * as net from 'node:net';
import { ThriftHostError } from '../common/errors.js';
import { AlreadyRunningError, ControlError, PermissionError, RemoteError } from '../host/host-errors.js';

/** Commands the master answers. */
export type ControlCommand = 'status' | 'reload' | 'stop';

/** Handlers the master provides, one per command. */
export type ControlHandlers = Record<ControlCommand, () => Promise<unknown>>;

/** Largest request the master reads. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** Largest response the CLI reads. */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/** How long the master waits for a request line once a client connected. */
export const REQUEST_TIMEOUT_MS = 5_000;

/**
 * Longest control socket path: Linux's sun_path is 108 bytes with the terminating NUL, and the
 * socket is bound one byte longer (`<path>~`) before it is renamed into place.
 */
export const MAX_SOCKET_PATH_BYTES = 106;
const COMMANDS: readonly ControlCommand[] = ['status', 'reload', 'stop'];

/** The control socket path for a pid file. */
export function controlSocketPath(pidFile: string): string {
  return `${pidFile}.sock`;
}

/**
 * The master's end: listens on `socketPath`. A socket file already there is removed only when
 * nothing answers on it (a crashed master's leftover); one that answers belongs to a live master
 * (whose pid file was deleted by hand, say), and is left alone.
 * @param pidFile the pid file this socket belongs to (for messages)
 * @throws AlreadyRunningError when a master answers on `socketPath`; ControlError, PermissionError
 *
 * @example
 * const server = await listenControl('/run/rpc.pid.sock', { status, reload, stop }, '/run/rpc.pid');
 * await server.close();
 */
export async function listenControl(
  socketPath: string,
  handlers: ControlHandlers,
  pidFile = socketPath.replace(/\.sock$/, ''),
): Promise<ControlServer> {
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new ControlError(
      `Control socket path ${socketPath} is longer than ${MAX_SOCKET_PATH_BYTES} bytes (a unix socket limit): set "pidFile" to a shorter path`,
    );
  }
  const existing = await probeControlSocket(socketPath);
  if (existing === 'answers') {
    const status = (await controlRequest(socketPath, 'status', { timeoutMs: 5_000 }).catch(() => undefined)) as
      | { master?: { pid?: unknown } }
      | undefined;
    const pid = typeof status?.master?.pid === 'number' ? status.master.pid : 0;
    throw new AlreadyRunningError(pid, pidFile, `answering on ${socketPath} though its pid file was removed`);
  }
  if (existing === 'stale') removeStaleSocket(socketPath);
  // libuv unlinks the path a unix server was bound to when it closes, whatever file is there by
  // then: bound aside and renamed into place, the server owns no path, and close() removes the
  // socket file only if it is still this server's.
  const boundPath = `${socketPath}~`;
  removeStaleSocket(boundPath);
  const server = net.createServer((socket) => serve(socket, handlers));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(fsError(err, `listen on control socket ${socketPath}`)));
    server.listen(boundPath, () => resolve());
  });
  server.on('error', () => {});
  try {
    fs.renameSync(boundPath, socketPath);
  } catch (err) {
    server.close();
    throw fsError(err, `create control socket ${socketPath}`);
  }
  return new ControlServer(server, socketPath, fileIdentity(socketPath));
}

/**
 * What is at a control socket path: `absent` (no file), `stale` (a file nothing answers on) or
 * `answers` (a process accepts connections on it).
 */
export function probeControlSocket(socketPath: string): Promise<'absent' | 'stale' | 'answers'> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve('answers');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') resolve('absent');
      // ECONNREFUSED: a socket file without a listener; ENOTSOCK: some other file.
      else if (err.code === 'ECONNREFUSED' || err.code === 'ENOTSOCK') resolve('stale');
      else reject(fsError(err, `check the control socket ${socketPath}`));
    });
  });
}

/** Removes a control socket file that {@link probeControlSocket} found stale. */
export function removeStaleSocket(socketPath: string): void {
  try {
    fs.unlinkSync(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw fsError(err, `remove stale control socket ${socketPath}`);
  }
}

/** A listening control socket. */
export class ControlServer {
  private closing: Promise<void> | undefined;

  constructor(
    private readonly server: net.Server,
    /** Path of the unix socket. */
    readonly path: string,
    /** Device, inode and change time of the socket file this server created. */
    private readonly identity: string | undefined,
  ) {}

  /**
   * Stops listening and removes the socket file if it is still the one this server created
   * (another master may have replaced it). Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      // Do not wait for a CLI still connected (e.g. `rpc stop` polling): it gets EOF.
      (this.server as net.Server & { closeAllConnections?(): void }).closeAllConnections?.();
      if (this.identity !== undefined && fileIdentity(this.path) === this.identity) {
        try {
          fs.unlinkSync(this.path);
        } catch {
          // already gone
        }
      }
    });
    return this.closing;
  }
}

/** Options of {@link controlRequest}. */
export interface ControlRequestOptions {
  /** Give up after this long; 0 waits as long as the master keeps the connection. @default 10000 */
  timeoutMs?: number;
}

/**
 * The CLI's end: sends one command and returns the master's result.
 * @throws ControlError when the socket cannot be reached or the answer is unusable;
 *   PermissionError on EACCES; RemoteError carrying the master's own code when it answered an error.
 */
export function controlRequest(
  socketPath: string,
  cmd: ControlCommand,
  { timeoutMs = 10_000 }: ControlRequestOptions = {},
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (err: Error | undefined, value?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const timer =
      timeoutMs > 0
        ? setTimeout(
            () =>
              finish(
                new ControlError(
                  `The master did not answer "${cmd}" within ${timeoutMs} ms on ${socketPath}`,
                ),
              ),
            timeoutMs,
          )
        : undefined;
    socket.on('connect', () => socket.write(`${JSON.stringify({ cmd })}\n`));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EACCES' || err.code === 'EPERM') {
        finish(
          new PermissionError(
            `Permission denied on control socket ${socketPath}: run as the user that started thrifthost`,
            { cause: err },
          ),
        );
      } else {
        finish(new ControlError(`Cannot reach the master on ${socketPath}: ${err.message}`, { cause: err }));
      }
    });
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) {
        finish(new ControlError(`The master's answer to "${cmd}" exceeds ${MAX_RESPONSE_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
      const text = Buffer.concat(chunks).toString('utf8');
      const nl = text.indexOf('\n');
      if (nl >= 0) finish(undefined, text.slice(0, nl));
    });
    socket.on('close', () =>
      finish(
        new ControlError(
          `The master closed the control connection before answering "${cmd}" (did it exit? see its log)`,
        ),
      ),
    );
  }).then((line) => parseResponse(line as string, cmd));
}

// --- internal ---

function serve(socket: net.Socket, handlers: ControlHandlers): void {
  let buffered = '';
  let answered = false;
  socket.setTimeout(REQUEST_TIMEOUT_MS, () => {
    if (!answered) socket.destroy();
  });
  socket.on('error', () => {});
  const reply = (body: unknown) => {
    if (socket.destroyed) return;
    socket.end(`${JSON.stringify(body)}\n`);
  };
  socket.on('data', (chunk: Buffer) => {
    if (answered) return;
    buffered += chunk.toString('utf8');
    const nl = buffered.indexOf('\n');
    if (nl < 0) {
      if (buffered.length > MAX_REQUEST_BYTES) {
        answered = true;
        reply(errorBody('ERR_CONTROL', `request exceeds ${MAX_REQUEST_BYTES} bytes`));
      }
      return;
    }
    answered = true;
    // Long operations (reload) may outlast the idle timeout: the client is waiting on purpose.
    socket.setTimeout(0);
    let cmd: unknown;
    try {
      cmd = (JSON.parse(buffered.slice(0, nl)) as { cmd?: unknown }).cmd;
    } catch {
      reply(errorBody('ERR_CONTROL', 'request is not a JSON line'));
      return;
    }
    if (typeof cmd !== 'string' || !COMMANDS.includes(cmd as ControlCommand)) {
      reply(
        errorBody(
          'ERR_CONTROL',
          `unknown command ${JSON.stringify(cmd)}; expected one of ${COMMANDS.join(', ')}`,
        ),
      );
      return;
    }
    handlers[cmd as ControlCommand]().then(
      (result) => reply({ ok: true, result }),
      (err: Error) =>
        reply(
          errorBody(err instanceof ThriftHostError ? err.code : 'ERR_INTERNAL', err.message ?? String(err)),
        ),
    );
  });
}

function fileIdentity(file: string): string | undefined {
  try {
    // An inode number is reused as soon as a file is unlinked; the change time (ns) is not.
    const stat = fs.statSync(file, { bigint: true });
    return `${stat.dev}:${stat.ino}:${stat.ctimeNs}`;
  } catch {
    return undefined;
  }
}

function errorBody(code: string, message: string) {
  return { ok: false, error: { code, message } };
}

function parseResponse(line: string, cmd: string): unknown {
  let body: { ok?: unknown; result?: unknown; error?: { code?: unknown; message?: unknown } };
  try {
    body = JSON.parse(line);
  } catch {
    throw new ControlError(`The master's answer to "${cmd}" is not JSON: ${line.slice(0, 200)}`);
  }
  if (body.ok === true) return body.result;
  const code = typeof body.error?.code === 'string' ? body.error.code : 'ERR_CONTROL';
  const message = typeof body.error?.message === 'string' ? body.error.message : `"${cmd}" failed`;
  throw new RemoteError(code, message);
}

function fsError(err: unknown, what: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM')
    return new PermissionError(`Permission denied: cannot ${what}`, { cause: err });
  return new ControlError(`Cannot ${what}: ${(err as Error).message}`, { cause: err });
}
