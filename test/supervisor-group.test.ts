/**
 * WorkerGroup policy without processes: scripted fake workers stand in for forked ones, fake
 * timers drive the back-off. Covers respawn timing, rolling replacement order, hand-off
 * routing (newest generation first, never to a draining worker, closed during stop) and a
 * crash in the middle of a recycle (no double respawn).
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { validateHostConfig } from '../src/config/config.js';
import type { ForkOptions, ManagedWorker, WorkerExit, WorkerState } from '../src/master/managed-worker.js';
import { WorkerGroup } from '../src/master/worker-group.js';

/** A scripted stand-in for {@link ManagedWorker}. */
class FakeWorker extends EventEmitter {
  static nextPid = 1000;
  readonly pid = FakeWorker.nextPid++;
  readonly startedAt = Date.now();
  readonly generation: number;
  readonly slot: number;
  readonly restarts: number;
  state: WorkerState = 'starting';
  fatal: { code: string; message: string } | undefined;
  adopted = 0;
  readonly adoptions: string[] = [];
  readonly listening: Promise<void>;
  readonly exited: Promise<WorkerExit>;
  private settle!: { resolve(): void; reject(err: Error): void };
  private resolveExit!: (exit: WorkerExit) => void;

  constructor(options: ForkOptions) {
    super();
    this.generation = options.generation;
    this.slot = options.slot;
    this.restarts = options.restarts;
    this.listening = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.listening.catch(() => {});
    this.exited = new Promise((resolve) => {
      this.resolveExit = resolve;
    });
  }

  get alive(): boolean {
    return this.state !== 'exited';
  }

  listen(): void {
    this.state = 'listening';
    this.settle.resolve();
  }

  exit(exit: WorkerExit): void {
    if (this.state === 'starting') this.settle.reject(new Error(`worker ${this.pid} died while starting`));
    this.state = 'exited';
    this.resolveExit(exit);
    this.emit('exit', exit);
  }

  drain(): void {
    if (this.state === 'starting') this.exit({ code: null, signal: 'SIGTERM' });
    else if (this.state === 'listening') this.state = 'draining';
  }

  adopt(pending: string): Promise<boolean> {
    this.adopted++;
    this.adoptions.push(pending);
    return Promise.resolve(true);
  }
}

const config = validateHostConfig(
  { services: [{ name: 'HelloWorld', listen: '127.0.0.1:9999', count: 2, handler: '/x/handler.js' }] },
  '/x/rpc.config.json',
);

function makeGroup() {
  const forked: FakeWorker[] = [];
  const group = new WorkerGroup(config.services[0]!, {
    logger: pino({ level: 'silent' }),
    fork: { exec: '/nonexistent.js', logLevel: 'silent', gracefulTimeoutMs: 1000 },
    backoff: { random: () => 0.5 },
    forkWorker: (options) => {
      const w = new FakeWorker(options);
      forked.push(w);
      return w as unknown as ManagedWorker;
    },
  });
  return { group, forked };
}

async function started() {
  const g = makeGroup();
  const starting = g.group.start(1);
  for (const w of g.forked) w.listen();
  await starting;
  return g;
}

const flush = () => new Promise((r) => setImmediate(r));

afterEach(() => {
  vi.useRealTimers();
});

describe('WorkerGroup', () => {
  it('respawns a crashed worker after the back-off delay, counting the restart', async () => {
    const { group, forked } = await started();
    vi.useFakeTimers();
    forked[0]!.exit({ code: null, signal: 'SIGKILL' });
    vi.advanceTimersByTime(99);
    expect(forked).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(forked).toHaveLength(3);
    expect(forked[2]!.restarts).toBe(1);
    // It dies while starting: the next delay is twice as long.
    forked[2]!.exit({ code: 78, signal: null });
    vi.advanceTimersByTime(199);
    expect(forked).toHaveLength(3);
    vi.advanceTimersByTime(1);
    expect(forked).toHaveLength(4);
    expect(forked[3]!.restarts).toBe(2);
    forked[3]!.listen();
    expect(group.workers.map((w) => w.pid)).toEqual([forked[1]!.pid, forked[3]!.pid]);
  });

  it('reloads one slot at a time: the new worker listens before the old one drains', async () => {
    const { group, forked } = await started();
    const [a, b] = [forked[0]!, forked[1]!];
    const reloading = group.reload(2);
    await flush();
    expect(forked).toHaveLength(3);
    expect(a.state).toBe('listening');
    forked[2]!.listen();
    await flush();
    expect(a.state).toBe('draining');
    expect(b.state).toBe('listening');
    expect(forked).toHaveLength(4);
    forked[3]!.listen();
    await flush();
    expect(b.state).toBe('draining');
    a.exit({ code: 0, signal: null });
    b.exit({ code: 0, signal: null });
    const replaced = await reloading;
    expect(replaced).toEqual([
      { oldPid: a.pid, newPid: forked[2]!.pid },
      { oldPid: b.pid, newPid: forked[3]!.pid },
    ]);
    expect(group.workers.every((w) => w.generation === 2)).toBe(true);
  });

  it('hands a connection to the newest generation, never back to a draining worker', async () => {
    const { group, forked } = await started();
    const [a, b] = [forked[0]!, forked[1]!];
    const reloading = group.reload(2);
    await flush();
    const c = forked[2]!;
    c.listen();
    await flush();
    expect(a.state).toBe('draining');
    a.emit('handoff', Buffer.from('pending-bytes').toString('base64'), new net.Socket());
    a.emit('handoff', '', new net.Socket());
    expect(c.adoptions).toEqual([Buffer.from('pending-bytes').toString('base64'), '']);
    expect(b.adoptions).toEqual([]);
    a.exit({ code: 0, signal: null });
    forked[3]!.listen();
    await flush();
    b.exit({ code: 0, signal: null });
    await reloading;
  });

  it('closes handed-back connections during stop instead of moving them', async () => {
    const { group, forked } = await started();
    const stopping = group.stop();
    const socket = new net.Socket();
    forked[0]!.emit('handoff', '', socket);
    expect(socket.destroyed).toBe(true);
    expect(forked[1]!.adoptions).toEqual([]);
    for (const w of forked) w.exit({ code: 0, signal: null });
    await stopping;
    expect(group.workers).toEqual([]);
  });

  it('a worker that crashes while its recycle replacement starts is not respawned twice', async () => {
    const { group, forked } = await started();
    vi.useFakeTimers();
    const a = forked[0]!;
    a.emit('recycle', 'served 100 requests');
    expect(forked).toHaveLength(3);
    a.exit({ code: 1, signal: null });
    vi.advanceTimersByTime(20_000);
    expect(forked).toHaveLength(3);
    forked[2]!.listen();
    vi.useRealTimers();
    await flush();
    expect(group.workers.map((w) => w.pid).sort()).toEqual([forked[1]!.pid, forked[2]!.pid].sort());
  });

  it('fails start with the first failure and terminates the other workers', async () => {
    const { group, forked } = makeGroup();
    const starting = group.start(1);
    forked[0]!.listen();
    forked[1]!.fatal = { code: 'ERR_LISTEN', message: 'port in use' };
    forked[1]!.exit({ code: 79, signal: null });
    // The listening one is told to drain; it exits when it has.
    await flush();
    expect(forked[0]!.state).toBe('draining');
    forked[0]!.exit({ code: 0, signal: null });
    await expect(starting).rejects.toThrow('died while starting');
  });

  it('a replacement queued behind another is not forked once a stop has begun', async () => {
    const { group, forked } = await started();
    const a = forked[0]!;
    a.emit('recycle', 'served 100 requests');
    expect(forked).toHaveLength(3);
    // Queued behind the recycle's replacement of the same slot.
    const reloading = group.reload(2);
    reloading.catch(() => {});
    const stopping = group.stop();
    await flush();
    await expect(reloading).rejects.toThrow(/interrupted by stop/);
    expect(forked).toHaveLength(3);
    for (const w of forked) if (w.alive) w.exit({ code: 0, signal: null });
    await stopping;
  });
});

describe('WorkerGroup.restartWorker (admin: restart one worker by pid)', () => {
  it('forks the successor into the same slot, drains the old one only once it listens', async () => {
    const { group, forked } = await started();
    const [a, b] = [forked[0]!, forked[1]!];
    const restarting = group.restartWorker(a.pid);
    await flush();
    expect(forked).toHaveLength(3);
    const fresh = forked[2]!;
    expect(fresh.slot).toBe(a.slot);
    expect(a.state).toBe('listening'); // still serving while the successor starts
    fresh.listen();
    await flush();
    expect(a.state).toBe('draining');
    a.exit({ code: 0, signal: null });
    await expect(restarting).resolves.toEqual({ oldPid: a.pid, newPid: fresh.pid });
    expect(b.state).toBe('listening');
    expect(group.workers.map((w) => w.pid).sort()).toEqual([b.pid, fresh.pid].sort());
  });

  it('keeps the old worker serving when the successor fails to start', async () => {
    const { group, forked } = await started();
    const a = forked[0]!;
    const restarting = group.restartWorker(a.pid);
    await flush();
    forked[2]!.fatal = { code: 'ERR_HANDLER_LOAD', message: 'SyntaxError' };
    forked[2]!.exit({ code: 78, signal: null });
    await expect(restarting).rejects.toMatchObject({
      code: 'ERR_RELOAD_FAILED',
      message: expect.stringContaining(`Restart of worker ${a.pid} (HelloWorld) failed`),
    });
    expect(a.state).toBe('listening');
    expect(group.workers).toHaveLength(2);
  });

  it('answers undefined for a pid that serves no slot (unknown, or draining)', async () => {
    const { group, forked } = await started();
    expect(await group.restartWorker(424242)).toBeUndefined();
    const a = forked[0]!;
    const restarting = group.restartWorker(a.pid);
    await flush();
    forked[2]!.listen();
    await flush();
    expect(a.state).toBe('draining');
    expect(await group.restartWorker(a.pid)).toBeUndefined();
    a.exit({ code: 0, signal: null });
    await restarting;
    expect(forked).toHaveLength(3);
  });
});
