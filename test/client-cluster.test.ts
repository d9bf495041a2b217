import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ThriftClient } from '../clients/index.js';
import { type ChildServer, forkHelloServer, GEN_DIR } from './helpers/servers.js';

type Hello = import('../gen/HelloWorld/HelloWorld.js').Client;

// Three thrifthost worker listeners in their own processes; one is killed by pid under load,
// then restarted on the same port.
const hosts: ChildServer[] = [];
let dir: string;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'thrifthost-cluster-'));
  hosts.push(
    ...(await Promise.all([
      forkHelloServer(0, 'thrifthost'),
      forkHelloServer(0, 'thrifthost'),
      forkHelloServer(0, 'thrifthost'),
    ])),
  );
});
afterAll(async () => {
  await ThriftClient.reset();
  await Promise.all(hosts.map((h) => h.stop()));
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('three hosts, one killed under load', () => {
  it('2,000 calls see zero failures; the dead host is evicted, and returns within the back-off bound after a restart', async () => {
    ThriftClient.config({
      HelloWorld: {
        addresses: hosts.map((h) => h.address),
        serviceDir: GEN_DIR,
        idempotent: ['sayHello'],
        stateDir: dir,
        detectRate: 0,
        // The dead host's latency estimate decays within a fraction of a second (default 10 s),
        // so that least-loaded tries it, and evicts it, within this test's time on a fast machine.
        latencyDecayMs: 250,
      },
    });
    const client = ThriftClient.instance<Hello>('HelloWorld');
    const engine = ThriftClient.serviceClientOf(client)!;
    const victim = hosts[0]!;

    const served = new Map<number, number>();
    let failures = 0;
    let done = 0;
    let killed: Promise<void> | undefined;
    // Four callers in parallel, 500 calls each; the victim is killed by pid after call 500.
    await Promise.all(
      Array.from({ length: 4 }, async (_, w) => {
        for (let i = 0; i < 500; i++) {
          try {
            const port = Number((await client.sayHello(`w${w}`)).split(' from ')[1]);
            served.set(port, (served.get(port) ?? 0) + 1);
          } catch {
            failures++;
          }
          if (++done === 500) killed = victim.kill();
        }
      }),
    );
    await killed;
    expect(done).toBe(2_000);
    expect(failures).toBe(0);
    expect(served.get(victim.port) ?? 0).toBeGreaterThan(0);
    // Least-loaded (the default) sends a call to the dead host only once it looks cheapest (its
    // latency estimate decays while no call measures it): that call evicts it (connect
    // refused) and fails over invisibly.
    const until = Date.now() + 20_000;
    while (!engine.addresses.evicted().includes(victim.address) && Date.now() < until) {
      await client.sayHello('until-evicted').catch(() => failures++);
      // Let time pass for the estimate to decay, not only calls.
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(failures).toBe(0);
    expect(engine.addresses.evicted()).toEqual([victim.address]);

    // While it stays dead, back-off probes fail over invisibly and push the next probe out.
    while ((engine.addresses.entry(victim.address)?.attempts ?? 0) < 1) {
      await client.sayHello('while-dead').catch(() => failures++);
    }
    expect(failures).toBe(0);
    expect(engine.addresses.evicted()).toEqual([victim.address]);

    // Restart on the same port: the next back-off probe brings it back.
    const restarted = await forkHelloServer(victim.port, 'thrifthost');
    hosts[0] = restarted;
    const startedAt = Date.now();
    const dueIn = Math.max(0, (engine.addresses.entry(victim.address)?.retryAt ?? startedAt) - startedAt);
    let backAfterMs = -1;
    while (backAfterMs < 0) {
      const port = Number((await client.sayHello('probe')).split(' from ')[1]);
      if (port === restarted.port) backAfterMs = Date.now() - startedAt;
    }
    expect(backAfterMs).toBeLessThanOrEqual(dueIn + 500);
    expect(engine.addresses.evicted()).toEqual([]);
    console.info(
      `[client-cluster] failures=${failures} served=${JSON.stringify(Object.fromEntries(served))} ` +
        `back in rotation after ${(backAfterMs / 1000).toFixed(2)} s (probe was due in ${(dueIn / 1000).toFixed(2)} s)`,
    );
  });
});
