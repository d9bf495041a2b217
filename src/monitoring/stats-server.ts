/**
 * The statistics HTTP listener of the master (`stats.listen` in the host config): `/metrics`
 * for Prometheus, `/api/stats` JSON, and `/` the dashboard; plus, with `stats.udp`, the UDP
 * receiver of client call reports.
 *
 * Bound to a loopback address it is open to local users, like the control socket. Bound to any
 * other address it refuses to start without a user and password, and answers every request
 * without the right ones with a bare 401, except the probes `/healthz` and `/readyz`
 * (`health-http.ts`), which are open and tell only service names and worker counts. With `stats.admin`, `/admin/` answers the remote
 * admin requests of `admin-http.ts`, which carry their own token.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import {
  type AdminAccess,
  type AdminActions,
  type AdminContext,
  handleAdmin,
  isAdminPath,
  resolveAdminAccess,
} from './admin-http.js';
import { formatAddress, type HostPort } from '../common/address.js';
import type { StatsConfig } from '../config/config.js';
import { DASHBOARD_CSP, DASHBOARD_HTML } from './dashboard.js';
import { handleHealth, isHealthPath, type ReadinessSource } from './health-http.js';
import { StatsServerError } from '../host/host-errors.js';
import type { Logger } from '../host/logger.js';
import { PROMETHEUS_CONTENT_TYPE, renderMetrics } from './prometheus.js';
import type { StatsSource } from './stats-aggregate.js';
import { StatsCollector } from './stats-collector.js';
import { ClientStats, type StatsUdpReceiver, startStatsUdp } from './stats-udp.js';

export { StatsServerError };

/** Env vars that supply (and override) `stats.user` / `stats.password`. */
export const STATS_AUTH_ENV = {
  user: 'THRIFTHOST_STATS_USER',
  password: 'THRIFTHOST_STATS_PASSWORD',
} as const;

/** Options of {@link startStatsServer}. */
export interface StatsServerOptions {
  /**
   * How often the master samples the workers between requests, for the history.
   * @default 10000
   */
  sampleIntervalMs?: number;
  /** Clock of the history (tests move it forward). @default Date.now */
  now?: () => number;
  /** Where credentials are read from. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** What `/admin/` does; the admin endpoints answer only with this and `stats.admin` set. */
  admin?: AdminActions;
  /**
   * What `/sd/prometheus` serves (Prometheus http_sd target groups); 404 when absent. Set by the
   * master when the host has a `registry`.
   */
  serviceDiscovery?: () => Promise<unknown>;
  /** What `/readyz` reads; without it `/readyz` answers 503. */
  readiness?: ReadinessSource;
}

/** A running statistics server. */
export interface StatsServer {
  /** The bound HTTP address (the real port when configured with port 0). */
  readonly address: HostPort;
  /** The bound UDP address, when `stats.udp` is set. */
  readonly udpAddress: HostPort | undefined;
  /** Stops sampling and closes both sockets. Idempotent. */
  close(): Promise<void>;
}

/** Default of {@link StatsServerOptions.sampleIntervalMs}. */
export const DEFAULT_SAMPLE_INTERVAL_MS = 10_000;

/**
 * Starts the statistics listener(s) of `config`, reading figures from `source`.
 * @throws StatsServerError `ERR_STATS_AUTH_REQUIRED` when bound beyond loopback without
 *   credentials, `ERR_STATS_LISTEN` when an address cannot be bound
 * @example
 * const stats = config.stats
 *   ? await startStatsServer(config.stats, { collect: () => supervisor.status() }, logger)
 *   : undefined;
 * // ... on stop:
 * await stats?.close();
 */
export async function startStatsServer(
  config: StatsConfig,
  source: StatsSource,
  log: Logger,
  options: StatsServerOptions = {},
): Promise<StatsServer> {
  const { auth, admin } = checkStatsAccess(config, options.env);
  const adminRoutes: AdminContext | undefined =
    admin && options.admin
      ? { access: admin, actions: options.admin, log, isLoopbackPeer: isLoopback }
      : undefined;
  const health = { source: options.readiness, startedAt: Date.now() };
  const client = config.udp ? new ClientStats() : undefined;
  const collector = new StatsCollector(source, {
    ...(client ? { client } : {}),
    ...(options.now ? { now: options.now } : {}),
    onCustomConflict: (name) =>
      log.warn(
        { metric: name },
        `handler metric ${name} is defined differently in some workers (labels, buckets or type); ` +
          'their figures of it are left out of /metrics until those workers are gone',
      ),
  });

  let udp: StatsUdpReceiver | undefined;
  if (config.udp && client) {
    try {
      udp = await startStatsUdp(config.udp, client, log);
    } catch (err) {
      throw listenError('UDP', config.udp, err);
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res, auth, adminRoutes, collector, log, options.serviceDiscovery, health).catch((err) => {
      log.warn({ err }, 'stats request failed');
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('statistics are not available right now\n');
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: config.listen.host, port: config.listen.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await udp?.close();
    throw listenError('HTTP', config.listen, err);
  }
  const bound = server.address() as { address: string; port: number };
  const address = { host: bound.address, port: bound.port };
  log.info(
    { stats: formatAddress(address), auth: auth !== undefined, admin: adminRoutes !== undefined },
    `statistics at http://${formatAddress(address)}/ (metrics: /metrics${adminRoutes ? ', admin: /admin/' : ''})`,
  );

  const timer = setInterval(() => {
    collector.refresh().catch((err) => log.debug({ err: (err as Error).message }, 'stats sample failed'));
  }, options.sampleIntervalMs ?? DEFAULT_SAMPLE_INTERVAL_MS);
  timer.unref();
  // The first sample sets the history's starting point.
  collector.refresh().catch(() => {});

  let closed: Promise<void> | undefined;
  return {
    address,
    udpAddress: udp?.address,
    close() {
      closed ??= (async () => {
        clearInterval(timer);
        await Promise.all([
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
          udp?.close(),
        ]);
      })();
      return closed;
    },
  };
}

/**
 * Resolves the credentials of the listener and of its admin endpoints, so that a host missing
 * them fails before it forks anything.
 * @throws StatsServerError `ERR_STATS_AUTH_REQUIRED`, `ERR_ADMIN_TOKEN_REQUIRED`
 */
export function checkStatsAccess(
  config: StatsConfig,
  env: NodeJS.ProcessEnv = process.env,
): { auth: { user: string; password: string } | undefined; admin: AdminAccess | undefined } {
  return {
    auth: resolveStatsAuth(config, env),
    admin: config.admin ? resolveAdminAccess(config.admin, env) : undefined,
  };
}

/**
 * The credentials the listener requires, or undefined for an open loopback listener.
 * Env vars win over the config file, so a password need not be written into it.
 * @throws StatsServerError when bound beyond loopback without both user and password
 */
export function resolveStatsAuth(
  config: StatsConfig,
  env: NodeJS.ProcessEnv = process.env,
): { user: string; password: string } | undefined {
  const user = env[STATS_AUTH_ENV.user] || config.user;
  const password = env[STATS_AUTH_ENV.password] || config.password;
  if (user && password) return { user, password };
  if (isLoopback(config.listen.host)) return undefined;
  throw new StatsServerError(
    'ERR_STATS_AUTH_REQUIRED',
    `stats.listen ${formatAddress(config.listen)} is reachable from other hosts, so the statistics ` +
      `listener needs a user and password: set "stats.user" and "stats.password" in the config, or ` +
      `${STATS_AUTH_ENV.user} and ${STATS_AUTH_ENV.password} in the environment (or listen on 127.0.0.1)`,
  );
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^::ffff:/, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

// --- internal ---

async function handle(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  auth: { user: string; password: string } | undefined,
  admin: AdminContext | undefined,
  collector: StatsCollector,
  log: Logger,
  serviceDiscovery: (() => Promise<unknown>) | undefined,
  health: { source: ReadinessSource | undefined; startedAt: number },
): Promise<void> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  // Probes carry no credentials; these two answer nothing beyond service names and counts.
  if (isHealthPath(path)) {
    handleHealth(req, res, path, health.source, health.startedAt);
    return;
  }
  // Admin requests carry their own credential (a Bearer token) instead of the statistics one.
  if (admin && isAdminPath(path)) {
    return handleAdmin(req, res, path, admin);
  }
  if (auth && !authorized(req.headers.authorization, auth)) {
    res.writeHead(401, {
      'WWW-Authenticate': 'Basic realm="thrifthost statistics", charset="UTF-8"',
      'Content-Length': '0',
    });
    res.end();
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Length': '0' });
    res.end();
    return;
  }
  const common = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };
  if (path === '/sd/prometheus' && serviceDiscovery) {
    let groups: unknown;
    try {
      groups = await serviceDiscovery();
    } catch (err) {
      // Prometheus keeps its last targets while discovery fails: the right thing during an outage.
      log.warn({ err: (err as Error).message }, 'stats: /sd/prometheus: registry unavailable');
      const text = `registry unavailable: ${(err as Error).message}\n`;
      send(res, req, 503, { ...common, 'Content-Type': 'text/plain; charset=utf-8' }, text);
      return;
    }
    send(res, req, 200, { ...common, 'Content-Type': 'application/json' }, JSON.stringify(groups));
    return;
  }
  switch (path) {
    case '/metrics': {
      const { metrics } = await collector.refresh();
      send(res, req, 200, { ...common, 'Content-Type': PROMETHEUS_CONTENT_TYPE }, renderMetrics(metrics));
      return;
    }
    case '/api/stats': {
      const { view } = await collector.refresh();
      send(res, req, 200, { ...common, 'Content-Type': 'application/json' }, JSON.stringify(view()));
      return;
    }
    case '/':
    case '/index.html':
      send(
        res,
        req,
        200,
        {
          ...common,
          'Content-Type': 'text/html; charset=utf-8',
          'Content-Security-Policy': DASHBOARD_CSP,
          'X-Frame-Options': 'DENY',
          'Referrer-Policy': 'no-referrer',
        },
        DASHBOARD_HTML,
      );
      return;
    case '/favicon.ico':
      res.writeHead(204, common);
      res.end();
      return;
    default:
      log.debug({ path }, 'stats: not found');
      send(
        res,
        req,
        404,
        { ...common, 'Content-Type': 'text/plain; charset=utf-8' },
        'not found: try /, /metrics, /api/stats, /healthz or /readyz\n',
      );
  }
}

function send(
  res: http.ServerResponse,
  req: http.IncomingMessage,
  status: number,
  headers: Record<string, string>,
  body: string,
): void {
  const bytes = Buffer.from(body);
  res.writeHead(status, { ...headers, 'Content-Length': String(bytes.length) });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

/** Compares Basic credentials in constant time (over hashes, so lengths leak nothing either). */
function authorized(header: string | undefined, auth: { user: string; password: string }): boolean {
  if (!header?.startsWith('Basic ')) return false;
  const given = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const digest = (s: string) => crypto.createHash('sha256').update(s).digest();
  return crypto.timingSafeEqual(digest(given), digest(`${auth.user}:${auth.password}`));
}

function listenError(what: string, address: HostPort, err: unknown): StatsServerError {
  const e = err as NodeJS.ErrnoException;
  const why =
    e.code === 'EADDRINUSE'
      ? 'the port is already in use'
      : e.code === 'EACCES'
        ? 'no permission (ports below 1024 need root)'
        : e.message;
  return new StatsServerError(
    'ERR_STATS_LISTEN',
    `Cannot listen for statistics (${what}) on ${formatAddress(address)}: ${why}; change "stats" in the config`,
    { cause: err },
  );
}
