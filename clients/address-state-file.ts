/**
 * The evicted-address list shared by every client process on the host, as a small JSON file in
 * the OS temp dir (the original used SysV shared memory). The file name carries a hash of the
 * service's address config, so a changed config starts clean. Writes are atomic (temp file +
 * rename); reads are cheap (one `stat`, re-parsed only when the file changed); a corrupt or
 * foreign file is reset, never fatal, and an unwritable folder just leaves the state local.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { EvictionEntry } from './address-policy.js';

/** On-disk shape. */
interface StateFileContent {
  v: 1;
  hash: string;
  evicted: Record<string, EvictionEntry>;
}

/** Hash of what identifies an address config: the service and its set of addresses. */
export function addressConfigHash(service: string, addresses: readonly string[]): string {
  return createHash('sha256')
    .update(JSON.stringify([service, [...addresses].sort()]))
    .digest('hex')
    .slice(0, 16);
}

/** One service's shared state file. */
export class AddressStateFile {
  /** Absolute path of the file. */
  readonly file: string;
  private seen: string | undefined;
  private cached = new Map<string, EvictionEntry>();
  /** The last write failed: the state lives in this process until a write succeeds. */
  private localOnly = false;

  constructor(
    dir: string,
    service: string,
    readonly hash: string,
  ) {
    const safe = service.replace(/[^\w.-]/g, '_');
    this.file = path.join(dir, `thrifthost-client-${safe}-${hash}.json`);
  }

  /** The current shared state: re-read only when the file changed since the last look. */
  read(): Map<string, EvictionEntry> {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(this.file);
    } catch {
      if (this.localOnly) return this.cached;
      this.seen = undefined;
      this.cached = new Map();
      return this.cached;
    }
    const id = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
    if (id === this.seen) return this.cached;
    this.seen = id;
    this.cached = this.parse(fs.readFileSync(this.file, 'utf8'));
    return this.cached;
  }

  /** Replaces the shared state atomically. Failures leave the file as it was. */
  write(evicted: ReadonlyMap<string, EvictionEntry>): void {
    const content: StateFileContent = { v: 1, hash: this.hash, evicted: Object.fromEntries(evicted) };
    const tmp = `${this.file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      fs.writeFileSync(tmp, JSON.stringify(content));
      fs.renameSync(tmp, this.file);
      this.localOnly = false;
      this.cached = new Map(evicted);
      const stat = fs.statSync(this.file);
      this.seen = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
    } catch {
      this.localOnly = true;
      this.cached = new Map(evicted);
      fs.rmSync(tmp, { force: true });
    }
  }

  // --- internal ---

  /** Parses the file; anything unexpected is treated as corrupt and reset to empty. */
  private parse(text: string): Map<string, EvictionEntry> {
    try {
      const data = JSON.parse(text) as Partial<StateFileContent>;
      if (data?.v !== 1 || data.hash !== this.hash || typeof data.evicted !== 'object' || !data.evicted) {
        throw new Error('unexpected shape');
      }
      const out = new Map<string, EvictionEntry>();
      for (const [address, e] of Object.entries(data.evicted)) {
        if (
          ![e?.evictedAt, e?.attempts, e?.retryAt].every((n) => typeof n === 'number' && Number.isFinite(n))
        ) {
          throw new Error(`bad entry for ${address}`);
        }
        out.set(address, { evictedAt: e.evictedAt, attempts: e.attempts, retryAt: e.retryAt });
      }
      return out;
    } catch {
      this.write(new Map());
      return new Map();
    }
  }
}
