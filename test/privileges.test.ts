/**
 * `user`/`group` of a service entry: a master running as root has its workers drop to them after
 * binding (uid, gid and supplementary groups read from /proc/<pid>/status); a master that is not
 * root keeps its workers as they are and logs a warning. Uses `nobody`/`nogroup` (Debian), and
 * runs the second master as `nobody`, so the test process itself must be root (the CI container
 * is).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { callOnce, cleanupHost, makeHost, RPC_BIN, rpc, statusJson, type TestHost } from './helpers/cli.js';

const NOBODY = 65534;

/** Real, effective, saved and filesystem ids, and the supplementary groups, of a process. */
function ids(pid: number): { uid: number[]; gid: number[]; groups: number[] } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const line = (name: string) =>
    (new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  return { uid: line('Uid'), gid: line('Gid'), groups: line('Groups') };
}

describe('worker privileges', () => {
  let host: TestHost | undefined;
  afterEach(() => cleanupHost(host));

  it('drops each worker to the configured user and group when the master runs as root', async () => {
    expect(process.getuid?.(), 'this test needs root (the CI container runs tests as root)').toBe(0);
    host = await makeHost({ count: 2, service: { user: 'nobody', group: 'nogroup' } });
    const started = await rpc(['start', '-d'], host.dir);
    expect(started.code, started.stderr).toBe(0);
    const status = await statusJson(host);
    expect(status.workers).toHaveLength(2);
    for (const w of status.workers) {
      expect(ids(w.pid)).toEqual({
        uid: [NOBODY, NOBODY, NOBODY, NOBODY],
        gid: [NOBODY, NOBODY, NOBODY, NOBODY],
        groups: [NOBODY],
      });
    }
    // The master stays root (it forks, and binds the statistics listener).
    expect(ids(status.master.pid).uid[1]).toBe(0);
    expect(await callOnce(host.port, 'tom')).toBe('v1 Hello tom');
    // A reload forks new workers as root; they drop too.
    expect((await rpc(['reload'], host.dir)).code).toBe(0);
    for (const w of (await statusJson(host)).workers) expect(ids(w.pid).uid[1]).toBe(NOBODY);
    expect((await rpc(['stop'], host.dir)).code).toBe(0);
  });

  it('with only "user", the worker takes that user\'s primary group', async () => {
    host = await makeHost({ count: 1, service: { user: 'nobody' } });
    const started = await rpc(['start', '-d'], host.dir);
    expect(started.code, started.stderr).toBe(0);
    const [worker] = (await statusJson(host)).workers;
    expect(ids(worker!.pid)).toMatchObject({
      uid: [NOBODY, NOBODY, NOBODY, NOBODY],
      gid: [NOBODY, NOBODY, NOBODY, NOBODY],
      groups: [NOBODY],
    });
    expect((await rpc(['stop'], host.dir)).code).toBe(0);
  });

  it('fails the start with the reason when the user does not exist', async () => {
    host = await makeHost({ count: 1, service: { user: 'no-such-user-th', group: 'nogroup' } });
    const res = await rpc(['start', '-d'], host.dir);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('cannot switch to user no-such-user-th / group nogroup');
    expect(res.stderr).toContain('[ERR_START_FAILED]');
    expect(fs.existsSync(host.pidFile)).toBe(false);
  });

  it('logs a warning and keeps its own user when the master is not root', async () => {
    host = await makeHost({ count: 1, service: { user: 'daemon', group: 'daemon' } });
    const h = host;
    fs.chmodSync(h.dir, 0o777); // the master, as nobody, writes its pid file and log here
    const res = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [RPC_BIN, 'start', '-d'],
        {
          cwd: h.dir,
          uid: NOBODY,
          gid: NOBODY,
          timeout: 40_000,
          env: { ...process.env, THRIFTHOST_LOG_JSON: '1' },
        },
        (err, _stdout, stderr) =>
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }),
      );
    });
    expect(res.code, res.stderr).toBe(0);
    const status = await statusJson(h);
    expect(ids(status.master.pid).uid[1]).toBe(NOBODY);
    expect(ids(status.workers[0]!.pid).uid[1]).toBe(NOBODY);
    expect(await callOnce(h.port, 'ann')).toBe('v1 Hello ann');
    const warning = fs
      .readFileSync(h.log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { level: number; msg: string; uid?: number })
      .find((l) => l.msg.includes('the master does not run as root'));
    expect(warning).toMatchObject({ level: 40, uid: NOBODY });
    expect(warning?.msg).toContain('"user"/"group" are set (daemon/daemon)');
    expect((await rpc(['stop'], h.dir)).code).toBe(0);
  });
});
