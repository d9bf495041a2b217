/**
 * The `rpc` CLI end to end, as a user runs it: start -d, status, calls, rolling reload under a
 * call loop, stop; and the messages and exit codes around a master that is or is not running.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  alivePids,
  callLoop,
  callOnce,
  cleanupHost,
  makeHost,
  portRefuses,
  REPO,
  rpc,
  statusJson,
  type TestHost,
  waitFor,
} from './helpers/cli.js';

describe('rpc start -d / status / reload / stop', () => {
  let host: TestHost | undefined;
  afterAll(() => cleanupHost(host));

  it('runs the whole life cycle with zero failed calls during reloads', { timeout: 50_000 }, async () => {
    host = await makeHost({ count: 2 });
    const h = host;

    const started = await rpc(['start', '-d'], h.dir);
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(/thrifthost started: master pid \d+, 2 workers listening/);
    expect(fs.existsSync(h.pidFile)).toBe(true);

    const before = await statusJson(h);
    expect(before.workers).toHaveLength(2);
    for (const w of before.workers) {
      expect(w).toMatchObject({
        service: 'HelloWorld',
        listen: `127.0.0.1:${h.port}`,
        state: 'listening',
        restarts: 0,
      });
      expect(typeof w.connections).toBe('number');
      expect(typeof w.requests).toBe('number');
      expect(typeof w.errors).toBe('number');
      expect(w.rssBytes).toBeGreaterThan(1_000_000);
    }
    expect(before.master.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(before.master.loadavg).toHaveLength(3);

    expect(await callOnce(h.port, 'TOM')).toBe('v1 Hello TOM');

    // A second start names the running master and changes nothing.
    const again = await rpc(['start', '-d'], h.dir);
    expect(again.code).toBe(4);
    expect(again.stderr).toContain(`already running (pid ${before.master.pid}`);

    // The text status has the header and a row per worker.
    const text = await rpc(['status'], h.dir);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/uptime .* load average/);
    for (const w of before.workers) expect(text.stdout).toContain(String(w.pid));

    // Rolling reloads while 4 connections call in a loop; new handler code must take effect.
    const loop = callLoop(h.port, 4);
    await new Promise((r) => setTimeout(r, 300));
    h.setHandler('v2');
    const t0 = Date.now();
    const reload1 = await rpc(['reload'], h.dir);
    const firstMs = Date.now() - t0;
    expect(reload1.stderr).toBe('');
    expect(reload1.code).toBe(0);
    const mid = await statusJson(h);
    h.setHandler('v3');
    const t1 = Date.now();
    const reload2 = await rpc(['reload', '--json'], h.dir);
    const secondMs = Date.now() - t1;
    expect(reload2.code).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    const calls = await loop.stop();
    const after = await statusJson(h);

    console.log(
      `reload under load: ${calls.ok} calls ok, ${calls.failed} failed ${JSON.stringify(calls.errors)}; ` +
        `reload took ${firstMs} ms and ${secondMs} ms (CLI round trip)`,
    );
    expect(calls.failed).toBe(0);
    expect(calls.ok).toBeGreaterThan(100);
    expect(calls.replies).toContain('v1 Hello loop0');
    expect(calls.replies).toContain('v3 Hello loop0');

    // Every pid changed at each reload, and the output names old -> new.
    const pidsBefore = before.workers.map((w) => w.pid);
    const pidsMid = mid.workers.map((w) => w.pid);
    const pidsAfter = after.workers.map((w) => w.pid);
    for (const pid of pidsBefore) {
      expect(reload1.stdout).toContain(`${pid} -> `);
      expect(pidsMid).not.toContain(pid);
    }
    for (const pid of pidsMid) expect(pidsAfter).not.toContain(pid);
    expect(after.workers).toHaveLength(2);
    expect(after.workers.every((w) => w.state === 'listening')).toBe(true);
    expect(alivePids(pidsBefore)).toEqual([]);
    const json = JSON.parse(reload2.stdout) as {
      services: { service: string; replaced: { oldPid: number; newPid: number }[] }[];
    };
    expect(json.services[0]?.replaced.map((r) => r.oldPid).sort()).toEqual([...pidsMid].sort());
    expect(await callOnce(h.port, 'ANN')).toBe('v3 Hello ANN');

    // Stop returns once every process is gone.
    const stopped = await rpc(['stop'], h.dir);
    expect(stopped.stderr).toBe('');
    expect(stopped.code).toBe(0);
    expect(alivePids([after.master.pid, ...pidsAfter, ...pidsMid, ...pidsBefore])).toEqual([]);
    expect(fs.existsSync(h.pidFile)).toBe(false);
    expect(fs.existsSync(`${h.pidFile}.sock`)).toBe(false);
    expect(await portRefuses(h.port)).toBe(true);
  });
});

describe('rpc without a running master', () => {
  let host: TestHost | undefined;
  afterEach(async () => {
    await cleanupHost(host);
    host = undefined;
  });

  it('stop, status and reload say it is not running and exit 3', async () => {
    host = await makeHost();
    for (const cmd of ['stop', 'status', 'reload']) {
      const res = await rpc([cmd], host.dir);
      expect(res.code, cmd).toBe(3);
      expect(res.stderr, cmd).toContain('thrifthost is not running (no pid file at');
      expect(res.stderr, cmd).toContain('[ERR_NOT_RUNNING]');
    }
  });

  it('detects and removes a stale pid file, then starts over it', { timeout: 30_000 }, async () => {
    host = await makeHost({ count: 1 });
    const deadPid = await exitedPid();
    fs.mkdirSync(`${host.dir}/.rpc`, { recursive: true });
    fs.writeFileSync(host.pidFile, `${deadPid}\n`);
    fs.writeFileSync(`${host.pidFile}.sock`, '');

    const status = await rpc(['status'], host.dir);
    expect(status.code).toBe(3);
    expect(status.stderr).toContain(`pid file ${host.pidFile}: pid ${deadPid} is gone; removed the stale pid file`);
    expect(fs.existsSync(host.pidFile)).toBe(false);
    expect(fs.existsSync(`${host.pidFile}.sock`)).toBe(false);

    fs.mkdirSync(`${host.dir}/.rpc`, { recursive: true });
    fs.writeFileSync(host.pidFile, `${deadPid}\n`);
    const started = await rpc(['start', '-d'], host.dir);
    expect(started.code).toBe(0);
    expect(started.stderr).toContain(`removed stale pid file ${host.pidFile} (pid ${deadPid} is gone)`);
    const { master } = await statusJson(host);
    expect(fs.readFileSync(host.pidFile, 'utf8').split('\n')[0]).toBe(String(master.pid));
    expect((await rpc(['stop'], host.dir)).code).toBe(0);
    await waitFor(() => alivePids([master.pid]).length === 0, 5000, 'master exit');
  });

  it('restart starts a master that is not running, and replaces one that is', {
    timeout: 30_000,
  }, async () => {
    host = await makeHost({ count: 1 });
    const first = await rpc(['restart'], host.dir);
    expect(first.code).toBe(0);
    expect(first.stderr).toContain('not running');
    const a = await statusJson(host);
    const second = await rpc(['restart'], host.dir);
    expect(second.code).toBe(0);
    const b = await statusJson(host);
    expect(b.master.pid).not.toBe(a.master.pid);
    expect(alivePids([a.master.pid, ...a.workers.map((w) => w.pid)])).toEqual([]);
    expect(await callOnce(host.port, 'X')).toBe('v1 Hello X');
    expect((await rpc(['stop'], host.dir)).code).toBe(0);
  });

  it('of two concurrent starts exactly one wins; the other names its pid', { timeout: 30_000 }, async () => {
    host = await makeHost({ count: 1 });
    const [a, b] = await Promise.all([rpc(['start', '-d'], host.dir), rpc(['start', '-d'], host.dir)]);
    const status = await statusJson(host);
    expect([a.code, b.code].sort()).toEqual([0, 4]);
    expect((a.code === 4 ? a : b).stderr).toContain(`already running (pid ${status.master.pid}`);
    expect(status.workers).toHaveLength(1);
    expect((await rpc(['stop'], host.dir)).code).toBe(0);
  });

  it('a pid file the user may not write exits 5 naming the path', async () => {
    host = await makeHost({ count: 1 });
    const config = JSON.parse(fs.readFileSync(host.config, 'utf8'));
    fs.writeFileSync(host.config, JSON.stringify({ ...config, pidFile: '/sys/rpc-test.pid' }));
    const res = await rpc(['start', '-d'], host.dir);
    expect(res.code).toBe(5);
    expect(res.stderr).toContain('Permission denied: cannot write the pid file /sys/rpc-test.pid');
    expect(res.stderr).toContain('[ERR_PERMISSION]');
  });

  it('an unknown command or option exits 64 with usage', async () => {
    host = await makeHost();
    const res = await rpc(['frobnicate'], host.dir);
    expect(res.code).toBe(64);
    expect(res.stderr).toContain("unknown command 'frobnicate'");
  });
});

describe('rpc gen', () => {
  let out = '';
  beforeAll(() => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'thgen-'));
  });
  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  it('generates every idl/*.thrift into <out>/<Name>/ with no Thrift compiler on PATH, as committed in gen/', async () => {
    const res = await rpc(['gen', '--idl', path.join(REPO, 'idl'), '--out', out], REPO, 20_000, { PATH: '/nonexistent' });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    for (const name of ['HelloWorld', 'Catalog']) {
      const js = fs.readFileSync(path.join(out, name, `${name}.js`), 'utf8');
      expect(js).toMatch(/^\/\/ Generated by `rpc gen` \(thrifthost [^)]+\) from \w+\.thrift\..*\n\/\/ i64: int64\n/);
      expect(fs.existsSync(path.join(out, name, `${name}.d.ts`))).toBe(true);
    }
    // The handler types and the services map; the committed gen/ is what `npm run gen` writes.
    expect(fs.readFileSync(path.join(out, 'Catalog', 'Catalog.d.ts'), 'utf8')).toContain('export interface CatalogHandler {');
    expect(fs.readFileSync(path.join(out, 'services.d.ts'), 'utf8')).toContain('interface ThriftServiceMap');
    const files = (dir: string) => (fs.readdirSync(dir, { recursive: true }) as string[]).sort();
    const committed = path.join(REPO, 'gen');
    expect(files(out)).toEqual(files(committed));
    for (const f of files(committed).filter((f) => fs.statSync(path.join(committed, f)).isFile())) {
      expect(fs.readFileSync(path.join(out, f), 'utf8'), `gen/${f} is stale: run npm run gen`).toBe(
        fs.readFileSync(path.join(committed, f), 'utf8'),
      );
    }
  });

  it('takes the i64 representation from --i64, else the config, else what the folder holds, and prints the IDL\'s warnings', async () => {
    const project = fs.mkdtempSync(path.join(os.tmpdir(), 'thgen-i64-'));
    try {
      fs.mkdirSync(path.join(project, 'idl'));
      fs.writeFileSync(path.join(project, 'idl', 'Opt.thrift'), 'service Opt {\n  i64 next(1: optional i64 after)\n}\n');
      const mode = () => /^\/\/ i64: (\w+)$/m.exec(fs.readFileSync(path.join(project, 'gen', 'Opt', 'Opt.js'), 'utf8'))?.[1];
      const gen = async (args: string[]) => {
        const res = await rpc(['gen', ...args], project);
        expect(res.code, res.stderr).toBe(0);
        return res;
      };
      // A project's first generation, then each source in turn.
      const first = await gen([]);
      expect(mode()).toBe('bigint');
      expect(first.stderr).toBe(`warning: ${path.join(project, 'idl', 'Opt.thrift')}:2:12: optional keyword is ignored in argument lists.\n`);
      await gen(['--i64', 'int64']);
      expect(mode()).toBe('int64');
      await gen([]); // what gen/ holds
      expect(mode()).toBe('int64');
      fs.writeFileSync(path.join(project, 'rpc.config.json'), JSON.stringify({ services: [{ name: 'Opt', listen: '127.0.0.1:1', i64: 'bigint' }] }));
      await gen([]);
      expect(mode()).toBe('bigint');
      expect(fs.readFileSync(path.join(project, 'gen', 'Opt', 'Opt.d.ts'), 'utf8')).toContain('next: (after: $types.I64 | null) =>');
      // Code from Apache's compiler (what rpc gen ran before) was int64: regenerating keeps it so.
      fs.rmSync(path.join(project, 'rpc.config.json'));
      fs.writeFileSync(path.join(project, 'gen', 'Opt', 'Opt.js'), '//\n// Autogenerated by Thrift Compiler (0.17.0)\n');
      fs.rmSync(path.join(project, 'gen', 'Opt', 'Opt_types.js'));
      await gen([]);
      expect(mode()).toBe('int64');
      const wrong = await rpc(['gen', '--i64', 'number'], project);
      expect(wrong.code).toBe(64);
    } finally {
      fs.rmSync(project, { recursive: true, force: true });
    }
  });

  it('reports a broken IDL with its file, line and column (exit 9), and writes nothing', async () => {
    const idl = fs.mkdtempSync(path.join(os.tmpdir(), 'thidl-'));
    const target = fs.mkdtempSync(path.join(os.tmpdir(), 'thgen-broken-'));
    fs.writeFileSync(path.join(idl, 'Broken.thrift'), 'service Broken { string oops(1: nope x) }\n');
    try {
      const res = await rpc(['gen', '--idl', idl, '--out', target], REPO);
      expect(res.code).toBe(9);
      expect(res.stderr).toContain(`${path.join(idl, 'Broken.thrift')}:1:33: type "nope" is not defined`);
      expect(fs.readdirSync(target)).toEqual([]);
    } finally {
      fs.rmSync(idl, { recursive: true, force: true });
      fs.rmSync(target, { recursive: true, force: true });
    }
  });
});

// --- internal ---

/** The pid of a process that has exited (and been reaped). */
async function exitedPid(): Promise<number> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => child.on('exit', r));
  return child.pid as number;
}
