/**
 * Entry point of a worker process forked by the supervisor: reads its {@link WorkerBootstrap}
 * from the environment, serves its listener, and speaks the IPC protocol of ipc.ts.
 */
import '../codec/int64-inspect.js';
import { execFileSync } from 'node:child_process';
import module from 'node:module';
import type { Socket } from 'node:net';
import type { HostPort } from '../common/address.js';
import { ThriftHostError } from '../common/errors.js';
import {
  type MasterMessage,
  WORKER_ENV,
  WORKER_EXIT,
  type WorkerBootstrap,
  type WorkerMessage,
} from '../host/ipc.js';
import { listenFailure } from '../host/listen-failure.js';
import { metrics } from '../monitoring/custom-metrics.js';
import { createLogger, type Logger } from '../host/logger.js';
import { ProcessMonitor } from '../monitoring/process-figures.js';
import { ThriftServer } from './thrift-worker.js';

/** Longest a drained worker waits for its queued hand-offs to reach a master that does not acknowledge them. */
const HANDOFF_FLUSH_LIMIT_MS = 10_000;
/** How often a worker compares its request count and RSS with the recycle limits. */
const RECYCLE_CHECK_MS = 2_000;

function send(message: WorkerMessage, handle?: Socket): void {
  if (process.connected) process.send?.(message, handle as never);
}

/** Reports a fatal error to the master, then exits once the message is out. */
function fail(message: WorkerMessage, exitCode: number): void {
  const exit = () => process.exit(exitCode);
  if (!process.connected || !process.send) exit();
  else process.send(message, undefined, {}, exit);
  setTimeout(exit, 1000).unref();
}

async function main(): Promise<void> {
  const boot = JSON.parse(process.env[WORKER_ENV] ?? 'null') as WorkerBootstrap | null;
  if (!boot) throw new Error(`${WORKER_ENV} is not set: this file is started by the supervisor, not by hand`);
  const { service } = boot;
  const log = createLogger({ level: boot.logLevel, bindings: { service: service.name } });
  const monitor = new ProcessMonitor().start();

  let server: ThriftServer;
  try {
    // Node strips a TypeScript handler's types with a WebAssembly parser that adds ~16 MiB to
    // the process; with the compile cache (Node 24), only a worker meeting a changed file loads it.
    module.enableCompileCache?.();
    server = await ThriftServer.create(service, log);
    module.flushCompileCache?.();
  } catch (err) {
    const code = err instanceof ThriftHostError ? err.code : 'ERR_HANDLER_LOAD';
    log.error({ err }, 'cannot load service');
    fail({ t: 'fatal', code, message: (err as Error).message }, WORKER_EXIT.LOAD_FAILED);
    return;
  }

  try {
    await server.init();
  } catch (err) {
    log.error({ err }, (err as Error).message);
    fail({ t: 'fatal', code: 'ERR_HANDLER_INIT', message: (err as Error).message }, WORKER_EXIT.LOAD_FAILED);
    return;
  }

  // The master normally accepts the connections itself and sends them over IPC (see
  // connection-dispatcher.ts); then the worker binds nothing.
  let bound: HostPort = service.listen;
  if (!boot.masterAccepts) {
    try {
      bound = await server.listen();
    } catch (err) {
      const message = listenFailure(err as NodeJS.ErrnoException, service.listen);
      log.error({ err }, message);
      fail({ t: 'fatal', code: 'ERR_LISTEN', message }, WORKER_EXIT.LISTEN_FAILED);
      return;
    }
  }
  try {
    dropPrivileges(service.user, service.group, log);
  } catch (err) {
    const message = `cannot switch to user ${service.user ?? '(unchanged)'} / group ${service.group ?? '(unchanged)'}: ${(err as Error).message}`;
    log.error({ err }, message);
    fail({ t: 'fatal', code: 'ERR_PRIVILEGES', message }, WORKER_EXIT.LOAD_FAILED);
    return;
  }
  send({ t: 'listening', address: { host: service.listen.host, port: bound.port } });
  log.debug({ generation: boot.generation }, 'worker listening');

  /** When the drain began; a stop during a reload starts the clock again. */
  let drainStarted = 0;
  process.on('message', (msg: MasterMessage, handle?: Socket) => {
    switch (msg.t) {
      case 'stats':
        send({
          t: 'stats',
          id: msg.id,
          stats: { ...server.snapshot(), process: monitor.snapshot(), custom: metrics.snapshot() },
        });
        break;
      case 'adopt':
        if (handle) server.adopt(handle, Buffer.from(msg.pending, 'base64'));
        break;
      case 'connection':
        // Accept in this tick, before the socket's first read: a TLS listener wraps it whole.
        if (handle) server.accept(handle);
        send({ t: 'accepted', id: msg.id });
        break;
      case 'drain': {
        if (server.isDraining) {
          // A stop during a reload: close the connections left instead of handing them back.
          if (msg.close) {
            log.info('stop during a reload: closing the connections left instead of handing them back');
            drainStarted = Date.now();
            server.closeInsteadOfHandOff(boot.gracefulTimeoutMs);
          }
          break;
        }
        // TLS sockets carry session state in this process and cannot move, and in a stop no
        // worker would adopt them: close them instead.
        const handOff = service.tls || msg.close
          ? undefined
          : (socket: Socket, unread: Buffer) =>
              send({ t: 'handoff', pending: unread.toString('base64') }, socket);
        drainStarted = Date.now();
        server.drain(boot.gracefulTimeoutMs, handOff).then(async () => {
          log.debug('drained');
          await server.close(boot.gracefulTimeoutMs - (Date.now() - drainStarted));
          // Handed-off sockets leave one at a time, each after the master acknowledged the
          // previous one; disconnect() waits for that queue, and the 'disconnect' handler below
          // exits. Exiting earlier would close the connections still queued under their clients.
          process.disconnect?.();
          setTimeout(() => process.exit(WORKER_EXIT.OK), HANDOFF_FLUSH_LIMIT_MS).unref();
        });
        break;
      }
    }
  });

  if (service.maxRequests > 0 || service.maxMemoryMB > 0) {
    let asked = false;
    setInterval(() => {
      if (asked) return;
      const rssMB = process.memoryUsage.rss() / 2 ** 20;
      const reason =
        service.maxRequests > 0 && server.requests >= service.maxRequests
          ? `served ${server.requests} requests (maxRequests ${service.maxRequests})`
          : service.maxMemoryMB > 0 && rssMB > service.maxMemoryMB
            ? `RSS ${rssMB.toFixed(0)} MB over maxMemoryMB ${service.maxMemoryMB}`
            : undefined;
      if (reason) {
        asked = true;
        send({ t: 'recycle', reason });
      }
    }, RECYCLE_CHECK_MS).unref();
  }

  // One bad request must not take the worker down; a bug outside any request still must.
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception; worker exits and will be replaced');
    process.exit(1);
  });
  process.on('unhandledRejection', (err) =>
    log.error({ err }, 'unhandled promise rejection in handler code'),
  );
  const stop = () => {
    const started = Date.now();
    server
      .drain(boot.gracefulTimeoutMs)
      .then(() => server.close(boot.gracefulTimeoutMs - (Date.now() - started)))
      .then(() => process.exit(WORKER_EXIT.OK));
  };
  // The master is gone: never linger as an orphan holding connections.
  process.on('disconnect', stop);
  process.on('SIGTERM', stop);
  process.on('SIGINT', () => {
    // Ctrl-C reaches the whole process group; the master coordinates the stop.
  });
}

/**
 * Switches to the configured user/group once the port is bound (a port below 1024 needs root).
 * The supplementary groups are reduced to that group: root's group 0 would otherwise stay with
 * the worker. Without `group`, the user's primary group is used.
 */
function dropPrivileges(user: string | undefined, group: string | undefined, log: Logger): void {
  if (user === undefined && group === undefined) return;
  if (process.getuid?.() !== 0) {
    log.warn(
      { user, group, uid: process.getuid?.() },
      `"user"/"group" are set (${user ?? '-'}/${group ?? '-'}) but the master does not run as root: ` +
        'the worker keeps running as its own user',
    );
    return;
  }
  const gid = group ?? primaryGroup(user!);
  process.setgroups!([gid]);
  process.setgid!(gid);
  if (user) process.setuid!(user);
}

/** The primary group of `user` (from the system's user database, as `id -g` reads it). */
function primaryGroup(user: string): number {
  const out = execFileSync('id', ['-g', '--', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return Number.parseInt(out.trim(), 10);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
