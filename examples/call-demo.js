#!/usr/bin/env node
// Calls the demo host (`npm run demo` in another terminal) with the failover client:
// a plain call, a split asend_/arecv_ pair, a declared exception, and a multi-call.
//
//   node examples/call-demo.js [host:port of HelloWorld] [host:port of Catalog]
const path = require('node:path');
const { ThriftClient } = require('../dist/clients/index.js');

const [hello = '127.0.0.1:9090', catalog = '127.0.0.1:9091'] = process.argv.slice(2);

async function main() {
  ThriftClient.config({
    HelloWorld: { addresses: [hello], serviceDir: path.join(__dirname, '../gen') },
    Catalog: { addresses: [catalog], transport: 'framed', serviceDir: path.join(__dirname, '../gen') },
  });
  const helloWorld = ThriftClient.instance('HelloWorld');
  console.log(await helloWorld.sayHello('TOM'));

  helloWorld.asend_sayHello('JERRY');
  helloWorld.asend_sayHello('KID');
  console.log(await helloWorld.arecv_sayHello('KID'), '/', await helloWorld.arecv_sayHello('JERRY'));

  const shop = ThriftClient.instance('Catalog');
  try {
    await shop.get(42);
  } catch (err) {
    console.log(`declared exception ${err.name}: ${err.message}`);
  }

  const { results, errors } = await ThriftClient.multi({
    hello: () => helloWorld.sayHello('MULTI'),
    missing: () => shop.get(7),
  });
  console.log('multi results:', results, 'errors:', Object.keys(errors));
  await ThriftClient.close();
}

main().catch((err) => {
  console.error(`call-demo: ${err.message} [${err.code ?? err.name}]`);
  console.error('Is the demo host running? Start it with `npm run demo` (or `npx rpc start -d`).');
  process.exit(1);
});
