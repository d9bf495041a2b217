/**
 * Test servers on real sockets (127.0.0.1, port 0): Apache Thrift servers in this process,
 * raw `net` servers that misbehave on purpose, and Thrift servers in child processes that a
 * test can kill by pid. Every helper returns a `close()` the test registers right away.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import thrift from 'thrift';
import {
  type ProtocolName,
  protocolClass,
  type TransportName,
  transportClass,
} from '../../src/codec/protocols.js';

export const GEN_DIR = path.resolve(__dirname, '../../gen');

/** A server started by a helper. */
export interface TestServer {
  port: number;
  /** `127.0.0.1:<port>` */
  address: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Sockets open now. */
  readonly open: number;
  /** Destroys every socket and closes the listener. */
  close(): Promise<void>;
}

/** Wire settings of a Thrift test server. */
export interface WireOptions {
  protocol?: ProtocolName;
  transport?: TransportName;
}

/** An Apache `thrift.createServer` server for a generated service, in this process. */
export async function startThriftServer(
  service: 'HelloWorld' | 'Catalog',
  handler: object,
  wire: WireOptions = {},
  port = 0,
): Promise<TestServer> {
  const gen = createRequire(__filename)(path.join(GEN_DIR, service, `${service}.js`));
  const server = thrift.createServer(gen.Processor, handler, {
    protocol: protocolClass(wire.protocol ?? 'binary'),
    transport: transportClass(wire.transport ?? 'buffered'),
  });
  // Apache's server re-emits each socket's errors on itself: a client that resets its
  // connection (ThriftClient does after a call timed out) would otherwise throw here.
  server.on('error', () => {});
  return listen(server, port);
}

/** A HelloWorld server answering `Hello <name> from <port>`. */
export async function startHelloServer(wire: WireOptions = {}, port = 0): Promise<TestServer> {
  const started: { server?: TestServer } = {};
  const handler = {
    sayHello: async (name: string) => `Hello ${name} from ${started.server?.port}`,
  };
  started.server = await startThriftServer('HelloWorld', handler, wire, port);
  return started.server;
}

/** A TCP server that accepts connections and never answers (reads and drops everything). */
export async function startSilentServer(): Promise<TestServer> {
  return listen(
    net.createServer((socket) => socket.resume()),
    0,
  );
}

/**
 * A TCP server that reads until `afterBytes` arrived on a connection, then calls `onRequest`
 * with that socket (to destroy it, answer garbage, ...).
 */
export async function startScriptedServer(
  onRequest: (socket: net.Socket) => void,
  afterBytes = 1,
): Promise<TestServer> {
  return listen(
    net.createServer((socket) => {
      let seen = 0;
      socket.on('data', (chunk) => {
        seen += chunk.length;
        if (seen >= afterBytes) onRequest(socket);
      });
    }),
    0,
  );
}

/** A port nothing listens on (bound then released). */
export async function freePort(): Promise<number> {
  const s = await listen(net.createServer(), 0);
  await s.close();
  return s.port;
}

/** A HelloWorld server in a child process, killable by pid. */
export interface ChildServer {
  pid: number;
  port: number;
  address: string;
  child: ChildProcess;
  /** SIGKILL by pid (a crash); resolves when the child has exited. */
  kill(): Promise<void>;
  /**
   * Ends it normally (it exits when its IPC channel closes; see {@link endChild}). For teardown.
   */
  stop(): Promise<void>;
}

/** How long {@link endChild} waits for a child to exit before it SIGKILLs it. */
const CHILD_STOP_MS = 2_000;

/**
 * Ends a child process of a test normally, so that it writes the coverage of `npm run coverage`
 * (a process killed by SIGKILL writes none): closes its IPC channel or sends `how`, and SIGKILLs
 * it by pid if it is still there `timeoutMs` later. Resolves when it has exited.
 */
export async function endChild(
  child: ChildProcess,
  how: 'disconnect' | NodeJS.Signals,
  timeoutMs = CHILD_STOP_MS,
): Promise<void> {
  const running = () => child.exitCode === null && child.signalCode === null;
  if (!running()) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (how !== 'disconnect') child.kill(how);
  else if (child.connected) child.disconnect();
  const timer = setTimeout(() => running() && process.kill(child.pid as number, 'SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

/** Which server a forked child runs: Apache's `thrift.createServer`, or thrifthost's own worker listener. */
export type ChildServerKind = 'apache' | 'thrifthost';

/**
 * Forks a HelloWorld server (binary, buffered) on `port` (0 = any) answering
 * `Hello <name> from <port>`, and waits for it to listen.
 */
export async function forkHelloServer(port = 0, kind: ChildServerKind = 'apache'): Promise<ChildServer> {
  const child =
    kind === 'apache'
      ? fork(path.join(__dirname, 'hello-server-child.cjs'), [String(port), GEN_DIR], {
          stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        })
      : fork(path.join(__dirname, 'host-server-child.ts'), [String(port)], {
          execArgv: ['-r', path.join(__dirname, 'ts-register.cjs')],
          stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const listening = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`hello server child exited early (${code})`)));
  });
  return {
    pid: child.pid as number,
    port: listening,
    address: `127.0.0.1:${listening}`,
    child,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid as number, 'SIGKILL');
      await exited;
    },
    stop: () => endChild(child, 'disconnect'),
  };
}

// --- internal ---

async function listen(server: net.Server, port: number): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  server.on('connection', (s: net.Socket) => {
    accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as net.AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    port: actual,
    address: `127.0.0.1:${actual}`,
    get accepted() {
      return accepted;
    },
    get open() {
      return sockets.size;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}

/** A ThriftClient in a child process (see `client-child.ts`), driven by request/answer over IPC. */
export interface ChildClient {
  pid: number;
  request<T = Record<string, unknown>>(message: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

/** Forks `client-child.ts` (through `ts-register.cjs`) and waits until it is ready. */
export async function forkClient(): Promise<ChildClient> {
  const child = fork(path.join(__dirname, 'client-child.ts'), [], {
    execArgv: ['-r', path.join(__dirname, 'ts-register.cjs')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`client child exited early (${code})`)));
  });
  let nextId = 0;
  return {
    pid: child.pid as number,
    request<T>(message: Record<string, unknown>) {
      const id = ++nextId;
      return new Promise<T>((resolve, reject) => {
        const onMessage = (m: { id?: number; error?: string }) => {
          if (m.id !== id) return;
          child.off('message', onMessage);
          if (m.error) reject(new Error(m.error));
          else resolve(m as T);
        };
        child.on('message', onMessage);
        child.send({ ...message, id });
      });
    },
    async close() {
      if (child.connected) child.disconnect();
      // It exits on disconnect; if it does not within 5 s, kill it by pid.
      const timer = setTimeout(
        () => child.exitCode === null && process.kill(child.pid as number, 'SIGKILL'),
        5_000,
      );
      await exited;
      clearTimeout(timer);
    },
  };
}
