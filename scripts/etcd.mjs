#!/usr/bin/env node
// A throwaway etcd for tests and `npm run chaos`: Debian's `etcd-server` (/usr/bin/etcd) on free
// loopback ports with a temporary data directory. Imported, `startEtcd()` resolves a handle that
// kills, restarts (same ports, same data) and stops it by pid. Run as a script it starts one in
// the foreground, prints `{"pid","endpoint","dataDir"}` and stops it on Ctrl-C / SIGTERM:
//
//   node scripts/etcd.mjs            # then: ETCD=http://127.0.0.1:<port>
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The etcd binary: `$ETCD_BIN`, else `etcd` on PATH. */
export const ETCD_BIN = process.env.ETCD_BIN || 'etcd';

/** True when an etcd binary can be run. */
export function etcdAvailable() {
  for (const dir of ETCD_BIN.includes('/') ? [''] : (process.env.PATH ?? '').split(':')) {
    try {
      fs.accessSync(path.join(dir, ETCD_BIN), fs.constants.X_OK);
      return true;
    } catch {}
  }
  return false;
}

/**
 * Starts etcd; resolves once it answers `/health`.
 * @param {{ host?: string, readyTimeoutMs?: number }} [options]
 */
export async function startEtcd({ host = '127.0.0.1', readyTimeoutMs = 20_000 } = {}) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'thrifthost-etcd-'));
  const clientPort = await freePort(host);
  const peerPort = await freePort(host);
  const endpoint = `http://${host}:${clientPort}`;
  const peer = `http://${host}:${peerPort}`;
  const args = [
    '--name', 'test', '--data-dir', dataDir,
    '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `test=${peer}`, '--logger', 'zap', '--log-outputs', path.join(dataDir, 'etcd.log'),
  ];
  const handle = {
    endpoint,
    dataDir,
    /** @type {number | undefined} */
    pid: undefined,
    /** @type {import('node:child_process').ChildProcess | undefined} */
    child: undefined,
    /** SIGKILLs etcd; resolves when it has exited. */
    async kill() {
      const child = handle.child;
      handle.child = undefined;
      if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(child.pid, 'SIGKILL');
      await exited;
    },
    /** Starts etcd again on the same ports and data; resolves once healthy. */
    async restart() {
      await handle.kill();
      await launch();
    },
    /** Kills etcd and removes its data directory. */
    async stop() {
      await handle.kill();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  const launch = async () => {
    const child = spawn(ETCD_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.on('error', (err) => {
      stderr = err.code === 'ENOENT' ? `${ETCD_BIN} not found (apt-get install etcd-server, or set ETCD_BIN)` : err.message;
    });
    child.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-4000);
    });
    handle.child = child;
    handle.pid = child.pid;
    const deadline = Date.now() + readyTimeoutMs;
    while (!(await healthy(endpoint))) {
      if (child.exitCode !== null || child.pid === undefined || Date.now() > deadline) {
        await handle.kill();
        throw new Error(`etcd did not become healthy at ${endpoint}: ${stderr || 'see ' + dataDir}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  try {
    await launch();
  } catch (err) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return handle;
}

// --- internal ---

function freePort(host) {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function healthy(endpoint) {
  return new Promise((resolve) => {
    const req = http.get(`${endpoint}/health`, { timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(res.statusCode === 200 && body.includes('true')));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const etcd = await startEtcd();
  console.log(JSON.stringify({ pid: etcd.pid, endpoint: etcd.endpoint, dataDir: etcd.dataDir }));
  const stop = () => void etcd.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
