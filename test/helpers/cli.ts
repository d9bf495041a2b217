/**
 * Helpers for tests that drive the real `rpc` CLI (`node bin/rpc ...`, built code in dist/)
 * against a temporary host folder with its own rpc.config.json, handler and free port, and
 * that clean up every process they started, by pid.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import thrift from 'thrift';
import { isProcessAlive, readPidRecord, staleReason } from '../../src/master/pid-file.js';

export const REPO = path.resolve(__dirname, '../..');
export const RPC_BIN = path.join(REPO, 'bin', 'rpc');
const GEN_DIR = path.join(REPO, 'gen');

/** What a finished `rpc` invocation left. */
export interface RpcResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/rpc ...args` in `cwd` and resolves when it exits. */
export function rpc(
  args: string[],
  cwd: string,
  timeoutMs = 40_000,
  env: NodeJS.ProcessEnv = {},
): Promise<RpcResult> {
  if (!fs.existsSync(path.join(REPO, 'dist', 'src', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npx tsc -p .` before these tests');
  }
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [RPC_BIN, ...args],
      { cwd, timeout: timeoutMs, env: { ...process.env, THRIFTHOST_LOG_JSON: '1', ...env } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A free TCP port on 127.0.0.1 (bind port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** True if nothing accepts TCP connections on 127.0.0.1:`port`. */
export function portRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

/** A temporary host folder. */
export interface TestHost {
  dir: string;
  port: number;
  config: string;
  pidFile: string;
  log: string;
  /** Rewrites the HelloWorld handler (replies `<prefix> Hello <name>`). */
  setHandler(prefix: string): void;
  /** Pids seen in this host so far (workers): {@link cleanupHost} kills the live ones. */
  pids: Set<number>;
  /** Master pids seen so far: killed first, so they do not respawn workers. */
  masters: Set<number>;
}

/** Options of {@link makeHost}. */
export interface HostOptions {
  count?: number;
  gracefulTimeoutMs?: number;
  /** Extra keys of the HelloWorld service entry. */
  service?: Record<string, unknown>;
  /** Raw handler source instead of the default one. */
  handlerSource?: string;
}

/**
 * Creates a folder with `rpc.config.json` (HelloWorld on a free 127.0.0.1 port), a handler
 * whose reply prefix can be changed (to see a reload take effect), pid file and logs inside.
 */
export async function makeHost(options: HostOptions = {}): Promise<TestHost> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-'));
  const port = await freePort();
  const handlerFile = path.join(dir, 'handler.js');
  const setHandler = (prefix: string) => fs.writeFileSync(handlerFile, helloHandler(prefix));
  if (options.handlerSource) fs.writeFileSync(handlerFile, options.handlerSource);
  else setHandler('v1');
  const config = {
    genDir: GEN_DIR,
    gracefulTimeoutMs: options.gracefulTimeoutMs ?? 3000,
    services: [
      {
        name: 'HelloWorld',
        listen: `tcp://127.0.0.1:${port}`,
        count: options.count ?? 2,
        handler: './handler.js',
        ...options.service,
      },
    ],
  };
  fs.writeFileSync(path.join(dir, 'rpc.config.json'), JSON.stringify(config, null, 2));
  return {
    dir,
    port,
    config: path.join(dir, 'rpc.config.json'),
    pidFile: path.join(dir, '.rpc', 'rpc.pid'),
    log: path.join(dir, 'logs', 'rpc.log'),
    setHandler,
    pids: new Set(),
    masters: new Set(),
  };
}

/** The JSON of `rpc status --json`, with every pid remembered for cleanup. */
export async function statusJson(host: TestHost): Promise<StatusJson> {
  const res = await rpc(['status', '--json'], host.dir);
  if (res.code !== 0) throw new Error(`rpc status failed (${res.code}): ${res.stderr}`);
  const status = JSON.parse(res.stdout) as StatusJson;
  host.masters.add(status.master.pid);
  for (const w of status.workers) host.pids.add(w.pid);
  return status;
}

/** Shape of `rpc status --json` as the tests read it. */
export interface StatusJson {
  master: {
    pid: number;
    version: string;
    startedAt: number;
    uptimeMs: number;
    loadavg: number[];
    generation: number;
  };
  workers: {
    pid: number;
    service: string;
    listen: string;
    state: string;
    generation: number;
    connections: number;
    requests: number;
    errors: number;
    restarts: number;
    rssBytes: number;
  }[];
}

/**
 * How long {@link cleanupHost} gives a host it sent SIGTERM to stop gracefully (an idle host stops
 * in about 0.1 s; one a test left with a call held in a handler takes up to `gracefulTimeoutMs`),
 * then how long a master that is still draining gets after a second SIGTERM (it SIGKILLs its
 * workers and exits), or one that is already exiting gets to write its coverage.
 */
const CLEANUP_STOP_MS = 3_000;
const CLEANUP_EXIT_MS = 3_000;

/**
 * Stops every process this host started that is still alive, including a master named in the
 * pid file, then removes the folder. For afterEach/afterAll.
 *
 * A master gets SIGTERM (a graceful stop, as `rpc stop`), and what is still there after the waits
 * above is SIGKILLed, by pid: a process that exits normally writes the V8 coverage of
 * `npm run coverage` (NODE_V8_COVERAGE), one killed by SIGKILL writes nothing, and the master's
 * code (src/master/) runs nowhere else.
 */
export async function cleanupHost(host: TestHost | undefined): Promise<void> {
  if (!host) return;
  const master = liveMasterOf(host.pidFile);
  if (master !== undefined) host.masters.add(master);
  const everyone = [...host.masters, ...host.pids];
  // A worker whose master is gone already stops by itself (it drains when its IPC channel closes).
  signal(alivePids(host.masters), 'SIGTERM');
  if (!(await allGone(everyone, CLEANUP_STOP_MS))) {
    // A master removes its pid file once its workers are gone, then exits and writes its
    // coverage; one that still has it is draining a worker that will not finish: a second SIGTERM
    // makes it SIGKILL its workers. (After its stop, a SIGTERM would kill it before it writes.)
    const draining = liveMasterOf(host.pidFile);
    if (draining !== undefined) signal([draining], 'SIGTERM');
    await allGone(everyone, CLEANUP_EXIT_MS);
  }
  // Masters first, so they do not respawn the workers killed next.
  signal(alivePids(host.masters), 'SIGKILL');
  signal(alivePids(host.pids), 'SIGKILL');
  fs.rmSync(host.dir, { recursive: true, force: true });
}

/** Pids among `pids` still running. */
export function alivePids(pids: Iterable<number>): number[] {
  return [...pids].filter(isProcessAlive);
}

type Truthy<T> = Exclude<T, false | undefined | null | 0 | ''>;

/** Polls `check` every 50 ms until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as Truthy<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const HelloWorld = createRequire(__filename)(path.join(GEN_DIR, 'HelloWorld', 'HelloWorld.js'));

/** A raw Apache `thrift` HelloWorld client on one connection (binary, buffered). */
export interface RawClient {
  sayHello(name: string, timeoutMs?: number): Promise<string>;
  close(): void;
}

/** Opens a raw client. The Apache client never fails a call pending on a dead socket: calls time out. */
export function rawClient(port: number): RawClient {
  const conn = thrift.createConnection('127.0.0.1', port, {
    transport: thrift.TBufferedTransport,
    protocol: thrift.TBinaryProtocol,
    connect_timeout: 2000,
  });
  let closed: Error | undefined;
  conn.on('error', (err: Error) => {
    closed = err;
  });
  conn.on('close', () => {
    closed ??= new Error('connection closed');
  });
  const client = thrift.createClient(HelloWorld, conn) as { sayHello(name: string): Promise<string> };
  return {
    sayHello(name, timeoutMs = 3000) {
      if (closed) return Promise.reject(closed);
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([
        client.sayHello(name),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`call timed out after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]).finally(() => clearTimeout(timer));
    },
    close() {
      conn.destroy();
    },
  };
}

/** One call on a fresh connection. */
export async function callOnce(port: number, name: string): Promise<string> {
  const client = rawClient(port);
  try {
    return await client.sayHello(name);
  } finally {
    client.close();
  }
}

/** Figures of a {@link callLoop}. */
export interface LoopResult {
  ok: number;
  failed: number;
  errors: string[];
  replies: Set<string>;
}

/**
 * Calls sayHello back to back on `connections` persistent connections until `stop()` is called;
 * a failed call is counted and its connection replaced.
 */
export function callLoop(port: number, connections = 4): { stop(): Promise<LoopResult> } {
  const result: LoopResult = { ok: 0, failed: 0, errors: [], replies: new Set() };
  let running = true;
  const loops = Array.from({ length: connections }, async (_, i) => {
    let client = rawClient(port);
    while (running) {
      try {
        result.replies.add(await client.sayHello(`loop${i}`));
        result.ok++;
      } catch (err) {
        result.failed++;
        if (result.errors.length < 20) result.errors.push((err as Error).message);
        client.close();
        client = rawClient(port);
      }
    }
    client.close();
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return result;
    },
  };
}

/** Starts `rpc start [...args]` in the foreground as a child process (for Ctrl-C tests). */
export function spawnForeground(host: TestHost, args: string[] = []) {
  // Its own process group, so a test can send SIGINT to the group as Ctrl-C in a terminal does.
  const child = spawn(process.execPath, [RPC_BIN, 'start', ...args], {
    detached: true,
    cwd: host.dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, THRIFTHOST_LOG_JSON: '1' },
  });
  if (child.pid) host.masters.add(child.pid);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, output: () => output };
}

// --- internal ---

/** The pid of the live master `pidFile` names (not one the system has given to another process since). */
function liveMasterOf(pidFile: string): number | undefined {
  try {
    const record = readPidRecord(pidFile);
    return record && staleReason(record) === undefined ? record.pid : undefined;
  } catch {
    return undefined; // unreadable
  }
}

function signal(pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // gone
    }
  }
}

/** True once none of `pids` runs (zombies count as gone); false after `timeoutMs`. */
async function allGone(pids: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (alivePids(pids).length > 0) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

function helloHandler(prefix: string): string {
  return `// test handler, generation "${prefix}"
exports.HelloWorldHandler = {
  async sayHello(name) {
    const slow = /^slow:(\\d+)$/.exec(name);
    if (slow) await new Promise((r) => setTimeout(r, Number(slow[1])));
    return ${JSON.stringify(prefix)} + ' Hello ' + name;
  },
};
`;
}
