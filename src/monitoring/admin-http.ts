/**
 * Remote admin over HTTP, under `/admin/` on the statistics listener (`stats.admin` in the host
 * config), like workerman's password-protected telnet control:
 *
 *   GET  /admin/status                     what `rpc status --json` prints
 *   POST /admin/reload                     rolling reload; answers when it is done
 *   POST /admin/stop                       graceful stop, started once the answer is out
 *   POST /admin/workers/<pid>/restart      replace one worker: fork, wait listening, drain it
 *
 * Every request needs `Authorization: Bearer <token>`, on loopback too: a dashboard reader must
 * not be able to stop the host, so the admin token is not the statistics password. Peers other
 * than loopback are refused unless `stats.admin.allowRemote` is set. Every request is logged with
 * the peer, the action and the result. Answers are JSON in the control socket's shape:
 * `{"ok":true,"result":..}` or `{"ok":false,"error":{"code","message"}}`.
 */
import crypto from 'node:crypto';
import type * as http from 'node:http';
import { ThriftHostError } from '../common/errors.js';
import { ADMIN_TOKEN_MIN_CHARS, type AdminConfig } from '../config/config.js';
import { StatsServerError } from '../host/host-errors.js';
import type { Logger } from '../host/logger.js';
import type { HostStatus, ReloadResult } from '../master/supervisor.js';
import type { Replacement } from '../master/worker-group.js';

/** Env var that supplies (and overrides) `stats.admin.token`. */
export const ADMIN_TOKEN_ENV = 'THRIFTHOST_ADMIN_TOKEN';

/** What the admin endpoints do; the master provides them. */
export interface AdminActions {
  status(): Promise<HostStatus>;
  reload(): Promise<ReloadResult>;
  /** Pids that a stop ends (the master's first), for the answer to `/admin/stop`. */
  stopPids(): number[];
  /** Starts a graceful stop; called once the answer to `/admin/stop` has been sent. */
  stop(): Promise<void>;
  /** @throws WorkerNotFoundError, ReloadError (the worker keeps serving) */
  restartWorker(pid: number): Promise<Replacement & { service: string }>;
}

/** Resolved admin settings: the token to compare with, and who may ask. */
export interface AdminAccess {
  token: string;
  allowRemote: boolean;
}

/**
 * The admin settings of `config`, with the token from {@link ADMIN_TOKEN_ENV} winning over the
 * config file.
 * @throws StatsServerError `ERR_ADMIN_TOKEN_REQUIRED` when admin is on without a token
 */
export function resolveAdminAccess(config: AdminConfig, env: NodeJS.ProcessEnv = process.env): AdminAccess {
  const token = env[ADMIN_TOKEN_ENV] || config.token;
  if (!token || token.length < ADMIN_TOKEN_MIN_CHARS) {
    throw new StatsServerError(
      'ERR_ADMIN_TOKEN_REQUIRED',
      `"stats.admin" is set but has no token of at least ${ADMIN_TOKEN_MIN_CHARS} characters: set "stats.admin.token" in the ` +
        `config or ${ADMIN_TOKEN_ENV} in the environment (e.g. \`openssl rand -hex 24\`), or remove "stats.admin"`,
    );
  }
  return { token, allowRemote: config.allowRemote };
}

/** What {@link handleAdmin} needs besides the request. */
export interface AdminContext {
  access: AdminAccess;
  actions: AdminActions;
  log: Logger;
  /** True when a peer address is this machine (`isLoopback` of `stats-server.ts`). */
  isLoopbackPeer(address: string): boolean;
}

/** True for the paths this module answers. */
export function isAdminPath(path: string): boolean {
  return path === '/admin' || path.startsWith('/admin/');
}

/**
 * Answers one admin request to `path` (the URL without its query): peer check, token check,
 * then the action; logs who asked what and how it ended.
 */
export async function handleAdmin(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  path: string,
  ctx: AdminContext,
): Promise<void> {
  const { access, actions, log } = ctx;
  const peer = req.socket.remoteAddress ?? 'unknown';
  const who = `${peer}:${req.socket.remotePort ?? 0}`;
  const what = `${req.method ?? '?'} ${path}`;
  const audit = (status: number, result: string, extra: Record<string, unknown> = {}) => {
    const fields = { admin: { who, what, status, result, ...extra } };
    const line = `admin: ${what} from ${who}: ${result}`;
    if (status >= 400 && status !== 404 && status !== 405) log.warn(fields, line);
    else log.info(fields, line);
  };

  if (!access.allowRemote && !ctx.isLoopbackPeer(peer)) {
    audit(403, 'refused: not a loopback peer (set stats.admin.allowRemote to allow)');
    return reply(res, 403, fail('ERR_ADMIN_FORBIDDEN', 'admin requests are accepted from this machine only'));
  }
  if (!tokenMatches(req.headers.authorization, access.token)) {
    audit(401, req.headers.authorization ? 'refused: wrong token' : 'refused: no token');
    res.writeHead(401, {
      'WWW-Authenticate': 'Bearer realm="thrifthost admin"',
      'Content-Length': '0',
      'Cache-Control': 'no-store',
    });
    res.end();
    return;
  }

  const route = match(req.method ?? '', path);
  if (route.kind === 'not-found') {
    audit(404, 'no such admin endpoint');
    return reply(res, 404, fail('ERR_NOT_FOUND', `no admin endpoint ${path}; see docs/cli.md`));
  }
  if (route.kind === 'wrong-method') {
    audit(405, `method not allowed (use ${route.allow})`);
    res.writeHead(405, { Allow: route.allow, 'Content-Length': '0' });
    res.end();
    return;
  }
  try {
    switch (route.kind) {
      case 'status': {
        const status = await actions.status();
        audit(200, `ok (${status.workers.length} workers)`);
        return reply(res, 200, { ok: true, result: status });
      }
      case 'reload': {
        const result = await actions.reload();
        const pairs = result.services.flatMap((s) => s.replaced.map((r) => `${r.oldPid}->${r.newPid}`));
        audit(200, `reloaded in ${result.durationMs} ms (${pairs.join(', ')})`);
        return reply(res, 200, { ok: true, result });
      }
      case 'stop': {
        const pids = actions.stopPids();
        audit(202, `stopping (pids ${pids.join(', ')})`);
        // Stopping closes this listener: start only once the answer has left.
        res.once('finish', () => void actions.stop());
        return reply(res, 202, { ok: true, result: { pids } });
      }
      case 'restart': {
        const result = await actions.restartWorker(route.pid);
        audit(200, `worker ${result.oldPid} of ${result.service} replaced by ${result.newPid}`);
        return reply(res, 200, { ok: true, result });
      }
    }
  } catch (err) {
    const e = err as Error;
    const code = err instanceof ThriftHostError ? err.code : 'ERR_INTERNAL';
    const status = code === 'ERR_NO_SUCH_WORKER' ? 404 : code === 'ERR_INTERNAL' ? 500 : 409;
    audit(status, `failed: ${code} ${e.message}`);
    if (code === 'ERR_INTERNAL') log.error({ err }, 'admin action failed');
    return reply(res, status, fail(code, e.message));
  }
}

// --- internal ---

type Route =
  | { kind: 'status' | 'reload' | 'stop' }
  | { kind: 'restart'; pid: number }
  | { kind: 'not-found' }
  | { kind: 'wrong-method'; allow: string };

function match(method: string, path: string): Route {
  const fixed: Record<string, { kind: 'status' | 'reload' | 'stop'; method: string }> = {
    '/admin/status': { kind: 'status', method: 'GET' },
    '/admin/reload': { kind: 'reload', method: 'POST' },
    '/admin/stop': { kind: 'stop', method: 'POST' },
  };
  const known = fixed[path];
  const restart = /^\/admin\/workers\/([1-9]\d{0,9})\/restart$/.exec(path);
  const want = known?.method ?? (restart ? 'POST' : undefined);
  if (!want) return { kind: 'not-found' };
  if (method !== want) return { kind: 'wrong-method', allow: want };
  return known ? { kind: known.kind } : { kind: 'restart', pid: Number(restart![1]) };
}

/** Compares a Bearer token in constant time (over hashes, so the length leaks nothing either). */
function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer +(\S+) *$/.exec(header ?? '');
  if (!m) return false;
  const digest = (s: string) => crypto.createHash('sha256').update(s).digest();
  return crypto.timingSafeEqual(digest(m[1]!), digest(token));
}

function fail(code: string, message: string) {
  return { ok: false, error: { code, message } };
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': String(bytes.length),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(bytes);
}
