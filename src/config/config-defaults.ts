/**
 * Every default of the host configuration, read from the `default`s of the config schema: the
 * schema is where a default is written, {@link DEFAULTS} is its typed view, and the few defaults
 * a JSON document cannot hold (one worker per core, the handler location, this machine's name)
 * are computed here.
 */
import os from 'node:os';
import type { DecodeLimits, I64Mode } from '../codec/decode-limits.js';
import type { ProtocolName, TransportName } from '../codec/protocols.js';
import { CONFIG_SCHEMA, SERVICE_SCHEMA } from './config-schema.js';

/** Default config file name, looked up in the working directory. */
export const DEFAULT_CONFIG_FILE = 'rpc.config.json';

const top = CONFIG_SCHEMA.properties;
const service = SERVICE_SCHEMA.properties;
const registry = top.registry.properties;

/** Every default of the host configuration. */
export const DEFAULTS = {
  /** Workers per service: one per CPU core. */
  count: (): number => os.availableParallelism(),
  protocol: service.protocol.default as ProtocolName,
  transport: service.transport.default as TransportName,
  /**
   * What one call may hold: `maxMessageBytes` (framed or unframed; `maxFrameBytes` is its old
   * name), `maxStringBytes`, `maxContainerElements`, `maxDepth`. See `codec/decode-limits.ts`.
   */
  limits: Object.freeze({
    maxMessageBytes: service.maxMessageBytes.default,
    maxStringBytes: service.maxStringBytes.default,
    maxContainerElements: service.maxContainerElements.default,
    maxDepth: service.maxDepth.default,
  }) as Readonly<DecodeLimits>,
  /** i64 values reach handlers as node-int64 `Int64` objects (`'bigint'`: as bigint). */
  i64: service.i64.default as I64Mode,
  /** `getCallContext()` off: AsyncLocalStorage costs about a microsecond per call. */
  callContext: service.callContext.default,
  /** Close a connection with nothing in flight after this long without a byte. 0 = never. */
  idleTimeoutMs: service.idleTimeoutMs.default,
  /** Recycle a worker after this many requests. 0 = never. */
  maxRequests: service.maxRequests.default,
  /** Longest wait in a worker before a call starts; longer waits are shed. 0 = no limit. */
  maxQueueMs: service.maxQueueMs.default,
  /** Most calls a worker runs at once. */
  maxConcurrentCalls: service.maxConcurrentCalls.default,
  /** Shed calls while the worker's event loop is this far behind. 0 = off. */
  maxEventLoopDelayMs: service.maxEventLoopDelayMs.default,
  /** Recycle a worker whose RSS exceeds this. 0 = never. */
  maxMemoryMB: service.maxMemoryMB.default,
  /** How long stop/reload wait for in-flight calls before forcing. */
  gracefulTimeoutMs: top.gracefulTimeoutMs.default,
  pidFile: top.pidFile.default,
  logDir: top.logDir.default,
  genDir: top.genDir.default,
  logLevel: top.logLevel.default,
  /** `stats.admin.allowRemote`: admin requests are answered for loopback peers only. */
  adminAllowRemote: top.stats.properties.admin.properties.allowRemote.default,
  /** Extra Node.js flags for worker processes, after those of `semiSpaceMiB` and `maglev`. */
  nodeArgs: service.nodeArgs.default as readonly string[],
  /**
   * Off: huge pages make large messages cheaper (see src/master/worker-env.ts) but raise the RSS of a
   * worker that holds many buffered replies (chaos scenario 6b: +129-168 MB instead of +96-109).
   */
  hugePages: service.hugePages.default,
  /**
   * 2 MiB: under small-call load a worker's young generation grew to about 7.5 MiB, and Node 24
   * lets it grow to 64 MiB; a 2 MiB semi-space holds it at 4 (docs/bench.md, "Worker memory").
   */
  semiSpaceMiB: service.semiSpaceMiB.default,
  /** Off: on Node 24, Maglev's compilations leave a worker about 7 MiB larger under load. */
  maglev: service.maglev.default,
  /**
   * Conventional handler location, relative to the config file's folder, without its extension:
   * the first of `.ts`, `.mts`, `.cts`, `.js`, `.mjs`, `.cjs` that exists (`findHandlerFile`).
   */
  handler: (name: string): string => `services/${name}/handler`,
  /** `logRotate.daily`, `.maxBytes` (0 = no size limit), `.keep` (rotated files kept). */
  logRotateDaily: top.logRotate.properties.daily.default,
  logRotateMaxBytes: top.logRotate.properties.maxBytes.default,
  logRotateKeep: top.logRotate.properties.keep.default,
  /** `registry.prefix`: etcd key prefix of service instances. */
  registryPrefix: registry.prefix.default,
  /** `registry.ttlSeconds`: lease TTL; a killed host's keys vanish this long after its last renewal. */
  registryTtlSeconds: registry.ttlSeconds.default,
  /** `registry.hostId`: this machine's host name. */
  registryHostId: (): string => os.hostname(),
  /** `registry.weight` of every instance. */
  registryWeight: registry.weight.default,
  /** `registry.deregisterDelayMs`: wait after deregistering before draining, so callers move away first. */
  registryDeregisterDelayMs: registry.deregisterDelayMs.default,
  /** `registry.requestTimeoutMs`: bound of one request to etcd. */
  registryRequestTimeoutMs: registry.requestTimeoutMs.default,
} as const;

/** Shortest admin token accepted (`stats.admin.token`): guessing it must not be practical. */
export const ADMIN_TOKEN_MIN_CHARS: number = top.stats.properties.admin.properties.token.minLength;
