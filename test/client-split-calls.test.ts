import { afterEach, describe, expect, it } from 'vitest';
import { ThriftClient } from '../clients/index.js';
import { GEN_DIR, startThriftServer, type TestServer } from './helpers/servers.js';

type Catalog = import('../gen/Catalog/Catalog.js').Client;

const servers: TestServer[] = [];
afterEach(async () => {
  await ThriftClient.reset();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A Catalog server whose `echo(data, delayMs)` answers after delayMs; counts answered calls. */
async function catalog(callTimeoutMs = 5_000) {
  const answered: string[] = [];
  const s = await startThriftServer('Catalog', {
    echo: async (data: Buffer, delayMs: number) => {
      await new Promise((r) => setTimeout(r, delayMs));
      answered.push(data.toString());
      return `echo ${data.toString()}`;
    },
  });
  servers.push(s);
  ThriftClient.config({
    Catalog: { addresses: [s.address], serviceDir: GEN_DIR, shareState: false, callTimeoutMs },
  });
  const client = ThriftClient.instance<Catalog>('Catalog');
  return { client, answered, engine: ThriftClient.serviceClientOf(client)! };
}

describe('asend_/arecv_', () => {
  it('matches each arecv_ to the asend_ with equal arguments, in any order', async () => {
    const { client } = await catalog();
    client.asend_echo(Buffer.from('JERRY'), 40);
    client.asend_echo(Buffer.from('KID'), 0);
    // Received in the opposite order of the replies' arrival, and of the sends.
    expect(await client.arecv_echo(Buffer.from('KID'), 0)).toBe('echo KID');
    expect(await client.arecv_echo(Buffer.from('JERRY'), 40)).toBe('echo JERRY');
  });

  it('holds a reply that arrives before arecv_', async () => {
    const { client, answered } = await catalog();
    client.asend_echo(Buffer.from('early'), 0);
    await expect.poll(() => answered).toEqual(['early']);
    expect(await client.arecv_echo(Buffer.from('early'), 0)).toBe('echo early');
  });

  it('writes the request at asend_ time, before any arecv_', async () => {
    const { client, answered } = await catalog();
    client.asend_echo(Buffer.from('now'), 0);
    await expect.poll(() => answered).toEqual(['now']);
    await client.arecv_echo(Buffer.from('now'), 0);
  });

  it('a second asend_ with the same arguments before its arecv_ throws ERR_ASEND_DUPLICATE', async () => {
    const { client, engine } = await catalog();
    client.asend_echo(Buffer.from('dup'), 0);
    expect(() => client.asend_echo(Buffer.from('dup'), 0)).toThrow(
      expect.objectContaining({
        code: 'ERR_ASEND_DUPLICATE',
        message: expect.stringMatching(/Catalog\.asend_echo/),
      }),
    );
    // Different arguments are a different call.
    client.asend_echo(Buffer.from('dup'), 1);
    expect(engine.split.size).toBe(2);
    await client.arecv_echo(Buffer.from('dup'), 0);
    await client.arecv_echo(Buffer.from('dup'), 1);
    // Once collected, the same call may be sent again.
    client.asend_echo(Buffer.from('dup'), 0);
    expect(await client.arecv_echo(Buffer.from('dup'), 0)).toBe('echo dup');
  });

  it('arecv_ without asend_ (or received twice) throws ERR_ARECV_WITHOUT_ASEND', async () => {
    const { client } = await catalog();
    expect(() => client.arecv_echo(Buffer.from('never'), 0)).toThrow(
      expect.objectContaining({ code: 'ERR_ARECV_WITHOUT_ASEND' }),
    );
    client.asend_echo(Buffer.from('once'), 0);
    await client.arecv_echo(Buffer.from('once'), 0);
    expect(() => client.arecv_echo(Buffer.from('once'), 0)).toThrow(
      expect.objectContaining({ code: 'ERR_ARECV_WITHOUT_ASEND' }),
    );
  });

  it('an asend_ never collected expires after the call timeout; nothing accumulates', async () => {
    const { client, engine, answered } = await catalog(100);
    for (let i = 0; i < 200; i++) client.asend_echo(Buffer.from(`lost${i}`), 0);
    expect(engine.split.size).toBe(200);
    await expect.poll(() => answered.length).toBeGreaterThan(0);
    await expect.poll(() => engine.split.size, { timeout: 2_000 }).toBe(0);
    expect(() => client.arecv_echo(Buffer.from('lost0'), 0)).toThrow(
      expect.objectContaining({ code: 'ERR_ARECV_WITHOUT_ASEND' }),
    );
    // No call is left pending on any connection either.
    const pending = () =>
      engine
        .pool(servers[0]!.address)
        .connections()
        .reduce((n, c) => n + c.inFlight, 0);
    await expect.poll(pending).toBe(0);
  });

  it('a failed call is delivered by arecv_, not as an unhandled rejection', async () => {
    const { client } = await catalog(50);
    client.asend_echo(Buffer.from('slow'), 500);
    await expect(client.arecv_echo(Buffer.from('slow'), 500)).rejects.toMatchObject({
      code: 'ERR_CALL_TIMEOUT',
    });
  });
});
