/**
 * The datagram format of client call reports, shared by the sender (`clients/stats-reporter.ts`)
 * and the host's receiver (`src/monitoring/stats-udp.ts`).
 *
 * One datagram is one JSON object: `{"v":1,"e":[[service, method, address, code, [ms, ...]], ...]}`.
 * Each entry groups the calls of one tick that share service, method, address and outcome;
 * `code` is `""` for a success, else the client's error code or declared exception name; the
 * last element lists the latencies in milliseconds (two decimals). JSON keeps the format
 * readable with `tcpdump -A` and needs no schema on either side.
 */

/** Format version carried in `v`. */
export const STATS_WIRE_VERSION = 1;

/** Largest datagram the sender writes: fits one Ethernet frame, so it is never fragmented. */
export const MAX_REPORT_DATAGRAM_BYTES = 1400;

/** Limits the receiver enforces before trusting anything in a datagram. */
export const WIRE_LIMITS = {
  /** Bigger datagrams are not parsed at all. */
  datagramBytes: 65_507,
  entries: 512,
  latenciesPerEntry: 8192,
  labelChars: 128,
  /** One hour: anything longer is not a latency. */
  latencyMs: 3_600_000,
} as const;

/** The calls of one tick that share service, method, address and outcome. */
export interface ReportEntry {
  service: string;
  method: string;
  /** `host:port` of the last attempt, `""` when none could be picked. */
  address: string;
  /** `""` for success. */
  code: string;
  latenciesMs: number[];
}

/**
 * Encodes entries into as many datagrams as needed, each at most `maxBytes` long. An entry
 * whose latencies do not fit is split over several datagrams.
 */
export function encodeReports(
  entries: readonly ReportEntry[],
  maxBytes = MAX_REPORT_DATAGRAM_BYTES,
): Buffer[] {
  const out: Buffer[] = [];
  const head = `{"v":${STATS_WIRE_VERSION},"e":[`;
  const empty = maxBytes - head.length - 2; // room in a datagram with no entry yet
  let body = '';
  let bodyBytes = 0;
  const flush = () => {
    if (body !== '') out.push(Buffer.from(`${head}${body}]}`));
    body = '';
    bodyBytes = 0;
  };
  const room = () => empty - bodyBytes - (body === '' ? 0 : 1);
  for (const e of entries) {
    const prefix = `[${JSON.stringify(e.service)},${JSON.stringify(e.method)},${JSON.stringify(e.address)},${JSON.stringify(e.code)},[`;
    const prefixBytes = Buffer.byteLength(prefix);
    // Room for the labels, "]]" and one number of at most 16 characters.
    const least = prefixBytes + 2 + 16;
    if (least > empty) continue; // labels alone exceed a datagram: not reportable
    let i = 0;
    while (i < e.latenciesMs.length) {
      if (least > room()) flush();
      const budget = room() - prefixBytes - 2;
      let numbers = '';
      for (; i < e.latenciesMs.length; i++) {
        const n = String(Math.round(e.latenciesMs[i]! * 100) / 100);
        if (numbers.length + n.length + 1 > budget) break;
        numbers = numbers === '' ? n : `${numbers},${n}`;
      }
      const piece = `${prefix}${numbers}]]`;
      body = body === '' ? piece : `${body},${piece}`;
      bodyBytes = Buffer.byteLength(body);
      if (i < e.latenciesMs.length) flush();
    }
  }
  flush();
  return out;
}

/**
 * Decodes and checks one datagram. Returns the entries, or a short reason why the datagram is
 * rejected (nothing in it is used then).
 */
export function decodeReports(datagram: Buffer): ReportEntry[] | string {
  if (datagram.length > WIRE_LIMITS.datagramBytes) return 'too large';
  let raw: unknown;
  try {
    raw = JSON.parse(datagram.toString('utf8'));
  } catch {
    return 'not JSON';
  }
  if (typeof raw !== 'object' || raw === null) return 'not an object';
  const { v, e } = raw as { v?: unknown; e?: unknown };
  if (v !== STATS_WIRE_VERSION) return `unknown version ${String(v).slice(0, 16)}`;
  if (!Array.isArray(e) || e.length > WIRE_LIMITS.entries) return 'bad entry list';
  const entries: ReportEntry[] = [];
  for (const item of e) {
    if (!Array.isArray(item) || item.length !== 5) return 'bad entry';
    const [service, method, address, code, latencies] = item as unknown[];
    if (!isLabel(service, NAME) || !isLabel(method, NAME)) return 'bad service or method';
    if (!isLabel(address, ADDRESS) || !isLabel(code, CODE)) return 'bad address or code';
    if (!Array.isArray(latencies) || latencies.length > WIRE_LIMITS.latenciesPerEntry) return 'bad latencies';
    for (const ms of latencies) {
      if (typeof ms !== 'number' || !(ms >= 0 && ms <= WIRE_LIMITS.latencyMs)) return 'bad latency';
    }
    entries.push({ service, method, address, code, latenciesMs: latencies as number[] });
  }
  return entries;
}

// --- internal ---

/** Thrift identifiers, plus the `<unknown>`-style names the host uses. */
const NAME = /^[A-Za-z_<][\w.<>-]*$/;
/** host:port, IPv6 in brackets, or empty. */
const ADDRESS = /^[\w.:[\]-]*$/;
/** Error codes (`ERR_CALL_TIMEOUT`), exception names, `TApplicationException:<type>`; empty = success. */
const CODE = /^[\w.:-]*$/;

function isLabel(value: unknown, pattern: RegExp): value is string {
  return typeof value === 'string' && value.length <= WIRE_LIMITS.labelChars && pattern.test(value);
}
