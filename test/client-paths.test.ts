/**
 * Where the client finds generated code: relative paths resolve against the folder of the file
 * calling `ThriftClient.config()` (not the working directory); without `serviceDir`, the nearest
 * `gen/` at or above that file; `generated` takes the loaded module itself.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ThriftClient } from '../clients/index.js';
import { GEN_DIR, startHelloServer, type TestServer } from './helpers/servers.js';

const servers: TestServer[] = [];
const cwd = process.cwd();
afterEach(async () => {
  process.chdir(cwd);
  await ThriftClient.reset();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function helloAddress(): Promise<string> {
  const s = await startHelloServer();
  servers.push(s);
  return s.address;
}

describe('client generated-code lookup', () => {
  it('finds the nearest gen/ above the calling file, whatever the working directory', async () => {
    const address = await helloAddress();
    process.chdir(os.tmpdir());
    ThriftClient.config({ HelloWorld: { addresses: [address], shareState: false } });
    expect(await ThriftClient.instance('HelloWorld').sayHello('A')).toMatch(/^Hello A from/);
    expect(ThriftClient.serviceClientOf(ThriftClient.instance('HelloWorld'))?.generated.file).toBe(
      path.join(GEN_DIR, 'HelloWorld', 'HelloWorld.js'),
    );
  });

  it('resolves a relative serviceDir against the calling file, not the working directory', async () => {
    const address = await helloAddress();
    process.chdir(os.tmpdir());
    ThriftClient.config({ HelloWorld: { addresses: [address], serviceDir: '../gen', shareState: false } });
    expect(await ThriftClient.instance('HelloWorld').sayHello('B')).toMatch(/^Hello B from/);
    expect(() =>
      ThriftClient.config({ HelloWorld: { addresses: [address], serviceDir: './nope', shareState: false } }),
    ).toThrow(path.join(__dirname, 'nope', 'HelloWorld', 'HelloWorld.js'));
  });

  it('accepts the generated module itself', async () => {
    const address = await helloAddress();
    const generated = createRequire(__filename)(path.join(GEN_DIR, 'HelloWorld', 'HelloWorld.js'));
    ThriftClient.config({ HelloWorld: { addresses: [address], generated, shareState: false } });
    expect(await ThriftClient.instance('HelloWorld').sayHello('C')).toMatch(/^Hello C from/);
    expect(() => ThriftClient.config({ HelloWorld: { addresses: [address], generated: {} } })).toThrow(
      expect.objectContaining({ code: 'ERR_CLIENT_CONFIG', message: expect.stringMatching(/generated must be/) }),
    );
  });
});
