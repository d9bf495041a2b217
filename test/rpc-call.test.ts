/**
 * `rpc call` and `rpc describe` as a user runs them: the real CLI as a child process against
 * thrifthost hosts serving Apache's ThriftTest, on every protocol × transport (THeader included)
 * and multiplexed; a configured service name as the target; TLS; and what each kind of failure
 * prints and exits with. Every method is covered in-process by test/generic-client.test.ts; here
 * a representative call per combination, so the test spawns a few dozen processes, not hundreds.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RPC_BIN, rpc, type RpcResult, waitFor } from './helpers/cli.js';
import { etcdClient, startEtcd } from './helpers/etcd.js';
import {
  COMBINATIONS,
  prepareThriftTest,
  startThriftTest,
  THRIFT_TEST_IDL,
  type ThriftTestFiles,
  type ThriftTestServer,
} from './helpers/thrift-test-host.js';

const IDL = ['--idl', THRIFT_TEST_IDL];
let files: ThriftTestFiles;
let dir: string;
const servers: ThriftTestServer[] = [];

beforeAll(() => {
  files = prepareThriftTest();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rpc-call-'));
}, 60_000);
afterAll(async () => {
  for (const s of servers) await s.close();
  files?.remove();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function serve(protocol: (typeof COMBINATIONS)[number][0], transport: (typeof COMBINATIONS)[number][1], options = {}) {
  const server = await startThriftTest(files, protocol, transport, options);
  servers.push(server);
  return server;
}

function call(args: string[], cwd = dir): Promise<RpcResult> {
  return rpc(['call', ...args], cwd, 20_000);
}

const INSANITY = { userMap: { FIVE: 5, EIGHT: '9223372036854775807' }, xtructs: [{ string_thing: 'Goodbye4', byte_thing: 4, i32_thing: 4, i64_thing: 4 }] };

/** One call per combination: a different kind of value or outcome each time, in turn. */
const PER_COMBINATION: { args: string[]; code: number; stdout: unknown }[] = [
  { args: ['ThriftTest.testString', '{"thing": "Hello ∑ 🚀"}'], code: 0, stdout: 'Hello ∑ 🚀' },
  { args: ['ThriftTest.testInsanity', JSON.stringify({ argument: INSANITY })], code: 0, stdout: { 1: { TWO: INSANITY, THREE: INSANITY }, 2: { SIX: {} } } },
  {
    args: ['ThriftTest.testMultiException', '["Xception2", "x"]'],
    code: 10,
    stdout: { exception: 'Xception2', value: { errorCode: 2002, struct_thing: { string_thing: 'This is an Xception2' } } },
  },
  { args: ['ThriftTest.testMulti', '[1, 2, "-9223372036854775808", {"7": "seven"}, 8, 3]'], code: 0, stdout: { string_thing: 'Hello2', byte_thing: 1, i32_thing: 2, i64_thing: '-9223372036854775808' } },
  { args: ['ThriftTest.testBinary', '[{"utf8": "Ünï"}]'], code: 0, stdout: Buffer.from('Ünï').toString('base64') },
  { args: ['ThriftTest.testMapMap', '{"hello": 1}'], code: 0, stdout: { '-4': { '-4': -4, '-3': -3, '-2': -2, '-1': -1 }, 4: { 1: 1, 2: 2, 3: 3, 4: 4 } } },
];

describe('rpc call against a thrifthost host serving ThriftTest', () => {
  const cases = [
    ...COMBINATIONS.map(([p, t]) => [p, t, false] as const),
    ['binary', 'framed', true] as const,
    ['compact', 'header', true] as const,
  ];
  it.each(cases.map((c, i) => [...c, i] as const))('over %s / %s (multiplexed: %s)', async (protocol, transport, multiplexed, i) => {
    const server = await serve(protocol, transport, { multiplexed });
    const flags = ['--protocol', protocol, '--transport', transport, ...(multiplexed ? ['--multiplexed', 'ThriftTest'] : [])];
    const target = `127.0.0.1:${server.port}`;
    const pick = PER_COMBINATION[i % PER_COMBINATION.length]!;
    const res = await call([target, ...pick.args, ...IDL, ...flags]);
    expect({ code: res.code, stdout: JSON.parse(res.stdout) }).toEqual({ code: pick.code, stdout: pick.stdout });
    if (pick.code === 10) expect(res.stderr).toMatch(/threw Xception2, which it declares .*\[ERR_DECLARED_EXCEPTION\]/);
  });

  it('sends THeader headers (-H) and names a TApplicationException, exit 11', async () => {
    const server = await serve('binary', 'header');
    const res = await call([`127.0.0.1:${server.port}`, 'ThriftTest.testException', '["TException"]', ...IDL, '--transport', 'header', '-H', 'x-trace:abc']);
    expect(res.code).toBe(11);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain('TApplicationException INTERNAL_ERROR (6): Internal error in ThriftTest.testException');
  });

  it('prints void and oneway results as null, and reads the arguments from stdin with "-"', async () => {
    const server = await serve('binary', 'buffered');
    const target = `127.0.0.1:${server.port}`;
    expect(await call([target, 'ThriftTest.testVoid', ...IDL])).toEqual({ code: 0, stdout: 'null\n', stderr: '' });
    const before = files.oneways.length;
    expect((await call([target, 'ThriftTest.testOneway', '[3]', ...IDL])).stdout).toBe('null\n');
    // The host runs in this process: the child must not block it (no execFileSync).
    const child = execFile(process.execPath, [RPC_BIN, 'call', target, 'ThriftTest.testI64', '-', ...IDL, '--compact']);
    child.stdin!.end('{"thing": "9007199254740993"}');
    let piped = '';
    child.stdout!.on('data', (d) => (piped += d));
    expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(0);
    expect(piped).toBe('"9007199254740993"\n');
    // The oneway call's connection is not the one of the calls after it: wait until it ran.
    await waitFor(() => files.oneways.length > before, 5000, 'the oneway call to run');
    expect(files.oneways.slice(before)).toEqual([3]);
  });

  it('takes a service name of rpc.config.json as the target: its address, protocol, transport and multiplexing', async () => {
    const server = await serve('compact', 'framed', { multiplexed: true });
    const project = path.join(dir, 'project');
    fs.mkdirSync(path.join(project, 'idl'), { recursive: true });
    fs.copyFileSync(THRIFT_TEST_IDL, path.join(project, 'idl', 'ThriftTest.thrift'));
    fs.writeFileSync(
      path.join(project, 'rpc.config.json'),
      JSON.stringify({
        services: [
          { name: 'Tests', listen: `tcp://0.0.0.0:${server.port}`, protocol: 'compact', transport: 'framed', multiplex: [{ service: 'ThriftTest' }] },
        ],
      }),
    );
    // From a subfolder: the nearest rpc.config.json, and the idl/ beside it.
    const sub = path.join(project, 'src');
    fs.mkdirSync(sub);
    expect(await call(['Tests', 'testEnum', '["FIVE"]', '--compact'], sub)).toEqual({ code: 0, stdout: '"FIVE"\n', stderr: '' });
    expect((await call(['ThriftTest', 'ThriftTest.testList', '[[3, 1, 2]]', '--compact'], sub)).stdout).toBe('[3,1,2]\n');
    const typo = await call(['Tsets', 'ThriftTest.testVoid'], sub);
    expect(typo.code).toBe(13);
    expect(typo.stderr).toContain('"Tsets" is not host:port nor a service of');
    expect(typo.stderr).toContain('did you mean Tests');
  });

  it('takes a name registered in etcd (the config\'s registry block): its instances\' protocol and transport', async () => {
    const server = await serve('compact', 'framed');
    const etcd = await startEtcd();
    try {
      const prefix = '/rpc-call-test/';
      const address = `127.0.0.1:${server.port}`;
      const record = { service: 'ThriftTest', address, protocol: 'compact', transport: 'framed', multiplexed: false, weight: 1, hostId: 'test' };
      await etcdClient(etcd.endpoint).put(`${prefix}ThriftTest/${address}`, JSON.stringify(record));
      const project = path.join(dir, 'registry-project');
      fs.mkdirSync(project);
      fs.writeFileSync(
        path.join(project, 'rpc.config.json'),
        JSON.stringify({ registry: { endpoints: [etcd.endpoint], prefix }, services: [{ name: 'Other', service: 'HelloWorld', listen: '127.0.0.1:1' }] }),
      );
      expect(await call(['ThriftTest', 'ThriftTest.testI32', '[5]', ...IDL], project)).toEqual({ code: 0, stdout: '5\n', stderr: '' });
      const typo = await call(['ThriftTset', 'ThriftTest.testI32', '[5]', ...IDL], project);
      expect(typo.code).toBe(13);
      expect(typo.stderr).toContain(`lists no instance of it under ${prefix}ThriftTset/ (did you mean ThriftTest?) (registered: ThriftTest)`);
    } finally {
      await etcd.stop();
    }
  });

  it('calls a TLS listener with --ca, and a plaintext call to it fails naming the address', async () => {
    const certDir = path.join(dir, 'tls');
    fs.mkdirSync(certDir);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(certDir, 'key.pem'), '-out', path.join(certDir, 'cert.pem')], { stdio: 'ignore' });
    const server = await serve('binary', 'framed', {
      settings: { tls: { key: path.join(certDir, 'key.pem'), cert: path.join(certDir, 'cert.pem') } },
    });
    const target = `127.0.0.1:${server.port}`;
    const ok = await call([target, 'ThriftTest.testI32', '[7]', ...IDL, '--transport', 'framed', '--ca', path.join(certDir, 'cert.pem')]);
    expect(ok).toEqual({ code: 0, stdout: '7\n', stderr: '' });
    const untrusted = await call([target, 'ThriftTest.testI32', '[7]', ...IDL, '--transport', 'framed', '--tls']);
    expect(untrusted.code).toBe(14);
    expect(untrusted.stderr).toContain(`cannot connect to ${target}`);
  });
});

describe('rpc call failures: message and exit code', () => {
  it('a wrong value names its path in the arguments (13), before connecting', async () => {
    const res = await call(['127.0.0.1:1', 'ThriftTest.testInsanity', '{"argument": {"xtructs": [{}, {"i32_thing": "x"}]}}', ...IDL]);
    expect(res).toEqual({
      code: 13,
      stdout: '',
      stderr: 'rpc: argument.xtructs[1].i32_thing: expected i32, got "x" [ERR_INVALID_ARGUMENT]\n',
    });
    const notJson = await call(['127.0.0.1:1', 'ThriftTest.testI32', '{thing: 1}', ...IDL]);
    expect(notJson.code).toBe(13);
    expect(notJson.stderr).toContain('arguments: not JSON');
  });

  it('an unknown service or method names the nearest ones (12)', async () => {
    const method = await call(['127.0.0.1:1', 'ThriftTest.testStrng', '{}', ...IDL]);
    expect(method.code).toBe(12);
    expect(method.stderr).toContain('service ThriftTest has no method testStrng (did you mean testString');
    const service = await call(['127.0.0.1:1', 'ThriftTst.testString', '{}', ...IDL]);
    expect(service.code).toBe(12);
    expect(service.stderr).toContain('no service ThriftTst (did you mean ThriftTest?)');
  });

  it('an IDL that does not parse names file:line:column (12)', async () => {
    const bad = path.join(dir, 'Bad.thrift');
    fs.writeFileSync(bad, 'service Bad {\n  void f(1: i32 x\n}\n');
    const res = await call(['127.0.0.1:1', 'Bad.f', '{}', '--idl', bad]);
    expect(res).toEqual({ code: 12, stdout: '', stderr: `rpc: ${bad}:3:1: expected a field type in the arguments of Bad.f (or ")"), got "}" [ERR_IDL_PARSE]\n` });
  });

  it('an unreachable address is named (14); a silent one times out (15); a peer that is not Thrift (16)', async () => {
    const refused = await call(['127.0.0.1:1', 'ThriftTest.testVoid', ...IDL]);
    expect(refused.code).toBe(14);
    expect(refused.stderr).toContain('cannot connect to 127.0.0.1:1');

    const peers: net.Server[] = [];
    const listen = async (onConnection: (s: net.Socket) => void) => {
      const server = net.createServer((s) => {
        s.on('error', () => {}); // the CLI exits without closing politely
        onConnection(s);
      });
      peers.push(server);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return (server.address() as net.AddressInfo).port;
    };
    try {
      const silent = await listen(() => {});
      const slow = await call([`127.0.0.1:${silent}`, 'ThriftTest.testVoid', ...IDL, '--timeout', '300']);
      expect(slow.code).toBe(15);
      expect(slow.stderr).toContain(`ThriftTest.testVoid on 127.0.0.1:${silent} got no reply within`);
      const http = await listen((s) => s.once('data', () => s.end('HTTP/1.1 400 Bad Request\r\n\r\n')));
      const garbage = await call([`127.0.0.1:${http}`, 'ThriftTest.testVoid', ...IDL]);
      expect(garbage.code).toBe(16);
      expect(garbage.stderr).toContain('reply could not be decoded');
    } finally {
      for (const p of peers) p.close();
    }
  });
});

describe('rpc describe', () => {
  it('lists every service and method, and a method with the types it uses', async () => {
    const all = await rpc(['describe', ...IDL], dir);
    expect(all.code).toBe(0);
    expect(all.stdout).toContain('  Xtruct testMultiException(1: string arg0, 2: string arg1) throws (1: Xception err1, 2: Xception2 err2)\n');
    expect(all.stdout).toContain('  oneway void testOneway(1: i32 secondsToSleep)\n');
    expect(all.stdout).toContain('service SecondService');
    const one = await rpc(['describe', 'ThriftTest.testInsanity', ...IDL], dir);
    expect(one.stdout).toContain('map<UserId, map<Numberz, Insanity>> testInsanity(1: Insanity argument)\n');
    expect(one.stdout).toContain('struct Insanity {\n  1: map<Numberz, UserId> userMap,\n  2: list<Xtruct> xtructs\n}');
    expect(one.stdout).toContain('enum Numberz {\n  ONE = 1,');
    expect(one.stdout).toContain('typedef i64 UserId');
  });
});
