/**
 * `/healthz` and `/readyz` on the statistics listener, for load balancers and orchestrators.
 *
 * - `/healthz`: the master answers, so it is alive: always 200.
 * - `/readyz`: 200 when every configured service has at least one worker in the `listening`
 *   state, else 503 naming the services that have none. A worker is `listening` once it said so
 *   over IPC, which it does only when it is ready to take calls; the answer is read from the
 *   master's own bookkeeping, so a busy or stuck worker cannot slow it down.
 *
 * Both are open without credentials on any address (probes rarely carry any) and tell nothing
 * beyond service names and worker counts.
 */
import type * as http from 'node:http';

/** Readiness of the host, as {@link ReadinessSource.readiness} reports it. */
export interface Readiness {
  /** True when every service has a listening worker (and the host is not stopping). */
  ready: boolean;
  services: ServiceReadiness[];
}

/** One service entry's workers. */
export interface ServiceReadiness {
  service: string;
  /** Workers in the `listening` state. */
  listening: number;
  /** Configured `count`. */
  expected: number;
}

/** Where `/readyz` reads from; the supervisor's `readiness()` fits. */
export interface ReadinessSource {
  readiness(): Readiness;
}

/** Paths answered by {@link handleHealth}. */
export function isHealthPath(path: string): boolean {
  return path === '/healthz' || path === '/readyz';
}

/**
 * Answers `/healthz` or `/readyz`. Without a readiness source (a listener outside a master),
 * `/readyz` answers 503.
 */
export function handleHealth(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  path: string,
  source: ReadinessSource | undefined,
  startedAt: number,
): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Length': '0' });
    res.end();
    return;
  }
  if (path === '/healthz') {
    reply(req, res, 200, { status: 'ok', uptimeSeconds: Math.floor((Date.now() - startedAt) / 1000) });
    return;
  }
  const readiness = source?.readiness() ?? { ready: false, services: [] };
  const notReady = readiness.services.filter((s) => s.listening === 0).map((s) => s.service);
  reply(req, res, readiness.ready ? 200 : 503, {
    status: readiness.ready ? 'ready' : 'not ready',
    ...(readiness.ready ? {} : { notReady }),
    services: readiness.services,
  });
}

// --- internal ---

function reply(req: http.IncomingMessage, res: http.ServerResponse, status: number, body: object): void {
  const bytes = Buffer.from(`${JSON.stringify(body)}\n`);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': String(bytes.length),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}
