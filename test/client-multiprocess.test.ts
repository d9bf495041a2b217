import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ThriftClient } from '../clients/index.js';
import {
  type ChildClient,
  forkClient,
  freePort,
  GEN_DIR,
  startHelloServer,
  type TestServer,
} from './helpers/servers.js';

type Hello = import('../gen/HelloWorld/HelloWorld.js').Client;

let dir: string;
const servers: TestServer[] = [];
const children: ChildClient[] = [];
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'thrifthost-mp-'));
});
afterEach(async () => {
  await ThriftClient.reset();
  await Promise.all(children.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('two client processes', () => {
  it('share the evicted list through the state file, both ways', async () => {
    const good = await startHelloServer();
    servers.push(good);
    const dead1 = `127.0.0.1:${await freePort()}`;
    const dead2 = `127.0.0.1:${await freePort()}`;
    const config = {
      HelloWorld: {
        // No back-off probe falls due during the test, however slow the machine.
        backoffInitialMs: 600_000,
        backoffMaxMs: 600_000,
        addresses: [good.address, dead1, dead2],
        serviceDir: GEN_DIR,
        stateDir: dir,
        stateSyncMs: 0,
        detectRate: 0,
      },
    };
    const child = await forkClient();
    children.push(child);
    await child.request({ cmd: 'config', config });

    // The child meets both dead addresses (its calls fail over invisibly) and evicts them...
    expect(await child.request({ cmd: 'calls', n: 60 })).toMatchObject({
      hits: { [good.port]: 60 },
      failures: 0,
    });
    expect((await child.request<{ evicted: string[] }>({ cmd: 'evicted' })).evicted.sort()).toEqual(
      [dead1, dead2].sort(),
    );

    // ...so this process never tries them: one new connection, all calls on the good address.
    ThriftClient.config(config);
    const client = ThriftClient.instance<Hello>('HelloWorld');
    const engine = ThriftClient.serviceClientOf(client)!;
    expect(engine.addresses.evicted().sort()).toEqual([dead1, dead2].sort());
    const accepted = good.accepted;
    const reports: { attempts: number }[] = [];
    ThriftClient.config({}, { onCallDone: (r) => reports.push(r) });
    const again = ThriftClient.instance<Hello>('HelloWorld');
    for (let i = 0; i < 50; i++)
      expect(await again.sayHello('parent')).toBe(`Hello parent from ${good.port}`);
    expect(reports.every((r) => r.attempts === 1)).toBe(true);
    expect(good.accepted - accepted).toBe(1);

    // A recovery recorded here reaches the child.
    ThriftClient.serviceClientOf(again)!.addresses.succeeded(dead1);
    expect(await child.request({ cmd: 'evicted' })).toMatchObject({ evicted: [dead2] });
  });

  it('a changed address config starts with a clean evicted list; the old config finds its own again', async () => {
    const good = await startHelloServer();
    servers.push(good);
    const dead = `127.0.0.1:${await freePort()}`;
    const entry = (addresses: string[]) => ({
      HelloWorld: { addresses, serviceDir: GEN_DIR, stateDir: dir, stateSyncMs: 0, detectRate: 0 },
    });
    ThriftClient.config(entry([good.address, dead]));
    const first = ThriftClient.instance<Hello>('HelloWorld');
    while (ThriftClient.serviceClientOf(first)!.addresses.evicted().length === 0) await first.sayHello('x');

    const other = `127.0.0.1:${await freePort()}`;
    ThriftClient.config(entry([good.address, dead, other]));
    const changed = ThriftClient.instance<Hello>('HelloWorld');
    expect(ThriftClient.serviceClientOf(changed)!.addresses.evicted()).toEqual([]);

    ThriftClient.config(entry([dead, good.address]));
    const back = ThriftClient.instance<Hello>('HelloWorld');
    expect(ThriftClient.serviceClientOf(back)!.addresses.evicted()).toEqual([dead]);
  });

  it('a one-shot script gets its reply and exits by itself: idle sockets do not hold the process', async () => {
    const good = await startHelloServer();
    servers.push(good);
    const helpers = path.join(__dirname, 'helpers');
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          '-r',
          path.join(helpers, 'ts-register.cjs'),
          path.join(helpers, 'one-shot-child.ts'),
          good.address,
          GEN_DIR,
        ],
        { timeout: 20_000 },
        (err, out) =>
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout: out }),
      );
    });
    expect(stdout.trim()).toBe(`Hello one-shot from ${good.port}`);
    expect(code).toBe(0);
  });
});
