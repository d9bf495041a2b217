/**
 * The package entry (`thrifthost`): the host's programmatic API and the whole client library.
 * The client alone, without any server code, is `thrifthost/client`.
 *
 * @example
 * import { ThriftClient } from 'thrifthost';
 * ThriftClient.config({ HelloWorld: { addresses: ['127.0.0.1:9090'] } });
 * const hello = ThriftClient.instance<import('./gen/HelloWorld/HelloWorld.js').Client>('HelloWorld');
 * console.log(await hello.sayHello('TOM'));
 */
export * from '../clients/index.js';
export {
  type CallContext,
  getCallContext,
  NoCallContextError,
  type ServerInterceptor,
} from './worker/call-context.js';
export { type DecodeLimits, DEFAULT_DECODE_LIMITS, type I64Mode, ProtocolViolation } from './codec/decode-limits.js';
export { type HostPort, parseAddress } from './common/address.js';
export { GeneratedCodeError } from './common/errors.js';
export {
  ConfigError,
  DEFAULTS,
  type HostConfig,
  loadHostConfig,
  type ServiceConfig,
  validateHostConfig,
} from './config/config.js';
export { defineHandler } from './worker/define-handler.js';
export {
  type CounterOptions,
  Counter,
  DEFAULT_HISTOGRAM_BUCKETS,
  type HistogramOptions,
  Histogram,
  type LabelValues,
  MetricsError,
  MetricsRegistry,
  metrics,
} from './monitoring/custom-metrics.js';
export { createLogger, type Logger } from './host/logger.js';
export { type Master, type MasterOptions, startMaster } from './master/master.js';
export { HandlerLoadError } from './worker/service-loader.js';
export { type HostStatus, Supervisor, type SupervisorOptions } from './master/supervisor.js';
export { createTestServer, type TestServer, type TestServerOptions } from './worker/test-server.js';
export { ThriftServer } from './worker/thrift-worker.js';
