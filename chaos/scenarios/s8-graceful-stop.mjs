// Scenario 8: `rpc stop` under load. Every call sent before the stop command was issued must be
// answered (a quarter of them are in flight for 300 ms in the handler). Calls sent after it may
// fail, but only with a clear error and within their bound.
import { performance } from 'node:perf_hooks';
import { helloService, Host, sleep } from '../lib/host.mjs';
import { errorCode, hostClient, rawClient, round, runLoops, ThriftClient } from '../lib/load.mjs';

const SLOW_MS = 300;

export default {
  id: '8',
  title: 'graceful stop under load',
  async run({ quick, log }) {
    const cycles = quick ? 1 : 3;
    const books = { thriftClient: ledger(), raw: ledger() };
    const runs = [];
    for (let i = 0; i < cycles; i++) runs.push(await cycle({ quick, books }));
    log(`stops took ${runs.map((r) => r.stopS).join(', ')} s; ${JSON.stringify(books)}`);
    const crashes = runs.reduce((n, r) => n + r.crashes, 0);
    const rows = Object.entries(books).map(([who, b]) => {
      const unanswered = b.before.sent - b.before.answered;
      const unclear = runs.reduce((n, r) => n + r[who].unclearErrors, 0);
      const overBound = runs.reduce((n, r) => n + r[who].overBound, 0);
      const stopOk = runs.every((r) => r.stopExit === 0 && r.workersLeft === 0);
      const pass = unanswered === 0 && stopOk && unclear === 0 && overBound === 0;
      return {
        scenario: `8 rpc stop under load x${cycles}: ${who === 'raw' ? 'raw thrift' : 'ThriftClient'}`,
        calls: b.before.sent,
        failed: b.before.failed,
        lost: b.before.wrong + (b.before.sent - b.before.answered - b.before.failed - b.before.wrong),
        crashes,
        recover: `stop ${runs.map((r) => r.stopS).join('/')} s; later calls: ${b.after.answered} answered, ${b.after.failed} failed`,
        target: 'every call sent before stop answered',
        pass,
        note: pass
          ? undefined
          : `before stop: ${b.before.sent} sent, ${b.before.answered} answered, errors ${JSON.stringify(b.before.codes)}; after: ${JSON.stringify(b.after.codes)}; unclear ${unclear}, over bound ${overBound}; stops ${JSON.stringify(runs.map((r) => [r.stopExit, r.workersLeft]))}`,
      };
    });
    return {
      rows,
      details: {
        columns:
          'calls = calls sent before `rpc stop` was spawned; failed/lost = those not answered; later calls = sent after it (may fail, with a clear error)',
        handlerDelayOfEveryFourthCallMs: SLOW_MS,
        books,
        runs,
      },
    };
  },
};

async function cycle({ quick, books }) {
  const host = await Host.create({
    label: 's8',
    services: [helloService(2)],
    gracefulTimeoutMs: 10_000,
  });
  const raws = [];
  try {
    await host.start();
    const hello = await hostClient(host, 'HelloWorld', {
      callTimeoutMs: 5000,
      connectTimeoutMs: 1000,
    });
    let stopAt = Infinity;
    const track = (book, promise, expect) => {
      const side = performance.now() < stopAt ? book.before : book.after;
      side.sent++;
      promise.then(
        (v) => {
          if (v === expect) side.answered++;
          else side.wrong++;
        },
        (err) => {
          side.failed++;
          const code = errorCode(err) ?? 'UNCLEAR';
          side.codes[code] = (side.codes[code] ?? 0) + 1;
        },
      );
      return { promise, expect };
    };
    const name = (tag, loop, n) =>
      n % 4 === 0 ? `slow:${SLOW_MS}:${tag}${loop}-${n}` : `${tag}${loop}-${n}`;
    const tc = runLoops({
      label: 'ThriftClient',
      concurrency: 12,
      boundMs: 7000,
      call: (loop, n) => {
        const nm = name('t', loop, n);
        return track(books.thriftClient, hello.sayHello(nm), `Hello ${nm}`);
      },
    });
    for (let i = 0; i < 12; i++) raws.push(rawClient(host.ports.HelloWorld));
    const raw = runLoops({
      label: 'raw',
      concurrency: raws.length,
      boundMs: 3500,
      call: (loop, n) => {
        if (raws[loop].closed) {
          raws[loop].close();
          raws[loop] = rawClient(host.ports.HelloWorld);
        }
        const c = raws[loop];
        const nm = name('r', loop, n);
        return track(
          books.raw,
          c.ready.then(() => c.sayHello(nm, 3000)),
          `Hello ${nm}`,
        );
      },
    });
    await sleep(quick ? 2000 : 4000);
    stopAt = performance.now();
    const stopped = await host.stop();
    const stopS = round((performance.now() - stopAt) / 1000, 2);
    await sleep(1000);
    const [t1, t2] = [await tc.stop(), await raw.stop()];
    await ThriftClient.destroy();
    return {
      stopS,
      stopExit: stopped.code,
      workersLeft: host.liveWorkers().length,
      crashes: host.unexpectedExits().length,
      thriftClient: t1.summary(),
      raw: t2.summary(),
    };
  } finally {
    for (const c of raws) c.close();
    await ThriftClient.destroy();
    await host.dispose();
  }
}

// --- internal ---

function ledger() {
  const side = () => ({ sent: 0, answered: 0, failed: 0, wrong: 0, codes: {} });
  return { before: side(), after: side() };
}
