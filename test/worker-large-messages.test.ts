/**
 * Messages far larger than one socket read: the listener gathers their chunks and answers
 * them, pipelined with small calls, for binary and compact (the host's own writers) on both
 * transports. JSON is left to worker-protocols.test.ts: under vitest every call of the Apache
 * JSON client takes about a second whatever its size (plain node: 1 ms).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TRANSPORTS } from '../src/common/protocols.js';
import { rawClient, startServer } from './helpers/in-process-server.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

describe.each((['binary', 'compact'] as const).flatMap((p) => TRANSPORTS.map((t) => [p, t] as const)))(
  '%s / %s',
  (protocol, transport) => {
    it('answers multi-megabyte calls pipelined with small ones, in order', async () => {
      const host = await startServer({ service: 'HelloWorld', protocol, transport });
      cleanups.push(host.close);
      const { client, close } = rawClient('HelloWorld', host.port, protocol, transport);
      cleanups.push(close);

      // Non-ASCII so that byte and character counts differ.
      const big = 'ü€x'.repeat(700_000);
      const replies: string[] = await Promise.all(
        [big, 'small', `${big}!`, ''].map((name) => client.sayHello(name)),
      );
      expect(replies.map((r) => r.length)).toEqual([6 + big.length, 11, 7 + big.length, 6]);
      expect(replies[0] === `Hello ${big}`).toBe(true);
      expect(replies[1]).toBe('Hello small');
      expect(replies[2] === `Hello ${big}!`).toBe(true);
      expect(replies[3]).toBe('Hello ');
    });
  },
);
