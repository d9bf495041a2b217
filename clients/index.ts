/**
 * The client-only entry (`thrifthost/client`): everything a caller needs to reach thrifthost
 * services, and nothing of the host's server code.
 */
import '../src/codec/int64-inspect.js';

export {
  AddressManager,
  type AddressManagerOptions,
  type AddressStatus,
  type AttemptHealth,
  type BreakerState,
} from './address-manager.js';
export type { AddressLoadStatus } from './address-load.js';
export {
  type Balancer,
  type EvictionEntry,
  type Pick,
  type PickInput,
  type PickReason,
  pickAddress,
  pickTwo,
} from './address-policy.js';
export { type ClientCallContext, type ClientInterceptor, withHeaders } from './call-headers.js';
export { DEADLINE_HEADER } from '../src/common/theader-keys.js';
export { type BackoffPolicy, backoffBoundMs, backoffDelayMs } from '../src/common/backoff.js';
export type { AttemptReport, CallObserver, CallReport } from './call-report.js';
export {
  type BackupAfter,
  type BackupPercentile,
  CLIENT_DEFAULTS,
  type ClientConfig,
  type RetryBudgetConfig,
  type RegistryClientOptions,
  type ResolvedRegistryOptions,
  type ResolvedServiceOptions,
  type ServiceClientOptions,
} from './client-options.js';
export { validateClientConfig } from './client-config.js';
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
export type { FailoverCounters } from './failover-call.js';
export type { DiscoveryLog, DiscoveryState, DiscoveryStatus } from './registry-discovery.js';
export type { RetryBudgetStatus } from './retry-budget.js';
export type { ClientStatus } from './service-client.js';
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
