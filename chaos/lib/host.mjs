// A thrifthost host for one scenario: a temporary folder with its own rpc.config.json (free
// 127.0.0.1 ports), driven through the real `rpc` CLI (start -d, status --json, reload, stop)
// and, for frequent polling, the control socket the CLI itself uses. Every master and worker
// pid seen is remembered and SIGKILLed by pid at cleanup.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../bench/lib/free-port.mjs';
import { childrenOf, isAlive, killPid, onCleanup } from './procs.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const GEN_DIR = path.join(ROOT, 'gen');
export const FIXTURES = path.join(ROOT, 'chaos', 'fixtures');
const RPC_BIN = path.join(ROOT, 'bin', 'rpc');

/** A HelloWorld entry of Host.create's `services`: `count` workers with chaos/fixtures/hello-handler.js. */
export function helloService(count) {
  return { name: 'HelloWorld', count, handler: path.join(FIXTURES, 'hello-handler.js') };
}

/** A Catalog entry of Host.create's `services`: one framed worker with the real handler, plus `extra` keys. */
export function catalogService(extra = {}) {
  return { name: 'Catalog', count: 1, transport: 'framed', handler: path.join(ROOT, 'services/Catalog/handler.js'), ...extra };
}

/** Runs `node bin/rpc ...args` in `cwd`; resolves { code, stdout, stderr, ms }. */
export function rpc(args, cwd, { timeoutMs = 60_000, env = {} } = {}) {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [RPC_BIN, ...args],
      {
        cwd,
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        env: { ...process.env, THRIFTHOST_LOG_JSON: '1', ...env },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout, stderr, ms: Date.now() - started });
      },
    );
  });
}

/**
 * One host. `services`: [{ name, service?, handler, count, ...extra keys }]; each gets a free
 * port unless `port` is given. `bind`: the loopback address its listeners use (127.0.0.2 ...
 * stand for other machines); `config`: extra top-level keys (e.g. `registry`, `stats`).
 */
export class Host {
  static async create({
    label = 'host',
    services,
    gracefulTimeoutMs = 5000,
    env = {},
    bind = '127.0.0.1',
    config: extra = {},
  }) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `chaos-${label}-`));
    const ports = {};
    const entries = [];
    for (const s of services) {
      const { port, ...rest } = s;
      ports[s.name] = port ?? (await freePort());
      entries.push({ count: 2, ...rest, listen: `tcp://${bind}:${ports[s.name]}` });
    }
    const config = { genDir: GEN_DIR, gracefulTimeoutMs, logLevel: 'info', services: entries, ...extra };
    fs.writeFileSync(path.join(dir, 'rpc.config.json'), JSON.stringify(config, null, 2));
    return new Host(label, dir, ports, env, bind);
  }

  constructor(label, dir, ports, env, bind = '127.0.0.1') {
    this.label = label;
    this.bind = bind;
    this.dir = dir;
    this.ports = ports;
    this.env = env;
    this.pidFile = path.join(dir, '.rpc', 'rpc.pid');
    this.log = path.join(dir, 'logs', 'rpc.log');
    /** Every master / worker pid seen in this host. */
    this.masters = new Set();
    this.workers = new Set();
    this.cleanup = onCleanup(() => this.killAll(true));
  }

  /** `<bind>:<port>` of a service. */
  address(service = 'HelloWorld') {
    return `${this.bind}:${this.ports[service]}`;
  }

  /** `rpc start -d`; throws with the CLI's output when it fails. */
  async start() {
    const res = await rpc(['start', '-d'], this.dir, { env: this.env });
    this.rememberMaster();
    if (res.code !== 0)
      throw new Error(`${this.label}: rpc start failed (${res.code}): ${res.stderr || res.stdout}`);
    await this.status();
    return res;
  }

  /** Master pid from the pid file, if any. */
  masterPid() {
    try {
      const pid = Number.parseInt(fs.readFileSync(this.pidFile, 'utf8'), 10);
      return pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** Status through the control socket (fast: no CLI process); pids remembered. */
  async status(timeoutMs = 5000) {
    const result = await control(`${this.pidFile}.sock`, 'status', timeoutMs);
    this.remember(result);
    return result;
  }

  /** `rpc status --json` (the documented way; slower). */
  async statusCli() {
    const res = await rpc(['status', '--json'], this.dir);
    if (res.code !== 0) throw new Error(`${this.label}: rpc status failed (${res.code}): ${res.stderr}`);
    const status = JSON.parse(res.stdout);
    this.remember(status);
    return status;
  }

  /** `rpc reload --json`: resolves { code, durationMs, ms, stderr }. */
  async reload() {
    const res = await rpc(['reload', '--json'], this.dir, { timeoutMs: 90_000 });
    let durationMs;
    try {
      durationMs = JSON.parse(res.stdout).durationMs;
    } catch {
      // failed reload: no JSON
    }
    return { code: res.code, durationMs, ms: res.ms, stderr: res.stderr.trim() };
  }

  /** `rpc stop` (graceful). */
  async stop() {
    this.rememberMaster();
    return rpc(['stop'], this.dir, { timeoutMs: 60_000 });
  }

  /** Hard crash of the whole host: SIGKILL master and every worker, by pid. */
  crash() {
    this.rememberMaster();
    const master = this.masterPid();
    const workers = master ? childrenOf(master) : [];
    for (const pid of workers) this.workers.add(pid);
    // Master first, so it cannot respawn the workers killed right after.
    if (master) killPid(master);
    for (const pid of [...workers, ...this.workers]) killPid(pid);
    return { master, workers };
  }

  /** Worker pids that are alive (children of the master, plus any seen before). */
  liveWorkers() {
    const master = this.masterPid();
    if (master) for (const pid of childrenOf(master)) this.workers.add(pid);
    return [...this.workers].filter(isAlive);
  }

  /** Open socket descriptors of the master (Linux), or undefined. */
  masterSockets() {
    const pid = this.masterPid();
    try {
      return fs.readdirSync(`/proc/${pid}/fd`).filter((fd) => {
        try {
          return fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
        } catch {
          return false;
        }
      }).length;
    } catch {
      return undefined;
    }
  }

  /** Log lines (JSON) of this host. */
  logLines() {
    try {
      return fs
        .readFileSync(this.log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          try {
            return JSON.parse(l);
          } catch {
            return { msg: l };
          }
        });
    } catch {
      return [];
    }
  }

  /** Workers the master reported as having exited unexpectedly, by pid. */
  unexpectedExits() {
    const pids = new Set();
    for (const l of this.logLines()) {
      const m = typeof l.msg === 'string' && /worker (\d+) exited unexpectedly/.exec(l.msg);
      if (m) pids.add(Number(m[1]));
    }
    return [...pids];
  }

  /** Fatal errors logged by workers (uncaught exceptions). */
  fatalLines() {
    return this.logLines().filter((l) => l.level >= 60);
  }

  /**
   * Ends everything: a graceful `rpc stop` when asked and the master still runs (bounded), then
   * SIGKILL by pid of anything left, then removes the folder unless `keep`.
   */
  async dispose({ graceful = true, keep = false } = {}) {
    if (graceful && isAlive(this.masterPid())) await rpc(['stop'], this.dir, { timeoutMs: 20_000 });
    this.killAll(!keep);
    this.cleanup();
  }

  // --- internal ---

  killAll(removeDir) {
    this.rememberMaster();
    for (const m of this.masters) for (const pid of childrenOf(m)) this.workers.add(pid);
    for (const pid of this.masters) killPid(pid);
    for (const pid of this.workers) killPid(pid);
    if (removeDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  rememberMaster() {
    const pid = this.masterPid();
    if (pid) this.masters.add(pid);
  }

  remember(status) {
    if (status?.master?.pid) this.masters.add(status.master.pid);
    for (const w of status?.workers ?? []) this.workers.add(w.pid);
  }
}

/** One request on the control socket (`<pidFile>.sock`): `{"cmd":...}` -> result. */
export function control(socketPath, cmd, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`control ${cmd}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify({ cmd })}\n`));
    socket.on('data', (d) => {
      data += d;
      const nl = data.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      socket.destroy();
      try {
        const answer = JSON.parse(data.slice(0, nl));
        if (answer.ok) resolve(answer.result);
        else reject(new Error(`control ${cmd}: ${answer.error?.code} ${answer.error?.message}`));
      } catch (err) {
        reject(err);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Polls `check` every `everyMs` until truthy or `timeoutMs`; resolves the value or undefined. */
export async function waitFor(check, timeoutMs, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) return undefined;
    await sleep(everyMs);
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
