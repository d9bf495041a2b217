import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  AddressManager,
  type AddressManagerOptions,
  backoffBoundMs,
  backoffDelayMs,
  type EvictionEntry,
  pickAddress,
} from '../clients/index.js';

const A = '127.0.0.1:1001';
const B = '127.0.0.1:1002';
const C = '127.0.0.1:1003';
const policy = { initialMs: 1_000, maxMs: 60_000, multiplier: 2, jitter: 0.2 };

/** A scripted random source cycling through `values`. */
function seq(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] as number;
}

function evicted(entries: Record<string, Partial<EvictionEntry>>): Map<string, EvictionEntry> {
  return new Map(
    Object.entries(entries).map(([a, e]) => [a, { evictedAt: 0, attempts: 0, retryAt: 10_000, ...e }]),
  );
}

describe('pickAddress (pure policy)', () => {
  it('picks uniformly among healthy addresses by the random source', () => {
    const input = { addresses: [A, B, C], evicted: new Map(), now: 0, detectRate: 0.0005 };
    expect(pickAddress({ ...input, random: () => 0 })).toEqual({ address: A, reason: 'healthy' });
    expect(pickAddress({ ...input, random: () => 0.5 })).toEqual({ address: B, reason: 'healthy' });
    expect(pickAddress({ ...input, random: () => 0.99 })).toEqual({ address: C, reason: 'healthy' });
  });

  it('detectRate 0.0 never picks an evicted address while healthy ones exist and none is due', () => {
    for (const r of [0, 0.0001, 0.5, 0.9999]) {
      const pick = pickAddress({
        addresses: [A, B, C],
        evicted: evicted({ [B]: {} }),
        now: 0,
        detectRate: 0,
        random: () => r,
      });
      expect(pick?.reason).toBe('healthy');
      expect(pick?.address).not.toBe(B);
    }
  });

  it('detectRate 1.0 always probes an evicted address', () => {
    for (const r of [0, 0.5, 0.9999]) {
      const pick = pickAddress({
        addresses: [A, B, C],
        evicted: evicted({ [B]: {}, [C]: {} }),
        now: 0,
        detectRate: 1,
        random: () => r,
      });
      expect(pick?.reason).toBe('detect-probe');
      expect([B, C]).toContain(pick?.address);
    }
  });

  it('detectRate 0.0005 probes exactly when the random draw falls under it', () => {
    const base = { addresses: [A, B], evicted: evicted({ [B]: {} }), now: 0, detectRate: 0.0005 };
    expect(pickAddress({ ...base, random: seq(0.0004, 0) })).toEqual({ address: B, reason: 'detect-probe' });
    expect(pickAddress({ ...base, random: seq(0.0005, 0) })).toEqual({ address: A, reason: 'healthy' });
  });

  it('an evicted address whose back-off elapsed gets a probe, the earliest due first', () => {
    const state = evicted({ [B]: { retryAt: 500 }, [C]: { retryAt: 400 } });
    expect(
      pickAddress({ addresses: [A, B, C], evicted: state, now: 399, detectRate: 0, random: () => 0 })?.reason,
    ).toBe('healthy');
    expect(
      pickAddress({ addresses: [A, B, C], evicted: state, now: 400, detectRate: 0, random: () => 0 }),
    ).toEqual({
      address: C,
      reason: 'backoff-probe',
    });
  });

  it('with every address evicted, tries the one due soonest; with all excluded, gives up', () => {
    const state = evicted({ [A]: { retryAt: 900 }, [B]: { retryAt: 800 } });
    expect(
      pickAddress({ addresses: [A, B], evicted: state, now: 0, detectRate: 0, random: () => 0 }),
    ).toEqual({
      address: B,
      reason: 'last-resort',
    });
    expect(
      pickAddress({
        addresses: [A, B],
        evicted: state,
        exclude: new Set([B]),
        now: 0,
        detectRate: 0,
        random: () => 0,
      })?.address,
    ).toBe(A);
    expect(
      pickAddress({
        addresses: [A, B],
        evicted: new Map(),
        exclude: new Set([A, B]),
        now: 0,
        detectRate: 0,
        random: () => 0,
      }),
    ).toBeUndefined();
  });
});

describe('back-off', () => {
  it('doubles from 1 s with ±20% jitter and never exceeds 60 s', () => {
    expect(backoffDelayMs(policy, 0, () => 0.5)).toBe(1_000);
    expect(backoffDelayMs(policy, 0, () => 0)).toBe(800);
    expect(backoffDelayMs(policy, 0, () => 0.999999)).toBe(1_200);
    expect(backoffDelayMs(policy, 3, () => 0.5)).toBe(8_000);
    expect(backoffDelayMs(policy, 20, () => 0.999999)).toBe(60_000);
    expect(backoffBoundMs(policy, 0)).toBe(1_200);
    expect(backoffBoundMs(policy, 10)).toBe(60_000);
  });
});

describe('AddressManager with a scripted clock', () => {
  let now = 1_000_000;
  const options = (extra: Partial<AddressManagerOptions> = {}): AddressManagerOptions => ({
    service: 'HelloWorld',
    addresses: [A, B],
    detectRate: 0,
    backoff: policy,
    evictAfterFailures: 0,
    stateDir: undefined,
    stateSyncMs: 0,
    now: () => now,
    random: () => 0.5,
    ...extra,
  });
  beforeEach(() => {
    now = 1_000_000;
  });

  it('evicts on connect failure, probes after the back-off, restores on success', () => {
    const m = new AddressManager(options({ random: () => 0.99 }));
    m.connectFailed(B);
    expect(m.evicted()).toEqual([B]);
    for (let i = 0; i < 10; i++) expect(m.pick().address).toBe(A);
    now += backoffBoundMs(policy, 0);
    expect(m.pick()).toEqual({ address: B, reason: 'backoff-probe' });
    // The probe pushed the next one out: concurrent calls do not all probe.
    expect(m.pick().address).toBe(A);
    m.succeeded(B);
    expect(m.evicted()).toEqual([]);
  });

  it('a registry change replaces the address set; an address that re-enters starts healthy', () => {
    const m = new AddressManager(options({ random: () => 0.99 }));
    m.connectFailed(B);
    m.setAddresses([A]);
    expect(m.addresses).toEqual([A]);
    expect(m.evicted()).toEqual([]);
    for (let i = 0; i < 5; i++) expect(m.pick().address).toBe(A);
    // B registered again: its host just announced itself, so the old eviction is forgotten.
    m.setAddresses([A, B, C]);
    expect(m.entry(B)).toBeUndefined();
    expect(m.pick()).toEqual({ address: C, reason: 'healthy' });
  });

  it('a failed probe doubles the back-off', () => {
    const m = new AddressManager(options({ random: () => 0.5 }));
    m.connectFailed(B);
    expect(m.entry(B)?.retryAt).toBe(now + 1_000);
    now += 1_000;
    expect(m.pick().reason).toBe('backoff-probe');
    m.connectFailed(B);
    expect(m.entry(B)).toMatchObject({ attempts: 1, retryAt: now + 2_000 });
    now += 1_999;
    expect(m.pick().address).toBe(A);
    now += 1;
    expect(m.pick()).toEqual({ address: B, reason: 'backoff-probe' });
    m.connectFailed(B);
    expect(m.entry(B)).toMatchObject({ attempts: 2, retryAt: now + 4_000 });
  });

  it('NoAvailableAddress lists all and evicted addresses', () => {
    const m = new AddressManager(options());
    m.connectFailed(A);
    expect(() => m.pick(new Set([A, B]))).toThrow(
      expect.objectContaining({ code: 'ERR_NO_AVAILABLE_ADDRESS', addresses: [A, B], evicted: [A] }),
    );
  });
});

describe('shared state file', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'thrifthost-am-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const shared = (addresses: string[] = [A, B]) =>
    new AddressManager({
      service: 'HelloWorld',
      addresses,
      detectRate: 0,
      backoff: policy,
      evictAfterFailures: 0,
      stateDir: dir,
      stateSyncMs: 0,
    });

  it('two managers of the same config see each other’s evictions and recoveries', () => {
    const one = shared();
    const two = shared();
    one.connectFailed(B);
    expect(two.evicted()).toEqual([B]);
    two.connectFailed(A);
    expect(one.evicted().sort()).toEqual([A, B]);
    one.succeeded(B);
    expect(two.evicted()).toEqual([A]);
  });

  it('a changed address config starts clean', () => {
    const old = shared([A, B]);
    old.connectFailed(B);
    const changed = shared([A, B, C]);
    expect(changed.evicted()).toEqual([]);
    expect(changed.stateFile?.file).not.toBe(old.stateFile?.file);
    // The same config again finds its state.
    expect(shared([B, A]).evicted()).toEqual([B]);
  });

  for (const [name, content] of [
    ['truncated JSON', '{"v":1,"hash":'],
    ['foreign content', '{"hello":"world"}'],
    ['a bad entry', '{"v":1,"hash":"HASH","evicted":{"127.0.0.1:1002":{"evictedAt":"x"}}}'],
  ] as const) {
    it(`a corrupt state file (${name}) is reset, never fatal`, () => {
      const m = shared();
      m.connectFailed(B);
      const file = m.stateFile!.file;
      fs.writeFileSync(file, content.replace('HASH', m.stateFile!.hash));
      const fresh = shared();
      expect(fresh.evicted()).toEqual([]);
      expect(fresh.pick().reason).toBe('healthy');
      expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toMatchObject({ v: 1, evicted: {} });
      fresh.connectFailed(A);
      expect(shared().evicted()).toEqual([A]);
    });
  }

  it('an unwritable state folder leaves the state local', () => {
    const m = new AddressManager({
      service: 'HelloWorld',
      addresses: [A, B],
      detectRate: 0,
      backoff: policy,
      evictAfterFailures: 0,
      stateDir: path.join(dir, 'missing', 'folder'),
      stateSyncMs: 0,
    });
    m.connectFailed(B);
    expect(m.evicted()).toEqual([B]);
    expect(m.pick().address).toBe(A);
  });

  it('a client whose calls keep failing writes the file at most once per stateSyncMs, not on every call', () => {
    let now = 1_000_000;
    const make = () =>
      new AddressManager({
        service: 'HelloWorld',
        addresses: [A],
        detectRate: 0,
        backoff: policy,
        evictAfterFailures: 5,
        stateDir: dir,
        stateSyncMs: 200,
        now: () => now,
        random: () => 0.5,
      });
    const m = make();
    const writes = vi.spyOn(m.stateFile!, 'write');
    // 1,200 calls in 1.2 s on the only address, which flaps: five failures evict it, then a
    // last-resort call succeeds and brings it back. 400 evictions and recoveries, and every pick
    // of the evicted address pushes its back-off.
    let changes = 0;
    for (let i = 0; i < 1_200; i++) {
      now += 1;
      const { address } = m.pick();
      const started = m.attemptStarted(address);
      now += 0.5;
      const wasEvicted = m.evicted().length;
      if (i % 6 === 5) m.attemptEnded(address, 'success', 0.5, started);
      else m.attemptEnded(address, 'failure', 0.5, started);
      if (m.evicted().length !== wasEvicted) changes++;
    }
    expect(changes).toBeGreaterThanOrEqual(399);
    expect(writes.mock.calls.length).toBeLessThanOrEqual(Math.ceil(1_800 / 200));
    // What this process last did reaches another one by the next sync.
    for (let i = 0; i < 5; i++) m.callFailed(A);
    expect(m.evicted()).toEqual([A]);
    now += 200;
    expect(m.evicted()).toEqual([A]);
    expect(make().evicted()).toEqual([A]);
  });
});
