/**
 * One bench cell: a load generator (C++ or Node; both print the same JSON lines) against one
 * running server, with the server's CPU and RSS sampled over exactly the generator's measured
 * window. Shared by the small-call bench (run.mjs) and the payload suite (payload.mjs).
 */
import os from 'node:os';
import { cpuDelta, cpuSeconds, processTree, rssBytes, runTool } from './processes.mjs';

const MiB = 2 ** 20;

/**
 * Runs `command args` (a load generator) to completion against `server` (from startServer).
 * @returns {Promise<{ rps, p50Us, p99Us, p999Us, errors, loadgenCpuPct, load1, serverCpuPct,
 *   cpuUsPerReq, rssMiB, workerRssMiB }>}
 * @throws when the generator printed no result
 */
export async function measureCell({ command, args, server, port, timeoutMs }) {
  const load1 = os.loadavg()[0];
  let pids = [];
  let cpu0;
  let t0 = 0;
  let window;
  let result;
  const { code, stderr } = await runTool(command, args, {
    timeoutMs,
    onLine: (line) => {
      const msg = JSON.parse(line);
      if (msg.event === 'measure-start') {
        pids = processTree(server.pid);
        cpu0 = cpuSeconds(pids);
        t0 = performance.now();
      } else if (msg.event === 'measure-end') {
        const used = cpuDelta(cpu0, cpuSeconds(pids)).total;
        const seconds = (performance.now() - t0) / 1000;
        const byPid = rssBytes(pids);
        const rss = [...byPid.values()];
        // Workers: every process but the master or cluster primary (the root, when it has children).
        const workers = pids.length > 1 ? pids.slice(1).map((p) => byPid.get(p) ?? 0) : rss;
        window = {
          serverCpuPct: (used / seconds) * 100,
          rssMiB: rss.reduce((a, b) => a + b, 0) / MiB,
          workerRssMiB: Math.max(0, ...workers) / MiB,
        };
      } else if (msg.rps !== undefined) {
        result = msg;
      }
    },
  });
  if (!result || !window)
    throw new Error(`load generator failed (exit ${code}) on port ${port}: ${stderr}\n${server.stderr()}`);
  return {
    rps: result.rps,
    p50Us: result.p50Us,
    p99Us: result.p99Us,
    p999Us: result.p999Us,
    errors: result.errors + result.badReplies,
    loadgenCpuPct: result.cpuPct,
    load1,
    ...window,
    cpuUsPerReq: result.rps > 0 ? (window.serverCpuPct / 100 / result.rps) * 1e6 : NaN,
  };
}
