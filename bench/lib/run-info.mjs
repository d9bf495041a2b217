/**
 * What every bench report states about the run that produced it: the commit (with `-dirty` when
 * the work tree had changes), the date, the Node version, and the machine's load average at the
 * start and the end (the machine may be shared; a figure taken at load 8 is not one taken at 1).
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Taken when a run starts; call {@link finishRun} on it when the run ends.
 * @returns {{ commit: string, date: string, node: string, loadStart: number, loadEnd?: number }}
 */
export function startRun() {
  return {
    commit: commitId(),
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    node: process.version,
    loadStart: os.loadavg()[0],
  };
}

/** The same record with the load average at the end. */
export function finishRun(info) {
  return { ...info, loadEnd: os.loadavg()[0] };
}

/**
 * `git rev-parse --short HEAD`, with `-dirty` when the work tree differs from it (with
 * `untracked: false`, only changes to tracked files count); `unknown` outside a git checkout.
 */
export function commitId({ untracked = true } = {}) {
  const git = (...args) =>
    execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const status = untracked ? ['status', '--porcelain'] : ['status', '--porcelain', '--untracked-files=no'];
    return `${git('rev-parse', '--short', 'HEAD')}${git(...status) ? '-dirty' : ''}`;
  } catch {
    return 'unknown';
  }
}

/** One line for a report: `commit abc1234-dirty, 2026-11-30T02:40:00Z, Node v24.1.0, load 1.6 → 2.3`. */
export function runLine(info) {
  const load = (x) => (Number.isFinite(x) ? x.toFixed(2) : '?');
  return `commit ${info.commit}, ${info.date}, Node ${info.node}, load average ${load(info.loadStart)} at the start → ${load(info.loadEnd)} at the end`;
}
