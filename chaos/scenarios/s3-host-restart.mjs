// Scenario 3: three hosts (`rpc start -d` each); one is crashed (SIGKILL of its master and
// worker) under load and restarted on the same port. Caller-visible failures with ThriftClient
// and an idempotent method (target 0), and seconds until the restarted host takes traffic.
// The same cycles run twice, side by side: with the client's default probing, where at
// thousands of calls/s `detectRate` sampling finds the host back within a fraction of a second,
// and with `detectRate: 0`, where only the back-off probes (1 s doubling, ±20 %) can. Every
// pick of the victim's address is watched, so each figure names the probe that brought the
// traffic back.
import { performance } from 'node:perf_hooks';
import { helloService, Host, sleep, waitFor } from '../lib/host.mjs';
import { helloCall, round, runLoops, ThriftClient, thriftClientFor } from '../lib/load.mjs';

const DOWN_MS = 3000;
const CALL_TIMEOUT_MS = 2000;
const CONNECT_TIMEOUT_MS = 1000;

/** The two client set-ups compared; `detectRate` undefined = the client's default. */
const PROBING = [
  { key: 'default', label: 'default probing (detectRate 0.0005 + back-off)', detectRate: undefined },
  { key: 'backoffOnly', label: 'detectRate 0 (back-off probes only)', detectRate: 0 },
];

export default {
  id: '3',
  title: '1 of 3 hosts killed and restarted',
  limitMs: ({ quick }) => (quick ? 120_000 : 300_000),
  async run({ quick, log }) {
    const cycles = quick ? 1 : 3;
    const hosts = [];
    try {
      for (const label of ['s3a', 's3b', 's3c']) {
        const h = await Host.create({
          label,
          services: [helloService(1)],
        });
        hosts.push(h);
        await h.start();
      }
      const phases = [];
      for (const [i, probing] of PROBING.entries()) {
        // A state folder per phase: the second must not start from the first one's evictions.
        phases.push({ probing, ...(await phase({ hosts, probing, cycles, stateDir: hosts[i].dir, log })) });
      }
      const crashes = hosts.reduce((n, h) => n + h.unexpectedExits().length, 0);
      return {
        rows: phases.map(({ probing, events, tally: t }) => {
          const backs = events.map((e) => e.trafficBackAfterRestartS);
          const pass = t.failed === 0 && t.wrong === 0 && t.overBound === 0 && backs.every((b) => b !== null);
          return {
            scenario: `3 host killed+restarted x${cycles}, ${probing.label}`,
            calls: t.calls,
            failed: t.failed,
            lost: t.wrong + t.neverSettled,
            crashes,
            recover: `traffic back ${events.map((e) => `${e.trafficBackAfterRestartS ?? 'never'} s (${e.broughtBackBy ?? '?'})`).join(', ')} after restart`,
            target: '0 failed; restarted host used again',
            pass,
            note: pass ? undefined : `errors ${JSON.stringify(t.codes)}, over bound ${t.overBound}`,
          };
        }),
        details: {
          downMs: DOWN_MS,
          clientBackoff: 'default: first probe 1 s after eviction, x2 per failed probe, +-20 %',
          columns:
            'time to recover = from `rpc start -d` returning to the first call answered by the restarted address, and (in brackets) the kind of pick that reached it: detect-probe (detectRate sampling), backoff-probe (its back-off step had elapsed) or last-resort (every address evicted)',
          ...Object.fromEntries(
            phases.map(({ probing, events, tally }) => [
              probing.key,
              { detectRate: probing.detectRate ?? 'default', events, load: tally.summary() },
            ]),
          ),
        },
      };
    } finally {
      await ThriftClient.destroy();
      for (const h of hosts) await h.dispose();
    }
  },
};

// --- internal ---

/** `cycles` kill-and-restart cycles under load with one client set-up. */
async function phase({ hosts, probing, cycles, stateDir, log }) {
  // Traffic per address, from the client's own report of every call.
  const okAt = new Map(hosts.map((h) => [h.address(), []]));
  const hello = await thriftClientFor(
    'HelloWorld',
    {
      addresses: hosts.map((h) => h.address()),
      idempotent: ['sayHello'],
      callTimeoutMs: CALL_TIMEOUT_MS,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      stateDir,
      ...(probing.detectRate === undefined ? {} : { detectRate: probing.detectRate }),
    },
    {
      onCallDone: (r) => {
        if (r.ok && r.address) okAt.get(r.address)?.push(performance.now());
      },
    },
  );
  const picks = watchProbes(hello);
  const load = runLoops({
    label: `ThriftClient, ${probing.key}`,
    concurrency: 4,
    boundMs: 3 * (CALL_TIMEOUT_MS + CONNECT_TIMEOUT_MS) + 1000,
    call: helloCall(hello, 'h'),
  });
  let tally;
  try {
    await sleep(2000);
    const events = [];
    for (let c = 0; c < cycles; c++) {
      const victim = hosts[c % hosts.length];
      const address = victim.address();
      const { master, workers } = victim.crash();
      const killedAt = performance.now();
      await sleep(DOWN_MS);
      const restart = await victim.start();
      const upAt = performance.now();
      const back = await waitFor(() => okAt.get(address).find((t) => t > upAt), 30_000, 50);
      // The probe that reached the host: the last pick of its address before the first answer.
      const probe = back && picks.filter((p) => p.address === address && p.at <= back).at(-1);
      const whileDown = picks.filter((p) => p.address === address && p.at > killedAt && p.at <= (back ?? upAt));
      events.push({
        host: address,
        killed: { master, workers },
        downMs: round(upAt - killedAt),
        startCliMs: restart.ms,
        staleNotice: /stale|removed/i.test(restart.stderr + restart.stdout),
        trafficBackAfterRestartS: back ? round((back - upAt) / 1000, 2) : null,
        broughtBackBy: probe?.reason ?? null,
        probesUntilBack: countBy(whileDown, (p) => p.reason),
      });
      log(
        `${probing.key}: killed ${address}; traffic again ${events.at(-1).trafficBackAfterRestartS} s after restart ` +
          `(${events.at(-1).broughtBackBy}; probes ${JSON.stringify(events.at(-1).probesUntilBack)})`,
      );
      picks.length = 0;
      await sleep(2000);
    }
    tally = await load.stop();
    return { events, tally };
  } finally {
    // On an exception: the loops must not outlive the phase.
    if (!tally) await load.stop();
    await ThriftClient.destroy();
  }
}

/**
 * Records every pick of an evicted address (`reason` other than healthy) the client makes, with
 * its time: the client reports each call's address, not why it went there.
 */
function watchProbes(instance) {
  const manager = ThriftClient.serviceClientOf(instance).addresses;
  const pick = manager.pick.bind(manager);
  const picks = [];
  manager.pick = (...args) => {
    const p = pick(...args);
    if (p.reason !== 'healthy') picks.push({ address: p.address, reason: p.reason, at: performance.now() });
    return p;
  };
  return picks;
}

function countBy(xs, key) {
  const out = {};
  for (const x of xs) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
}
