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
} from './call-context.js';
export { type DecodeLimits, DEFAULT_DECODE_LIMITS, type I64Mode, ProtocolViolation } from './common/decode-limits.js';
export { type HostPort, parseAddress } from './common/address.js';
export { GeneratedCodeError } from './common/errors.js';
export {
  ConfigError,
  DEFAULTS,
  type HostConfig,
  loadHostConfig,
  type ServiceConfig,
  validateHostConfig,
} from './config.js';
export { createLogger, type Logger } from './logger.js';
export { type Master, type MasterOptions, startMaster } from './master.js';
export { HandlerLoadError } from './service-loader.js';
export { type HostStatus, Supervisor, type SupervisorOptions } from './supervisor.js';
export { ThriftServer } from './thrift-worker.js';
