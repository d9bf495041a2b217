/**
 * A small etcd v3 client over etcd's own JSON gateway (`/v3/...` on the client port, served by
 * etcd 3.4+): leases, put, prefix range, prefix watch and password authentication, with TLS
 * through `node:https`. Shared by the host's registration and the client's discovery. Each
 * request goes to the endpoint that answered last and moves on to the next one when it cannot
 * connect or times out; an answer of etcd itself (an error status) is not retried elsewhere.
 *
 * Why not the `etcd3` npm package: see docs/many-machines.md (it brings grpc-js, proto-loader,
 * protobufjs and their ranges into every client; the few calls needed here are plain JSON).
 */
import http from 'node:http';
import https from 'node:https';
import { ThriftHostError, type ThriftHostErrorOptions } from './errors.js';

/** Connection settings of an {@link EtcdGateway}. */
export interface EtcdGatewayOptions {
  /** `http://host:port` or `https://host:port` client URLs of the etcd members. */
  endpoints: readonly string[];
  /** etcd user, when etcd runs with authentication. */
  username?: string;
  password?: string;
  /** PEM contents (not paths) for `https` endpoints: CA to trust, client certificate and key. */
  tls?: { ca?: string; cert?: string; key?: string };
  /** Bound of one unary request (connect included). */
  requestTimeoutMs: number;
}

/** A key/value as read from etcd, decoded to UTF-8. */
export interface EtcdKeyValue {
  key: string;
  value: string;
  /** Lease id (decimal string) the key is attached to, if any. */
  lease?: string;
}

/** One change seen by a watch. */
export interface EtcdWatchEvent {
  type: 'put' | 'delete';
  kv: EtcdKeyValue;
}

/** A running watch. */
export interface EtcdWatch {
  /** Ends the watch; `onEnd` is not called after this. */
  close(): void;
}

/**
 * etcd could not be used. Codes: `ERR_REGISTRY_UNAVAILABLE` (no endpoint answered in time),
 * `ERR_REGISTRY_REQUEST` (etcd answered with an error, e.g. authentication failed).
 */
export class RegistryError extends ThriftHostError {
  constructor(
    code: 'ERR_REGISTRY_UNAVAILABLE' | 'ERR_REGISTRY_REQUEST',
    message: string,
    options?: ThriftHostErrorOptions,
  ) {
    super(code, message, options);
  }
}

/** Exclusive end of the key range holding every key that starts with `prefix`. */
export function prefixRangeEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/**
 * etcd v3 over its JSON gateway.
 *
 * @example
 * const etcd = new EtcdGateway({ endpoints: ['http://127.0.0.1:2379'], requestTimeoutMs: 2000 });
 * const lease = await etcd.grantLease(10);
 * await etcd.put('/thrifthost/services/HelloWorld/10.0.0.5:9090', '{...}', lease);
 */
export class EtcdGateway {
  private current = 0;
  private token: string | undefined;
  private readonly agents: { http: http.Agent; https: https.Agent };
  private readonly watches = new Set<http.ClientRequest>();

  constructor(readonly options: EtcdGatewayOptions) {
    if (options.endpoints.length === 0) throw new RegistryError('ERR_REGISTRY_REQUEST', 'etcd: no endpoint given');
    this.agents = {
      http: new http.Agent({ keepAlive: true, maxSockets: 4 }),
      https: new https.Agent({ keepAlive: true, maxSockets: 4, ...options.tls }),
    };
  }

  /** A new lease of `ttlSeconds`; resolves its id. */
  async grantLease(ttlSeconds: number): Promise<string> {
    const res = await this.call<{ ID?: string }>('/v3/lease/grant', { TTL: ttlSeconds });
    if (!res.ID) throw new RegistryError('ERR_REGISTRY_REQUEST', 'etcd: lease grant answered without an ID');
    return res.ID;
  }

  /** Renews a lease; resolves its TTL in seconds, 0 when etcd no longer has it (expired, revoked). */
  async keepAlive(lease: string): Promise<number> {
    const res = await this.call<{ result?: { TTL?: string } }>('/v3/lease/keepalive', { ID: lease });
    return Number(res.result?.TTL ?? 0);
  }

  /** Revokes a lease, deleting its keys; a lease etcd does not know is fine. */
  async revokeLease(lease: string): Promise<void> {
    try {
      await this.call('/v3/lease/revoke', { ID: lease });
    } catch (err) {
      if (!(err instanceof RegistryError && /lease not found/.test(err.message))) throw err;
    }
  }

  /** Writes `key`, attached to `lease` when given. */
  async put(key: string, value: string, lease?: string): Promise<void> {
    await this.call('/v3/kv/put', { key: b64(key), value: b64(value), ...(lease ? { lease } : {}) });
  }

  /** Every key under `prefix` and the store revision of that reading. */
  async range(prefix: string): Promise<{ revision: string; kvs: EtcdKeyValue[] }> {
    const res = await this.call<{ header?: { revision?: string }; kvs?: RawKv[] }>('/v3/kv/range', {
      key: b64(prefix),
      range_end: prefixRangeEnd(prefix).toString('base64'),
    });
    return { revision: res.header?.revision ?? '0', kvs: (res.kvs ?? []).map(decodeKv) };
  }

  /**
   * Watches every key under `prefix` from `startRevision` on. `onEnd` is called once when the
   * stream ends or fails (etcd gone, compaction, cancel), never after {@link EtcdWatch.close}.
   */
  watch(
    prefix: string,
    startRevision: string,
    onEvents: (events: EtcdWatchEvent[]) => void,
    onEnd: (err: Error) => void,
  ): EtcdWatch {
    let closed = false;
    let ended = false;
    const end = (err: Error) => {
      if (closed || ended) return;
      ended = true;
      this.watches.delete(req);
      req.destroy();
      onEnd(err);
    };
    const endpoint = this.endpoint();
    const body = JSON.stringify({
      create_request: {
        key: b64(prefix),
        range_end: prefixRangeEnd(prefix).toString('base64'),
        start_revision: startRevision,
      },
    });
    const req = this.send(endpoint, '/v3/watch', body);
    this.watches.add(req);
    // Notices a silently vanished peer (no FIN) within seconds instead of never.
    req.on('socket', (s) => s.setKeepAlive(true, 5_000));
    const connectTimer = setTimeout(
      () => end(unavailable(`etcd ${endpoint}: watch not established within ${this.options.requestTimeoutMs} ms`)),
      this.options.requestTimeoutMs,
    );
    connectTimer.unref();
    req.on('error', (err) => {
      clearTimeout(connectTimer);
      this.next();
      end(unavailable(`etcd ${endpoint}: watch failed (${err.message})`, err));
    });
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        clearTimeout(connectTimer);
        end(new RegistryError('ERR_REGISTRY_REQUEST', `etcd ${endpoint}: watch answered HTTP ${res.statusCode}`));
        return;
      }
      let buffered = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line) this.onWatchLine(line, endpoint, () => clearTimeout(connectTimer), onEvents, end);
        }
        if (buffered.length > 16 * 1024 * 1024) {
          end(new RegistryError('ERR_REGISTRY_REQUEST', `etcd ${endpoint}: watch line too long`));
        }
      });
      res.on('end', () => end(unavailable(`etcd ${endpoint}: watch stream ended`)));
      res.on('error', (err) => end(unavailable(`etcd ${endpoint}: watch stream failed (${err.message})`, err)));
      res.on('close', () => end(unavailable(`etcd ${endpoint}: watch stream closed`)));
    });
    return {
      close: () => {
        closed = true;
        clearTimeout(connectTimer);
        this.watches.delete(req);
        req.destroy();
      },
    };
  }

  /** Ends every watch and idle connection. */
  close(): void {
    for (const req of this.watches) req.destroy();
    this.watches.clear();
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  // --- internal ---

  private onWatchLine(
    line: string,
    endpoint: string,
    established: () => void,
    onEvents: (events: EtcdWatchEvent[]) => void,
    end: (err: Error) => void,
  ): void {
    let msg: { result?: RawWatchResult; error?: { message?: string } };
    try {
      msg = JSON.parse(line);
    } catch {
      end(new RegistryError('ERR_REGISTRY_REQUEST', `etcd ${endpoint}: watch sent something that is not JSON`));
      return;
    }
    if (msg.error) {
      end(new RegistryError('ERR_REGISTRY_REQUEST', `etcd ${endpoint}: watch error: ${msg.error.message}`));
      return;
    }
    const r = msg.result;
    if (!r) return;
    if (r.created) established();
    if (r.canceled || r.compact_revision) {
      const why = r.cancel_reason ?? `compacted at ${r.compact_revision}`;
      end(new RegistryError('ERR_REGISTRY_REQUEST', `etcd ${endpoint}: watch canceled (${why})`));
      return;
    }
    if (r.events?.length) {
      onEvents(r.events.map((e) => ({ type: e.type === 'DELETE' ? 'delete' : 'put', kv: decodeKv(e.kv ?? {}) })));
    }
  }

  /** One unary request, failing over across endpoints; authenticates first when configured. */
  private async call<T = unknown>(path: string, body: object, reauthenticated = false): Promise<T> {
    if (this.options.username && !this.token && path !== '/v3/auth/authenticate') await this.authenticate();
    let lastError: Error | undefined;
    for (let i = 0; i < this.options.endpoints.length; i++) {
      const endpoint = this.endpoint();
      let answer: { status: number; json: Record<string, unknown> };
      try {
        answer = await this.unary(endpoint, path, JSON.stringify(body));
      } catch (err) {
        lastError = err as Error;
        this.next();
        continue;
      }
      if (answer.status === 200 && !answer.json.error) return answer.json as T;
      const message = String(answer.json.message ?? answer.json.error ?? `HTTP ${answer.status}`);
      // code 16 = UNAUTHENTICATED: the token expired (etcd's simple tokens last 5 minutes).
      if (answer.json.code === 16 && this.options.username && path !== '/v3/auth/authenticate' && !reauthenticated) {
        this.token = undefined;
        await this.authenticate();
        return this.call<T>(path, body, true);
      }
      throw new RegistryError('ERR_REGISTRY_REQUEST', `etcd ${endpoint}${path}: ${message}`);
    }
    throw unavailable(
      `etcd unreachable at ${this.options.endpoints.join(', ')} (${lastError?.message ?? 'no answer'}); ` +
        'check that etcd runs and that these client URLs are right',
      lastError,
    );
  }

  private async authenticate(): Promise<void> {
    const res = await this.call<{ token?: string }>('/v3/auth/authenticate', {
      name: this.options.username,
      password: this.options.password ?? '',
    });
    if (!res.token) throw new RegistryError('ERR_REGISTRY_REQUEST', 'etcd: authentication answered without a token');
    this.token = res.token;
  }

  private unary(
    endpoint: string,
    path: string,
    body: string,
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const req = this.send(endpoint, path, body);
      req.setTimeout(this.options.requestTimeoutMs, () =>
        req.destroy(new Error(`no answer within ${this.options.requestTimeoutMs} ms`)),
      );
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > 64 * 1024 * 1024) req.destroy(new Error('answer larger than 64 MiB'));
          else chunks.push(c);
        });
        res.on('error', reject);
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
          } catch {
            reject(new Error(`HTTP ${res.statusCode}: answer is not JSON`));
          }
        });
      });
    });
  }

  private send(endpoint: string, path: string, body: string): http.ClientRequest {
    const url = new URL(path, endpoint);
    const secure = url.protocol === 'https:';
    const req = (secure ? https : http).request(url, {
      method: 'POST',
      agent: secure ? this.agents.https : this.agents.http,
      headers: {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(body),
        ...(this.token ? { Authorization: this.token } : {}),
      },
    });
    req.end(body);
    return req;
  }

  private endpoint(): string {
    return this.options.endpoints[this.current % this.options.endpoints.length] as string;
  }

  private next(): void {
    this.current = (this.current + 1) % this.options.endpoints.length;
  }
}

// --- internal ---

interface RawKv {
  key?: string;
  value?: string;
  lease?: string;
}

interface RawWatchResult {
  created?: boolean;
  canceled?: boolean;
  cancel_reason?: string;
  compact_revision?: string;
  events?: { type?: string; kv?: RawKv }[];
}

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

function decodeKv(kv: RawKv): EtcdKeyValue {
  return {
    key: Buffer.from(kv.key ?? '', 'base64').toString('utf8'),
    value: Buffer.from(kv.value ?? '', 'base64').toString('utf8'),
    ...(kv.lease && kv.lease !== '0' ? { lease: kv.lease } : {}),
  };
}

function unavailable(message: string, cause?: unknown): RegistryError {
  return new RegistryError('ERR_REGISTRY_UNAVAILABLE', message, cause === undefined ? undefined : { cause });
}
