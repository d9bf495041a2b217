/**
 * The client-only entry (`thrifthost/client`): everything a caller needs to reach thrifthost
 * services, and nothing of the host's server code.
 */
import '../src/codec/int64-inspect.js';

export { AddressManager, type AddressManagerOptions } from './address-manager.js';
export {
  type EvictionEntry,
  type Pick,
  type PickInput,
  type PickReason,
  pickAddress,
} from './address-policy.js';
export { type ClientCallContext, type ClientInterceptor, withHeaders } from './call-headers.js';
export { DEADLINE_HEADER } from './call-deadline.js';
export { type BackoffPolicy, backoffBoundMs, backoffDelayMs } from '../src/common/backoff.js';
export type { CallObserver, CallReport } from './call-report.js';
export {
  CLIENT_DEFAULTS,
  type ClientConfig,
  type RegistryClientOptions,
  type ResolvedRegistryOptions,
  type ResolvedServiceOptions,
  type ServiceClientOptions,
  validateClientConfig,
} from './client-options.js';
export type {
  ArecvMethods,
  AsendMethods,
  ServiceMethods,
  ServiceProxy,
  ThriftServiceMap,
  UntypedServiceProxy,
} from './client-types.js';
export {
  ArecvWithoutAsendError,
  AsendDuplicateError,
  type CallTarget,
  CallTimeoutError,
  CallTransportError,
  ClientClosedError,
  ClientConfigError,
  ConnectFailedError,
  ConnectionClosedError,
  NoAvailableAddressError,
  PoolAcquireTimeoutError,
  RegistryUnavailableError,
  ReplyDecodeError,
  ServerOverloadedError,
  ThriftHostError,
  UnknownMethodError,
  UnknownServiceError,
} from './errors.js';
export {
  DeclaredException,
  GenericClient,
  type GenericClientOptions,
  InvalidValueError,
  isDeclaredException,
} from './generic-client.js';
export type { DiscoveryLog, DiscoveryState, DiscoveryStatus } from './registry-discovery.js';
export {
  createStatsReporter,
  type ReportedCall,
  type StatsReporter,
  type StatsReporterOptions,
} from './stats-reporter.js';
export {
  type ClientRuntimeOptions,
  type MultiCalls,
  type MultiResult,
  type ServicesConfig,
  ThriftClient,
} from './thrift-client.js';
