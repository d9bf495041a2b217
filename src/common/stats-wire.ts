/**
 * The datagram format of client call reports, shared by the sender (`clients/stats-reporter.ts`)
 * and the host's receiver (`src/monitoring/stats-udp.ts`).
 *
 * One datagram is one JSON object: `{"v":1,"e":[[service, method, address, code, [ms, ...]], ...]}`.
 * Each entry groups the calls of one tick that share service, method, address and outcome;
 * `code` is `""` for a success, else the client's error code or declared exception name; the
 * last element lists the latencies in milliseconds (two decimals). JSON keeps the format
 * readable with `tcpdump -A` and needs no schema on either side.
 *
 * Two optional keys carry what failover did (added in version 1 without a version change: a
 * receiver that predates them reads `v` and `e` only, and ignores them):
 * - `"t":[[service, method, address, code, count], ...]`: the attempts of those calls other than
 *   the one whose outcome the call took (failed attempts that were retried, `CANCELLED` losers
 *   of backup requests), by address and outcome;
 * - `"x":[[service, method, retries, budgetExhausted, backupsSent, backupsWon], ...]`: per method,
 *   retries made, calls whose retry or backup the retry budget refused, backup requests sent and won.
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
  /** Largest count in an attempt or failover row. */
  count: 1_000_000,
} as const;

/** The calls of one tick that share service, method, address and outcome. */
export interface ReportEntry {
  service: string;
  method: string;
  /** `host:port` of the attempt whose outcome the call took, `""` when none could be picked. */
  address: string;
  /** `""` for success. */
  code: string;
  latenciesMs: number[];
}

/** The other attempts of the reported calls (`"t"`), by address and outcome. */
export interface AttemptEntry {
  service: string;
  method: string;
  address: string;
  /** The attempt's error code, `CANCELLED` for a backup-request loser. */
  code: string;
  count: number;
}

/** What failover did for the reported calls of one method (`"x"`). */
export interface FailoverEntry {
  service: string;
  method: string;
  retries: number;
  /** Calls whose retry or backup request the retry budget refused. */
  budgetExhausted: number;
  backupsSent: number;
  backupsWon: number;
}

/** Everything one datagram (or a batch of them) carries. */
export interface ReportBatch {
  entries: ReportEntry[];
  attempts: AttemptEntry[];
  failover: FailoverEntry[];
}

/**
 * Encodes entries (and, optionally, attempts and failover rows) into as many datagrams as
 * needed, each at most `maxBytes` long. An entry whose latencies do not fit is split over
 * several datagrams.
 */
export function encodeReports(
  entries: readonly ReportEntry[],
  maxBytes = MAX_REPORT_DATAGRAM_BYTES,
  extra: { attempts?: readonly AttemptEntry[]; failover?: readonly FailoverEntry[] } = {},
): Buffer[] {
  const packer = new Packer(maxBytes);
  for (const e of entries) {
    const prefix = `[${JSON.stringify(e.service)},${JSON.stringify(e.method)},${JSON.stringify(e.address)},${JSON.stringify(e.code)},[`;
    const prefixBytes = Buffer.byteLength(prefix);
    // Room for the labels, "]]" and one number of at most 16 characters.
    const least = prefixBytes + 2 + 16;
    if (least > packer.emptyRoom('e')) continue; // labels alone exceed a datagram: not reportable
    let i = 0;
    while (i < e.latenciesMs.length) {
      if (least > packer.room('e')) packer.flush();
      const budget = packer.room('e') - prefixBytes - 2;
      let numbers = '';
      for (; i < e.latenciesMs.length; i++) {
        const n = String(Math.round(e.latenciesMs[i]! * 100) / 100);
        if (numbers.length + n.length + 1 > budget) break;
        numbers = numbers === '' ? n : `${numbers},${n}`;
      }
      packer.add('e', `${prefix}${numbers}]]`);
      if (i < e.latenciesMs.length) packer.flush();
    }
  }
  for (const a of extra.attempts ?? []) {
    packer.addWhole('t', JSON.stringify([a.service, a.method, a.address, a.code, a.count]));
  }
  for (const f of extra.failover ?? []) {
    packer.addWhole('x', JSON.stringify([f.service, f.method, f.retries, f.budgetExhausted, f.backupsSent, f.backupsWon]));
  }
  return packer.done();
}

/**
 * Decodes and checks one datagram. Returns the entries, or a short reason why the datagram is
 * rejected (nothing in it is used then).
 */
export function decodeReports(datagram: Buffer): ReportEntry[] | string {
  const batch = decodeReportBatch(datagram);
  return typeof batch === 'string' ? batch : batch.entries;
}

/** {@link decodeReports} with the attempts and failover rows too. */
export function decodeReportBatch(datagram: Buffer): ReportBatch | string {
  if (datagram.length > WIRE_LIMITS.datagramBytes) return 'too large';
  let raw: unknown;
  try {
    raw = JSON.parse(datagram.toString('utf8'));
  } catch {
    return 'not JSON';
  }
  if (typeof raw !== 'object' || raw === null) return 'not an object';
  const { v, e, t, x } = raw as { v?: unknown; e?: unknown; t?: unknown; x?: unknown };
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
  const attempts: AttemptEntry[] = [];
  if (t !== undefined) {
    if (!Array.isArray(t) || t.length > WIRE_LIMITS.entries) return 'bad attempt list';
    for (const item of t) {
      if (!Array.isArray(item) || item.length !== 5) return 'bad attempt';
      const [service, method, address, code, count] = item as unknown[];
      if (!isLabel(service, NAME) || !isLabel(method, NAME)) return 'bad service or method';
      if (!isLabel(address, ADDRESS) || !isLabel(code, CODE) || !isCount(count)) return 'bad attempt';
      attempts.push({ service, method, address, code, count });
    }
  }
  const failover: FailoverEntry[] = [];
  if (x !== undefined) {
    if (!Array.isArray(x) || x.length > WIRE_LIMITS.entries) return 'bad failover list';
    for (const item of x) {
      if (!Array.isArray(item) || item.length !== 6) return 'bad failover row';
      const [service, method, retries, budgetExhausted, backupsSent, backupsWon] = item as unknown[];
      if (!isLabel(service, NAME) || !isLabel(method, NAME)) return 'bad service or method';
      if (!isCount(retries) || !isCount(budgetExhausted) || !isCount(backupsSent) || !isCount(backupsWon)) {
        return 'bad failover row';
      }
      failover.push({ service, method, retries, budgetExhausted, backupsSent, backupsWon });
    }
  }
  return { entries, attempts, failover };
}

// --- internal ---

/** Thrift identifiers, plus the `<unknown>`-style names the host uses. */
const NAME = /^[A-Za-z_<][\w.<>-]*$/;
/** host:port, IPv6 in brackets, or empty. */
const ADDRESS = /^[\w.:[\]-]*$/;
/** Error codes (`ERR_CALL_TIMEOUT`), exception names, `TApplicationException:<type>`; empty = success. */
const CODE = /^[\w.:-]*$/;

function isCount(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= WIRE_LIMITS.count;
}

type Section = 'e' | 't' | 'x';

/** Fills datagrams of at most `maxBytes` with the pieces of the three lists, in order. */
class Packer {
  private readonly out: Buffer[] = [];
  private readonly lists: Record<Section, string[]> = { e: [], t: [], x: [] };
  private bytes = BASE_BYTES;

  constructor(private readonly maxBytes: number) {}

  /** Bytes a piece may take in `section` of an empty datagram. */
  emptyRoom(section: Section): number {
    return this.maxBytes - BASE_BYTES - (section === 'e' ? 0 : SECTION_BYTES);
  }

  /** Bytes a piece may take in `section` of the current datagram. */
  room(section: Section): number {
    const list = this.lists[section];
    const overhead = list.length > 0 ? 1 : section === 'e' ? 0 : SECTION_BYTES;
    return this.maxBytes - this.bytes - overhead;
  }

  add(section: Section, piece: string): void {
    const list = this.lists[section];
    this.bytes += Buffer.byteLength(piece) + (list.length > 0 ? 1 : section === 'e' ? 0 : SECTION_BYTES);
    list.push(piece);
  }

  /** Adds a piece that cannot be split: in this datagram if it fits, else in the next; dropped if it fits none. */
  addWhole(section: Section, piece: string): void {
    const size = Buffer.byteLength(piece);
    if (size > this.emptyRoom(section)) return;
    if (size > this.room(section)) this.flush();
    this.add(section, piece);
  }

  flush(): void {
    const { e, t, x } = this.lists;
    if (e.length + t.length + x.length === 0) return;
    let json = `{"v":${STATS_WIRE_VERSION},"e":[${e.join(',')}]`;
    if (t.length > 0) json += `,"t":[${t.join(',')}]`;
    if (x.length > 0) json += `,"x":[${x.join(',')}]`;
    this.out.push(Buffer.from(`${json}}`));
    this.lists.e = [];
    this.lists.t = [];
    this.lists.x = [];
    this.bytes = BASE_BYTES;
  }

  done(): Buffer[] {
    this.flush();
    return this.out;
  }
}

/** `{"v":1,"e":[]}` */
const BASE_BYTES = `{"v":${STATS_WIRE_VERSION},"e":[]}`.length;
/** `,"t":[]` */
const SECTION_BYTES = 7;

function isLabel(value: unknown, pattern: RegExp): value is string {
  return typeof value === 'string' && value.length <= WIRE_LIMITS.labelChars && pattern.test(value);
}
