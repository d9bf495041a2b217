/**
 * THeader transport, against Apache's Python (Debian python3-thrift) and C++ (libthrift-dev)
 * implementations: their THeader clients call the host and their THeader servers are called by
 * ThriftClient, over binary and compact, with headers both ways; a plain framed client still
 * reaches a THeader listener.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { withHeaders } from '../clients/call-headers.js';
import { validateServiceOptions } from '../clients/client-config.js';
import { ServiceClient } from '../clients/service-client.js';
import { ROOT, rawClient, startServer } from './helpers/in-process-server.js';
import { buildCppPeer, generatePython, PYTHON } from './helpers/theader-peers.js';

const FIXTURE = path.join(ROOT, 'test/fixtures/py_theader.py');
let genPy: string;
const cleanups: (() => unknown)[] = [];

let cppBin: string;

beforeAll(() => {
  genPy = generatePython('idl/Catalog.thrift');
  cppBin = buildCppPeer();
}, 180_000);
afterAll(() => fs.rmSync(genPy, { recursive: true, force: true }));
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const handler = path.join(ROOT, 'test/fixtures/handlers/context-catalog.cjs');
const audit = path.join(ROOT, 'test/fixtures/interceptors/audit.cjs');

function client(port: number, protocol: 'binary' | 'compact', extra: Record<string, unknown> = {}) {
  const c = new ServiceClient(
    validateServiceOptions('Catalog', {
      addresses: [`127.0.0.1:${port}`],
      protocol,
      transport: 'header',
      serviceDir: path.join(ROOT, 'gen'),
      shareState: false,
      ...extra,
    }),
  );
  cleanups.push(() => c.destroy());
  return c;
}

describe.each(['binary', 'compact'] as const)('THeader over %s', (protocol) => {
  it('serves a Python THeader client: its headers reach the handler, reply headers reach it', async () => {
    const host = await startServer({
      service: 'Catalog',
      handler,
      protocol,
      transport: 'header',
      interceptors: [audit],
      callContext: true,
    });
    cleanups.push(host.close);
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(PYTHON, [FIXTURE, genPy, 'client', String(host.port), protocol], { timeout: 15_000 }, (err, out, e) =>
        err ? reject(new Error(`${err.message}\n${e}`)) : resolve(out),
      );
    });
    const out = JSON.parse(stdout);
    expect(out.seen.headers).toEqual({ 'request-id': 'py-42', 'x-trace': 'abc' });
    expect(out.seen.requestId).toBe('py-42');
    expect(out.seen.data).toBe('hi!');
    expect(Number(out.replyHeaders['x-took-ns'])).toBeGreaterThan(0);
    expect(out.add).toBe(2 ** 40 + 2);
  });

  it('calls a Python THeader server from ThriftClient with service, per-call and interceptor headers', async () => {
    const py: ChildProcess = spawn(PYTHON, [FIXTURE, genPy, 'server', protocol], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => py.kill('SIGKILL'));
    const port = await new Promise<number>((resolve, reject) => {
      py.stdout!.once('data', (d: Buffer) => resolve(Number.parseInt(d.toString(), 10)));
      py.once('exit', (code) => reject(new Error(`python server exited with ${code}`)));
    });
    const c = client(port, protocol, {
      headers: { 'x-service': 'catalog-caller' },
      interceptors: [
        async (ctx: { headers: Map<string, string> }, next: () => Promise<unknown>) => {
          ctx.headers.set('x-interceptor', 'yes');
          return next();
        },
      ],
    });
    const answer = await withHeaders({ 'request-id': 'node-7' }, () => c.call('echo', [Buffer.from('ping'), 0]));
    expect(JSON.parse(answer as string)).toEqual({
      data: 'ping',
      // client_timeout: the call's remaining time in ms, which ThriftClient sends with every THeader
      // call; load (empty): the least-loaded balancer asks for the host's load.
      headers: {
        'x-service': 'catalog-caller',
        'request-id': 'node-7',
        'x-interceptor': 'yes',
        client_timeout: expect.stringMatching(/^\d+$/),
        load: '',
      },
    });
    expect(await c.call('add', [40, 2])).toMatchObject({});
  });
});

it('a THeader listener still answers a plain framed binary client', async () => {
  const host = await startServer({ service: 'Catalog', transport: 'header' });
  cleanups.push(host.close);
  const { client: raw, close } = rawClient('Catalog', host.port, 'binary', 'framed');
  cleanups.push(close);
  expect(await raw.echo(Buffer.from('plain'), 0)).toBe('plain');
});

it('ThriftClient over THeader calls the host, with headers visible to the handler', async () => {
  const host = await startServer({ service: 'Catalog', handler, transport: 'header', callContext: true });
  cleanups.push(host.close);
  const c = client(host.port, 'compact');
  const seen = JSON.parse((await withHeaders({ 'x-a': '1' }, () => c.call('echo', [Buffer.from('z'), 0]))) as string);
  expect(seen.headers).toEqual({ 'x-a': '1', client_timeout: expect.stringMatching(/^\d+$/), load: '' });
  expect(Number(seen.headers.client_timeout)).toBeLessThanOrEqual(5000);
});

describe.each(['binary', 'compact'] as const)('THeader with the C++ library over %s', (protocol) => {
  it('serves a C++ THeader client, headers both ways', async () => {
    const host = await startServer({
      service: 'HelloWorld',
      handler: path.join(ROOT, 'test/fixtures/handlers/hello-headers.cjs'),
      transport: 'header',
      interceptors: [audit],
      callContext: true,
    });
    cleanups.push(host.close);
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(cppBin, ['client', String(host.port), protocol], { timeout: 15_000 }, (err, out, e) =>
        err ? reject(new Error(`${err.message}\n${e}`)) : resolve(out),
      );
    });
    expect(stdout).toMatch(/^Hello cpp \(request-id=cpp-9\) \| x-took-ns=\d+\n$/);
  });

  it('calls a C++ THeader server from ThriftClient, its headers reaching the handler', async () => {
    const cpp: ChildProcess = spawn(cppBin, ['server'], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => cpp.kill('SIGKILL'));
    const port = await new Promise<number>((resolve, reject) => {
      cpp.stdout!.once('data', (d: Buffer) => resolve(Number.parseInt(d.toString(), 10)));
      cpp.once('exit', (code) => reject(new Error(`C++ server exited with ${code}`)));
    });
    const c = new ServiceClient(
      validateServiceOptions('HelloWorld', {
        addresses: [`127.0.0.1:${port}`],
        protocol,
        transport: 'header',
        serviceDir: path.join(ROOT, 'gen'),
        shareState: false,
        headers: { 'x-caller': 'node' },
      }),
    );
    cleanups.push(() => c.destroy());
    expect(await withHeaders({ 'request-id': 'n-1' }, () => c.call('sayHello', ['node']))).toMatch(
      /^C\+\+ hello node client_timeout=\d+ load= request-id=n-1 x-caller=node$/,
    );
  });
});
