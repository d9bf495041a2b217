// Loads HelloWorld handler files the way a worker does (built code, dist/src/worker/service-loader.js:
// import(), Node's own type stripping) and calls sayHello('x') on each. With --require, the way an
// in-process server does (loadServiceTable: require()). Prints one JSON line per file:
// {file, reply} or {file, code, message}. Usage: node load-handler-child.cjs GEN_DIR [--require] FILE...
'use strict';
const path = require('node:path');
const dist = path.resolve(__dirname, '../../dist/src');
const { importServiceTable, loadServiceTable } = require(path.join(dist, 'worker/service-loader.js'));
const { StatsRegistry } = require(path.join(dist, 'monitoring/stats.js'));

async function main() {
  const [genDir, ...rest] = process.argv.slice(2);
  const sync = rest[0] === '--require';
  const files = sync ? rest.slice(1) : rest;
  for (const file of files) {
    const config = {
      name: 'HelloWorld',
      bindings: [{ service: 'HelloWorld', handler: file }],
      genDir,
      multiplexed: false,
      interceptors: [],
      callContext: false,
    };
    try {
      const table = sync
        ? loadServiceTable(config, new StatsRegistry())
        : await importServiceTable(config, new StatsRegistry());
      const reply = await table.methods.get('sayHello').invoke({ name: 'x' });
      process.stdout.write(`${JSON.stringify({ file, reply })}\n`);
    } catch (err) {
      process.stdout.write(`${JSON.stringify({ file, code: err.code, message: err.message })}\n`);
    }
  }
}
main();
