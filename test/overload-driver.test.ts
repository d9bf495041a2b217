/**
 * The overload suite's load generator (bench/lib/overload-driver.mjs, a separate process) against
 * a scripted server: every call gets exactly one outcome, an answer "overloaded, not run" counts
 * as shed, a call with no answer within the caller's timeout as a timeout, and only the others
 * as goodput, for the plain Apache client (its timeout added by the driver) and for ThriftClient.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import thrift from 'thrift';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestServer } from '../src/worker/test-server.js';
import { GEN_DIR } from './helpers/servers.js';

const ROOT = path.resolve(__dirname, '..');
const DRIVER = path.join(ROOT, 'bench/lib/overload-driver.mjs');
const LOADSHEDDING = 11;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/**
 * HelloWorld whose answer depends on the call's number (the driver names calls c0, c1, ...):
 * n % 3 == 0 is refused as shed, n % 3 == 1 (only when `hang`) never answered while the test
 * runs, the rest answered.
 */
async function scriptedServer(hang: boolean, transport: 'framed' | 'header') {
  const gates: (() => void)[] = [];
  const handler = {
    async sayHello(name: string) {
      const n = Number(name.slice(1));
      if (n % 3 === 0) throw new thrift.Thrift.TApplicationException(LOADSHEDDING, 'overloaded, not run');
      if (hang && n % 3 === 1) await new Promise<void>((r) => gates.push(r));
      return `Hello ${name}`;
    },
  };
  const server = await createTestServer({ service: 'HelloWorld', handler, genDir: GEN_DIR, transport });
  cleanups.push(() => server.close());
  cleanups.push(() => gates.splice(0).forEach((g) => g()));
  return server;
}

/** Runs the driver to the end; resolves its JSON lines. */
function drive(spec: object): Promise<Record<string, any>[]> {
  const child = spawn(process.execPath, [
    DRIVER,
    JSON.stringify({ genDir: GEN_DIR, clientDist: path.join(ROOT, 'dist/clients/index.js'), seed: 7, ...spec }),
  ]);
  cleanups.push(() => child.kill('SIGKILL'));
  const lines: Record<string, any>[] = [];
  readline.createInterface({ input: child.stdout }).on('line', (l) => lines.push(JSON.parse(l)));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(lines) : reject(new Error(`driver exited ${code}`))));
  });
}

/** How many of the calls c0..c(started-1) have n % 3 == r. */
const residue = (started: number, r: number) => Math.floor((started - r + 2) / 3);

describe('overload driver', () => {
  it('counts shed answers, its own timeouts and goodput apart for the plain Apache client', async () => {
    const server = await scriptedServer(true, 'framed');
    const lines = await drive({
      port: server.port,
      kind: 'apache',
      timeoutMs: 1000,
      phases: [{ name: 'p', rate: 40, seconds: 1 }],
    });
    const phase = lines.find((l) => l.event === 'phase')!;
    const { started, good, shed, timeout, late, expired, error } = phase.counts;
    expect(started).toBeGreaterThan(0);
    expect({ good, shed, timeout, late, expired, error }).toEqual({
      good: residue(started, 2),
      shed: residue(started, 0),
      timeout: residue(started, 1),
      late: 0,
      expired: 0,
      error: 0,
    });
    expect(phase.codes).toMatchObject({ 'TApplicationException:11': shed, DRIVER_TIMEOUT: timeout });
    // Each timed-out call cost its connection.
    expect(lines.find((l) => l.event === 'done')!.client.destroyedOnTimeout).toBe(timeout);
  });

  it('counts ThriftClient calls refused as overloaded as shed, not as goodput (THeader)', async () => {
    const server = await scriptedServer(false, 'header');
    const lines = await drive({
      port: server.port,
      kind: 'header',
      timeoutMs: 2000,
      phases: [{ name: 'p', rate: 40, seconds: 1 }],
    });
    const phase = lines.find((l) => l.event === 'phase')!;
    const { started, good, shed, timeout, late, expired, error } = phase.counts;
    expect(started).toBeGreaterThan(0);
    expect({ good, shed, timeout, late, expired, error }).toEqual({
      good: started - residue(started, 0),
      shed: residue(started, 0),
      timeout: 0,
      late: 0,
      expired: 0,
      error: 0,
    });
    expect(phase.codes).toEqual({ ERR_SERVER_OVERLOADED: shed });
  });
});
