/**
 * `rpc start --watch`: a real foreground master in a temporary host folder reloads its workers
 * when the handler changes, keeps the old workers serving (and prints the error) when the new
 * handler does not load, and reloads again once it is fixed. The watcher itself: debounced
 * batches, ignored paths never reported.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateHostConfig } from '../src/config/config.js';
import { watchFiles, watchTargets } from '../src/master/file-watcher.js';
import {
  callOnce,
  cleanupHost,
  makeHost,
  spawnForeground,
  statusJson,
  type TestHost,
  waitFor,
} from './helpers/cli.js';

describe('rpc start --watch', () => {
  let host: TestHost | undefined;
  let fg: ReturnType<typeof spawnForeground> | undefined;

  afterAll(async () => {
    if (fg && fg.child.exitCode === null && fg.child.signalCode === null) {
      process.kill(-fg.child.pid!, 'SIGTERM');
      await Promise.race([fg.exited, new Promise((r) => setTimeout(r, 8000))]);
    }
    await cleanupHost(host);
  });

  it('reloads on a handler change, keeps serving through a syntax error, reloads once fixed', async () => {
    host = await makeHost({ count: 1 });
    const h = host;
    const handler = path.join(h.dir, 'handler.js');
    fg = spawnForeground(h, ['--watch']);
    const out = fg.output;
    await waitFor(() => out().includes('press Ctrl-C to stop'), 20_000, 'the foreground start');
    // The watcher's log line and the start summary travel by different streams: either may be first.
    await waitFor(() => out().includes('watch: reloading on changes under'), 5_000, 'the watch log line');
    const first = (await statusJson(h)).workers.map((w) => w.pid);
    expect(await callOnce(h.port, 'a')).toBe('v1 Hello a');

    // 1. A changed handler: a new worker answers with the new reply.
    h.setHandler('v2');
    await waitFor(async () => (await callOnce(h.port, 'b')) === 'v2 Hello b', 20_000, 'the v2 reply');
    const second = (await statusJson(h)).workers.map((w) => w.pid);
    expect(second).toHaveLength(1);
    expect(first).not.toContain(second[0]);
    await waitFor(() => out().includes('watch: reloaded 1 workers'), 10_000, 'the reload log line');

    // 2. A syntax error: the reload fails, the error is printed, the v2 worker keeps answering.
    const failedBefore = count(out(), 'watch: reload failed');
    fs.writeFileSync(handler, 'exports.HelloWorldHandler = { sayHello(name) { return "v3 " + name; } ;\n');
    await waitFor(() => count(out(), 'watch: reload failed') > failedBefore, 20_000, 'the failed reload');
    expect(out()).toMatch(/SyntaxError|Unexpected token/);
    expect(out()).toContain('the old workers keep serving');
    expect(await callOnce(h.port, 'c')).toBe('v2 Hello c');
    const during = await statusJson(h);
    expect(during.workers.filter((w) => w.state === 'listening').map((w) => w.pid)).toEqual(second);

    // 3. Fixed: the next change reloads.
    h.setHandler('v4');
    await waitFor(async () => (await callOnce(h.port, 'd')) === 'v4 Hello d', 20_000, 'the v4 reply');
    const third = (await statusJson(h)).workers.map((w) => w.pid);
    expect(third).not.toContain(second[0]);

    // Ctrl-C still stops it.
    process.kill(-fg.child.pid!, 'SIGINT');
    expect((await fg.exited).code).toBe(0);
  });
});

describe('file watcher', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('reports one debounced batch per burst and never an ignored path', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-watch-'));
    dirs.push(dir);
    for (const sub of ['services/Hello', 'gen/Hello', 'logs', 'node_modules/dep', '.rpc', '.git']) {
      fs.mkdirSync(path.join(dir, sub), { recursive: true });
    }
    const config = validateHostConfig(
      {
        genDir: 'gen',
        services: [{ name: 'Hello', listen: '127.0.0.1:1', count: 1, handler: 'services/Hello/handler.js' }],
      },
      path.join(dir, 'rpc.config.json'),
    );
    const target = watchTargets(config);
    expect(target.roots.sort()).toEqual([path.join(dir, 'gen'), path.join(dir, 'services', 'Hello')]);
    // A handler folder can be the host folder itself: logs, pid file, dependencies and dotfiles
    // there must not count.
    const rootTarget = watchTargets({
      ...config,
      services: config.services.map((s) => ({
        ...s,
        bindings: [{ service: 'Hello', handler: path.join(dir, 'handler.js') }],
      })),
    });
    for (const ignored of [
      'logs/rpc.log',
      '.rpc/rpc.pid',
      '.rpc/rpc.pid.sock',
      '.rpc/rpc.pid.123.tmp',
      'node_modules/dep/index.js',
      '.handler.js.swp',
      'handler.js~',
      '.git/index',
    ]) {
      expect(rootTarget.ignore(path.join(dir, ignored)), ignored).toBe(true);
    }
    expect(rootTarget.ignore(path.join(dir, 'handler.js'))).toBe(false);
    for (const ext of ['.js', '.cjs', '.mjs', '.ts', '.mts', '.cts']) {
      expect(rootTarget.relevant?.(path.join(dir, `handler${ext}`)), ext).toBe(true);
    }
    expect(rootTarget.relevant?.(path.join(dir, 'gen', 'Hello', 'Hello_types.json'))).toBe(true);
    // Output redirected into a watched folder must not reload (and log, and reload ...).
    expect(rootTarget.relevant?.(path.join(dir, 'out.txt'))).toBe(false);
    expect(rootTarget.ignore(path.join(dir, 'gen', 'Hello', 'Hello.js'))).toBe(false);

    const batches: string[][] = [];
    const watcher = watchFiles({
      roots: [dir],
      ignore: rootTarget.ignore,
      relevant: rootTarget.relevant,
      debounceMs: 150,
      onChange: (files) => batches.push(files),
    });
    try {
      const watched = watcher.folders();
      expect(watched).toContain(path.join(dir, 'services', 'Hello'));
      expect(watched.some((f) => f.includes('node_modules') || f.includes(`${path.sep}.`))).toBe(false);
      expect(watched).not.toContain(path.join(dir, 'logs'));

      // Ignored writes first, then a burst of real edits: one batch, real files only.
      fs.writeFileSync(path.join(dir, 'logs', 'rpc.log'), 'log line\n');
      fs.writeFileSync(path.join(dir, 'node_modules', 'dep', 'index.js'), '1');
      fs.writeFileSync(path.join(dir, '.handler.js.swp'), 'x');
      fs.writeFileSync(path.join(dir, 'handler.js~'), 'x');
      fs.writeFileSync(path.join(dir, 'out.txt'), 'redirected output');
      for (let i = 0; i < 5; i++)
        fs.writeFileSync(path.join(dir, 'services', 'Hello', 'handler.js'), `// ${i}`);
      fs.writeFileSync(path.join(dir, 'gen', 'Hello', 'Hello.js'), '// generated');
      await waitFor(() => batches.length > 0, 5000, 'a batch');
      // A folder created after the start is watched too.
      fs.mkdirSync(path.join(dir, 'services', 'Hello', 'lib'));
      await waitFor(
        () => watcher.folders().includes(path.join(dir, 'services', 'Hello', 'lib')),
        5000,
        'new folder',
      );
      fs.writeFileSync(path.join(dir, 'services', 'Hello', 'lib', 'util.js'), '1');
      await waitFor(
        () => batches.flat().includes(path.join(dir, 'services', 'Hello', 'lib', 'util.js')),
        5000,
        'the new folder file',
      );
    } finally {
      watcher.close();
    }
    expect(batches[0]!.sort()).toEqual(
      [path.join(dir, 'gen', 'Hello', 'Hello.js'), path.join(dir, 'services', 'Hello', 'handler.js')].sort(),
    );
    const all = batches.flat();
    expect(all.some((f) => /logs|node_modules|\.swp|~$|out\.txt/.test(f))).toBe(false);
    // Creating the folder was not a change by itself.
    expect(all).not.toContain(path.join(dir, 'services', 'Hello', 'lib'));
  });
});

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}
