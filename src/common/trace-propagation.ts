/**
 * W3C trace context across a call, when the application uses OpenTelemetry: if
 * `@opentelemetry/api` can be loaded (an optional peer dependency), ThriftClient injects the
 * active context (`traceparent`, `tracestate`) into the headers of THeader calls, and the host
 * runs the handler in the context extracted from them, so one trace spans caller and host.
 * Without the package, or without a propagator registered by an OpenTelemetry SDK, nothing is
 * added and nothing is extracted.
 *
 * Loading the package takes 20–50 ms of one thread, so it is never loaded on a call that does not
 * need it: the host loads it on the first call that carries `traceparent`, ThriftClient when a
 * THeader service client is built ({@link loadTraceContext}). Loaded on the first THeader call of
 * each worker, it stalled both workers of a host at once and the calls behind them (chaos
 * scenario 10: calls shed at 0.8× capacity while a new client started).
 */
import { createRequire } from 'node:module';

type Carrier = Map<string, string>;
interface OtelApi {
  context: { active(): unknown; with<T>(ctx: unknown, fn: () => T): T };
  propagation: {
    inject(ctx: unknown, carrier: Carrier, setter: { set(c: Carrier, k: string, v: string): void }): void;
    extract(ctx: unknown, carrier: Carrier, getter: { get(c: Carrier, k: string): string | undefined; keys(c: Carrier): string[] }): unknown;
  };
}

let api: OtelApi | null | undefined;

/** The OpenTelemetry API when it is installed, else null (looked up once). */
function otel(): OtelApi | null {
  if (api === undefined) {
    try {
      api = createRequire(__filename)('@opentelemetry/api') as OtelApi;
    } catch {
      api = null;
    }
  }
  return api;
}

const setter = { set: (c: Carrier, k: string, v: string) => void c.set(k, v) };
const getter = { get: (c: Carrier, k: string) => c.get(k), keys: (c: Carrier) => [...c.keys()] };

/**
 * Loads the OpenTelemetry API now if it is installed (once per process), so that the first call
 * does not pay for it; true when it is there.
 */
export function loadTraceContext(): boolean {
  return otel() !== null;
}

/** Adds the active trace context to `headers` (THeader calls). */
export function injectTraceContext(headers: Map<string, string>): void {
  const o = otel();
  if (o) o.propagation.inject(o.context.active(), headers, setter);
}

/** Runs `fn` in the trace context the caller's headers carry, if any. */
export function withTraceContext<T>(headers: ReadonlyMap<string, string>, fn: () => T): T {
  if (!headers.has('traceparent')) return fn();
  const o = otel();
  if (!o) return fn();
  return o.context.with(o.propagation.extract(o.context.active(), headers as Carrier, getter), fn);
}
