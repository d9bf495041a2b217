/**
 * The fleet in Prometheus' HTTP service-discovery format (`http_sd_configs`): one target group
 * per registered host, its statistics listener as the target, so a single scrape configuration
 * follows hosts as they register and vanish.
 * Format: https://prometheus.io/docs/prometheus/latest/http_sd/
 */
import type { HostRecord } from '../common/registry-record.js';

/** One target group of the http_sd answer. */
export interface PrometheusTargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

/**
 * Renders registered hosts as http_sd target groups, sorted by address (a stable answer).
 * @example
 * renderPrometheusSd([{ hostId: 'web-1', stats: '10.0.0.5:55757', services: ['HelloWorld'] }])
 * // [{ targets: ['10.0.0.5:55757'], labels: { __meta_thrifthost_host_id: 'web-1', ... } }]
 */
export function renderPrometheusSd(hosts: readonly HostRecord[]): PrometheusTargetGroup[] {
  return [...hosts]
    .sort((a, b) => (a.stats < b.stats ? -1 : a.stats > b.stats ? 1 : 0))
    .map((h) => ({
      targets: [h.stats],
      labels: {
        __meta_thrifthost_host_id: h.hostId,
        // Comma-wrapped so a relabel regex can match one service: `.*,HelloWorld,.*`.
        __meta_thrifthost_services: `,${h.services.join(',')},`,
      },
    }));
}
