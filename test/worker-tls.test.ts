/**
 * TLS on the listener: a TLS client with the self-signed CA is served; a plaintext client is
 * refused at the handshake and the listener keeps serving.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import thrift from 'thrift';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startServer } from './helpers/in-process-server.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'thrifthost-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      path.join(dir, 'key.pem'),
      '-out',
      path.join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('TLS listener', () => {
  it('serves TLS clients and refuses plaintext ones', async () => {
    const host = await startServer({
      service: 'HelloWorld',
      transport: 'framed',
      tls: { key: path.join(dir, 'key.pem'), cert: path.join(dir, 'cert.pem') },
    });
    try {
      const connection = (thrift as any).createSSLConnection('127.0.0.1', host.port, {
        transport: thrift.TFramedTransport,
        protocol: thrift.TBinaryProtocol,
        ca: [fs.readFileSync(path.join(dir, 'cert.pem'))],
        max_attempts: 1,
      });
      connection.on('error', () => {});
      const client = thrift.createClient(
        require(path.join(ROOT, 'gen/HelloWorld/HelloWorld.js')),
        connection,
      );
      expect(await client.sayHello('SECURE')).toBe('Hello SECURE');
      connection.destroy();

      // A plaintext Thrift frame is not a TLS ClientHello: the server hangs up.
      const closed = await new Promise<boolean>((resolve) => {
        const s = net.connect(host.port, '127.0.0.1', () =>
          s.write(Buffer.from('0000000c80010001000000', 'hex')),
        );
        s.on('error', () => {});
        s.on('close', () => resolve(true));
        setTimeout(() => resolve(false), 5000).unref();
      });
      expect(closed).toBe(true);
      expect(host.logs.join('\n')).toContain('TLS handshake failed');
    } finally {
      host.close();
    }
  });
});
