// The command line of the Node contender servers (host-server.cjs, apache-server.cjs): parsed
// here by the servers, and built here by whoever starts one (bench/*.mjs, chaos/fuzz.mjs), so
// that the two sides name the same flags.
'use strict';
const path = require('node:path');
const { parseArgs } = require('node:util');

/** The flags both servers take, with their defaults. */
const SERVER_OPTIONS = {
  port: { type: 'string' },
  count: { type: 'string', default: '1' },
  transport: { type: 'string', default: 'framed' },
  protocol: { type: 'string', default: 'binary' },
  service: { type: 'string', default: 'HelloWorld' },
  'gen-dir': { type: 'string' },
  handler: { type: 'string' },
};

/**
 * The stdout line that says a contender server is ready: the Apache server prints `READY <port>`,
 * thrifthost (the real `rpc start`) its "thrifthost started: ..." summary.
 */
const READY_LINE = /^(READY\b|thrifthost started:)/;

/** This process's flags: SERVER_OPTIONS plus a server's own `more`; unknown flags throw. */
function parseServerArgs(more = {}) {
  return parseArgs({ options: { ...SERVER_OPTIONS, ...more } }).values;
}

/**
 * `[node, bench/servers/<script>, ...flags]`, the command that starts a Node contender server;
 * what is not given is left to the server's default. `extra` (host-server.cjs only) is an
 * object merged into the service's config; `node` the Node binary (default: this process's).
 * @example serverCommand('host-server.cjs', { count: 2, port: 9090, transport: 'framed' })
 */
function serverCommand(script, { node, port, count, transport, protocol, service, genDir, handler, extra }) {
  const flags = {
    port,
    count,
    transport,
    protocol,
    service,
    'gen-dir': genDir,
    handler,
    extra: extra === undefined ? undefined : JSON.stringify(extra),
  };
  const args = Object.entries(flags).flatMap(([name, value]) => (value === undefined ? [] : [`--${name}`, String(value)]));
  return [node ?? process.execPath, path.join(__dirname, script), ...args];
}

module.exports = { READY_LINE, parseServerArgs, serverCommand };
