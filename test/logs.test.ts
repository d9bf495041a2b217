/**
 * `rpc logs` prints the daemon's JSON log readably, filtered by service and level, and follows
 * it across a rotation; log rotation by size, by day, on SIGUSR2 to a running master, keeping the
 * configured number of old files.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startLogRotation } from '../src/master/log-rotation.js';
import { callOnce, cleanupHost, makeHost, RPC_BIN, rpc, type TestHost, waitFor } from './helpers/cli.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-logs-'));
  dirs.push(dir);
  return dir;
}

const T = Date.UTC(2026, 10, 30, 12, 0, 0);
const rec = (level: number, msg: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ level, time: T, pid: 7, msg, ...extra });

function logFolder(lines: string[]): string {
  const dir = tempDir();
  fs.writeFileSync(
    path.join(dir, 'rpc.config.json'),
    JSON.stringify({ services: [{ name: 'HelloWorld', listen: '127.0.0.1:1' }] }),
  );
  fs.mkdirSync(path.join(dir, 'logs'));
  fs.writeFileSync(path.join(dir, 'logs', 'rpc.log'), `${lines.join('\n')}\n`);
  return dir;
}

describe('rpc logs', () => {
  it('prints JSON lines readably, filtered by service and minimum level, from a subfolder too', async () => {
    const dir = logFolder([
      rec(30, 'master started'),
      rec(40, 'slow call', { service: 'HelloWorld', method: 'sayHello' }),
      rec(30, 'worker listening', { service: 'HelloWorld' }),
      rec(50, 'handler threw', { service: 'Catalog' }),
      'Error: printed by Node itself',
    ]);
    fs.mkdirSync(path.join(dir, 'sub'));
    const all = await rpc(['logs'], path.join(dir, 'sub'));
    expect(all.stderr).toBe('');
    expect(all.stdout.split('\n')).toEqual([
      '2026-11-30 12:00:00.000 INFO [master 7] master started',
      '2026-11-30 12:00:00.000 WARN [HelloWorld 7] slow call method="sayHello"',
      '2026-11-30 12:00:00.000 INFO [HelloWorld 7] worker listening',
      '2026-11-30 12:00:00.000 ERROR [Catalog 7] handler threw',
      'Error: printed by Node itself',
      '',
    ]);
    const filtered = await rpc(['logs', '--service', 'HelloWorld', '--level', 'warn'], dir);
    expect(filtered.stdout).toBe('2026-11-30 12:00:00.000 WARN [HelloWorld 7] slow call method="sayHello"\n');
    expect((await rpc(['logs', '-n', '1', '--level', 'info'], dir)).stdout).toContain('ERROR [Catalog 7]');
    const bad = await rpc(['logs', '--level', 'loud'], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--level "loud" is not one of');
  });

  it('-f prints appended lines, and goes on after the file was rotated', async () => {
    const dir = logFolder([rec(30, 'first')]);
    const file = path.join(dir, 'logs', 'rpc.log');
    const child = spawn(process.execPath, [RPC_BIN, 'logs', '-f'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => out.includes('first'), 10_000, 'the existing line');
      fs.appendFileSync(file, `${rec(30, 'second')}\n`);
      await waitFor(() => out.includes('second'), 10_000, 'the appended line');
      fs.truncateSync(file, 0);
      fs.appendFileSync(file, `${rec(30, 'third')}\n`);
      await waitFor(() => out.includes('third'), 10_000, 'the line after the rotation');
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('log rotation', () => {
  it('rotates past maxBytes into rpc.log.<date>, truncates in place and keeps `keep` old files', () => {
    const dir = tempDir();
    const file = path.join(dir, 'rpc.log');
    let now = new Date(2026, 10, 30, 10, 0, 0).getTime();
    const rotation = startLogRotation({ file, daily: false, maxBytes: 100, keep: 2, now: () => now, checkMs: 3_600_000 });
    try {
      fs.writeFileSync(file, 'x'.repeat(50));
      expect(rotation.check()).toBeUndefined();
      // A writer holding the file open in append mode (as the master and the workers do).
      const fd = fs.openSync(file, 'a');
      fs.writeSync(fd, 'y'.repeat(60));
      const first = rotation.check();
      expect(first).toBe(`${file}.2026-11-30T10-00-00`);
      expect(fs.readFileSync(first!, 'utf8')).toBe('x'.repeat(50) + 'y'.repeat(60));
      fs.writeSync(fd, 'after');
      expect(fs.readFileSync(file, 'utf8')).toBe('after');
      fs.closeSync(fd);
      for (let i = 0; i < 3; i++) {
        now += 1000;
        fs.appendFileSync(file, 'z'.repeat(100));
        expect(rotation.check()).toBeDefined();
      }
      expect(fs.readdirSync(dir).filter((f) => f !== 'rpc.log')).toHaveLength(2);
    } finally {
      rotation.close();
    }
  });

  it('rotates daily at the first check of a new day, naming the file after the day it holds', () => {
    const dir = tempDir();
    const file = path.join(dir, 'rpc.log');
    let now = new Date(2026, 10, 30, 23, 59, 0).getTime();
    const rotation = startLogRotation({ file, daily: true, maxBytes: 0, keep: 7, now: () => now, checkMs: 3_600_000 });
    try {
      fs.writeFileSync(file, 'monday\n');
      expect(rotation.check()).toBeUndefined();
      now = new Date(2026, 11, 1, 0, 0, 10).getTime();
      expect(rotation.check()).toBe(`${file}.2026-11-30`);
      expect(fs.readFileSync(file, 'utf8')).toBe('');
    } finally {
      rotation.close();
    }
  });

  describe('a running daemon', () => {
    let host: TestHost | undefined;
    afterAll(async () => {
      if (host) await rpc(['stop'], host.dir);
      await cleanupHost(host);
    });

    it('rotates on SIGUSR2 and keeps logging and serving', async () => {
      host = await makeHost({ count: 1 });
      const config = JSON.parse(fs.readFileSync(host.config, 'utf8'));
      fs.writeFileSync(host.config, JSON.stringify({ ...config, logRotate: { daily: true, keep: 3 } }));
      const started = await rpc(['start', '-d'], host.dir);
      expect(started.code).toBe(0);
      const h = host;
      // The pid file holds the pid, then the process start time on a second line.
      const master = Number.parseInt(fs.readFileSync(h.pidFile, 'utf8'), 10);
      h.masters.add(master);
      await waitFor(() => fs.readFileSync(h.log, 'utf8').includes('started'), 10_000, 'the start line');
      process.kill(master, 'SIGUSR2');
      const logs = path.dirname(h.log);
      const rotated = await waitFor(
        () => fs.readdirSync(logs).find((f) => f.startsWith('rpc.log.')),
        10_000,
        'the rotated file',
      );
      expect(fs.readFileSync(path.join(logs, rotated), 'utf8')).toContain('started');
      await waitFor(() => fs.readFileSync(h.log, 'utf8').includes('log rotated to'), 10_000, 'the rotation line');
      expect(fs.readFileSync(h.log, 'utf8')).not.toContain('started: 1 workers');
      expect(await callOnce(h.port, 'after')).toBe('v1 Hello after');
    });
  });
});
