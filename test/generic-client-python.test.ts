/**
 * Cross-language: GenericClient (the engine of `rpc call`) calls every ThriftTest method of a
 * server on Apache's Python library (Debian python3-thrift; test/fixtures/py_thrifttest_server.py,
 * the handler of Apache's TestServer.py), on every protocol × transport Python serves, THeader and
 * multiplexed included: the generic codec against a serializer that is not thrifthost's.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeclaredException, GenericClient } from '../clients/generic-client.js';
import { IdlModel } from '../src/idl/idl-model.js';
import { ROOT, waitFor } from './helpers/in-process-server.js';
import { THRIFT_TEST_CALLS } from './helpers/thrift-test-calls.js';
import { COMBINATIONS, THRIFT_TEST_IDL } from './helpers/thrift-test-host.js';

const PYTHON = '/usr/bin/python3';
const SERVER = path.join(ROOT, 'test/fixtures/py_thrifttest_server.py');
let genPy: string;
let model: IdlModel;
const cleanups: (() => unknown)[] = [];

beforeAll(() => {
  genPy = fs.mkdtempSync(path.join(os.tmpdir(), 'thrifthost-pytt-'));
  try {
    execFileSync('thrift', ['--gen', 'py', '-out', genPy, THRIFT_TEST_IDL], { stdio: 'ignore' });
    execFileSync(PYTHON, ['-c', 'import thrift']);
  } catch (err) {
    throw new Error(
      `the cross-language test needs Debian's thrift-compiler and python3-thrift ` +
        `(apt-get install -y thrift-compiler python3-thrift): ${(err as Error).message}`,
    );
  }
  model = IdlModel.load(THRIFT_TEST_IDL);
});
afterAll(() => fs.rmSync(genPy, { recursive: true, force: true }));
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Starts the Python server; it exits when its stdin closes, and is killed by pid at the end. */
async function startPython(args: string[]): Promise<{ port: number; output: () => string }> {
  const child: ChildProcess = spawn(PYTHON, [SERVER, genPy, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  cleanups.push(() => {
    child.stdin!.end();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  await waitFor(() => out.includes('\n') || child.exitCode !== null, 10_000, 'the Python server to listen');
  const port = Number.parseInt(out, 10);
  if (!(port > 0)) throw new Error(`the Python server did not start: ${out}${err}`);
  return { port, output: () => out };
}

describe.each([
  ...COMBINATIONS.map(([p, t]) => [p, t, false] as const),
  ['binary', 'framed', true] as const,
])('a Python ThriftTest server over %s / %s (multiplexed: %s)', (protocol, transport, multiplexed) => {
  it('answers every method as the IDL says', async () => {
    const server = await startPython([protocol, transport, ...(multiplexed ? ['ThriftTest'] : [])]);
    const client = new GenericClient({
      idl: model,
      service: 'ThriftTest',
      addresses: [`127.0.0.1:${server.port}`],
      protocol,
      transport,
      shareState: false,
      poolMax: 1,
      ...(multiplexed ? { multiplexed: 'ThriftTest' } : {}),
    });
    cleanups.push(() => client.destroy());
    for (const call of THRIFT_TEST_CALLS) {
      if (protocol === 'json' && Array.isArray(call.args) && call.args[0] === '-Infinity') {
        // Python's TJSONProtocol writes an infinite double as a bare -inf, which is not Thrift's
        // JSON ("-Infinity", quoted): the reply is refused as undecodable, not misread.
        await expect(client.call(call.method, call.args)).rejects.toMatchObject({
          code: 'ERR_REPLY_DECODE',
          message: expect.stringContaining('expected a double, found "-inf"'),
        });
        continue;
      }
      let got: unknown;
      try {
        const result = await client.call(call.method, call.args);
        // A Python set comes back in its own order.
        got = { result: call.method === 'testSet' ? [...(result as number[])].sort((a, b) => a - b) : result };
      } catch (err) {
        if (err instanceof DeclaredException) got = { exception: err.toJSON() };
        else if ((err as { type?: number }).type !== undefined) got = { applicationError: (err as { type: number }).type };
        else throw err;
      }
      const want = call.exception
        ? { exception: call.exception }
        : call.applicationError !== undefined
          ? { applicationError: call.applicationError }
          : { result: call.result };
      expect({ call: `${call.method} ${JSON.stringify(call.args)}`, ...(got as object) }).toEqual({
        call: `${call.method} ${JSON.stringify(call.args)}`,
        ...want,
      });
    }
    await waitFor(() => server.output().includes('oneway 1\n'), 5000, 'the Python server to run testOneway');
  });
});
