/**
 * One call, then nothing: the process must print the reply and exit by itself, since the idle
 * pooled socket is unref'd. argv: <address> <gen dir>.
 */
import { ThriftClient } from '../../clients/index.js';

const [address = '', serviceDir = ''] = process.argv.slice(2);
ThriftClient.config({ HelloWorld: { addresses: [address], serviceDir, shareState: false } });
void ThriftClient.instance<import('../../gen/HelloWorld/HelloWorld.js').Client>('HelloWorld')
  .sayHello('one-shot')
  .then((reply) => process.stdout.write(`${reply}\n`));
