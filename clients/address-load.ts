/**
 * How loaded each address of a service looks from this client: calls in flight, a Peak EWMA
 * latency estimate, the load the host last reported in a THeader reply (`load`), and a slow
 * start for addresses that just entered or came back. {@link AddressLoad.cost} turns that into
 * the number the least-loaded choice compares (Finagle's P2C cost: latency × (in flight + 1));
 * {@link AddressLoad.weight} is how likely the address is to be drawn at all (slow start).
 *
 * Pure: times are passed in; no timers.
 */
import { PeakEwma } from './peak-ewma.js';


/** Tuning of an {@link AddressLoad}. */
export interface AddressLoadOptions {
  /** Time constant of the latency estimate's decay while an address gets no call. */
  decayMs: number;
  /** Ramp of a new or recovered address from a tenth of a share to a full one; 0 = none. */
  slowStartMs: number;
}

/** What the least-loaded choice knows of one address, for inspection. */
export interface AddressLoadStatus {
  /** Attempts of this client waiting on it. */
  inFlight: number;
  /** The latency estimate in ms; undefined before the first sample. */
  latencyMs: number | undefined;
  /** What the host last reported in its `load` reply header (calls running and queued), while fresh. */
  reportedLoad: number | undefined;
  /** How likely it is to be drawn, relative to a warm address, while in slow start: (0, 1]; 1 once warm. */
  weight: number;
}

/** The load figures of a service's addresses. */
export class AddressLoad {
  private readonly state = new Map<string, LoadState>();
  /** Addresses whose slow start may not be over yet. */
  private readonly warming = new Set<string>();

  constructor(private readonly options: AddressLoadOptions) {}

  /** An attempt on `address` starts. */
  start(address: string, now: number): void {
    this.of(address, now).pending++;
  }

  /**
   * An attempt on `address` ended after `rttMs`: `sample` when it measured the host (an
   * answer), `at-least` when the host took at least that long (timed out, cancelled), `none`
   * when it says nothing of the host's speed (never written, shed, failed at once).
   */
  end(address: string, rttMs: number, now: number, kind: 'sample' | 'at-least' | 'none'): void {
    const s = this.of(address, now);
    if (s.pending > 0) s.pending--;
    if (kind === 'sample') s.ewma.observe(rttMs, now);
    else if (kind === 'at-least') s.ewma.observeAtLeast(rttMs, now);
  }

  /**
   * The host said it is full (it shed a call): its estimate doubles, so that the next picks
   * prefer others until it decays, instead of a fast "no" making it look cheap.
   */
  penalize(address: string, now: number): void {
    const s = this.of(address, now);
    s.ewma.observeAtLeast(Math.max(2 * s.ewma.get(now), MIN_PENALTY_MS), now);
  }

  /** The host of `address` reported `load` calls running and waiting (THeader reply key `load`). */
  reported(address: string, load: number, now: number): void {
    const s = this.of(address, now);
    s.reportedLoad = load;
    s.reportedAt = now;
  }

  /** `address` entered or came back: its share ramps up over `slowStartMs` from `now`. */
  warmUp(address: string, now: number): void {
    if (this.options.slowStartMs <= 0) return;
    this.of(address, now).warmFrom = now;
    this.warming.add(address);
  }

  /** True while some address is in slow start (else every weight is 1, and picking skips them). */
  anyWarming(now: number): boolean {
    for (const a of this.warming) {
      const s = this.state.get(a);
      if (!s || this.weightOf(s, now) === 1) this.warming.delete(a);
    }
    return this.warming.size > 0;
  }

  /** Drops what is known of an address that left. */
  forget(address: string): void {
    this.state.delete(address);
    this.warming.delete(address);
  }

  /**
   * The cost of sending one more call to `address`: latency × (calls in flight + 1). An address
   * never measured costs nothing while idle (so it gets a call that measures it) and a
   * prohibitive amount while that call is out.
   */
  cost(address: string, now: number): number {
    const s = this.state.get(address);
    if (!s) return 0;
    const fresh = s.reportedAt !== undefined && now - s.reportedAt <= REPORT_TTL_MS;
    const load = fresh && s.reportedLoad! > s.pending ? s.reportedLoad! : s.pending;
    if (s.ewma.samples === 0) return load === 0 ? 0 : UNMEASURED_PENALTY + load;
    return s.ewma.get(now) * (load + 1);
  }

  /**
   * How likely `address` is to be drawn, relative to a warm one: a tenth at the start of its slow
   * start, rising linearly to 1 over `slowStartMs`. Slow start thins the draws rather than
   * inflating the cost: an inflated cost would hand the warming address's calls to whichever
   * address it was drawn against, a slow or failing one included.
   */
  weight(address: string, now: number): number {
    const s = this.state.get(address);
    return s ? this.weightOf(s, now) : 1;
  }

  status(address: string, now: number): AddressLoadStatus {
    const s = this.of(address, now);
    const fresh = s.reportedAt !== undefined && now - s.reportedAt <= REPORT_TTL_MS;
    return {
      inFlight: s.pending,
      latencyMs: s.ewma.samples === 0 ? undefined : s.ewma.get(now),
      reportedLoad: fresh ? s.reportedLoad : undefined,
      weight: this.weightOf(s, now),
    };
  }

  // --- internal ---

  private of(address: string, now: number): LoadState {
    let s = this.state.get(address);
    if (!s) {
      s = { pending: 0, ewma: new PeakEwma(this.options.decayMs, now), warmFrom: undefined, reportedLoad: undefined, reportedAt: undefined };
      this.state.set(address, s);
    }
    return s;
  }

  /** Linear from {@link MIN_WEIGHT} to 1 over `slowStartMs` (Envoy's slow start, aggression 1). */
  private weightOf(s: LoadState, now: number): number {
    const { slowStartMs } = this.options;
    if (s.warmFrom === undefined || slowStartMs <= 0) return 1;
    const progress = (now - s.warmFrom) / slowStartMs;
    if (progress >= 1) {
      s.warmFrom = undefined;
      return 1;
    }
    return MIN_WEIGHT + (1 - MIN_WEIGHT) * Math.max(0, progress);
  }
}

// --- internal ---

interface LoadState {
  pending: number;
  ewma: PeakEwma;
  warmFrom: number | undefined;
  reportedLoad: number | undefined;
  reportedAt: number | undefined;
}

/** Share of a call an address gets at the start of its slow start. */
const MIN_WEIGHT = 0.1;
/** A host's reported load counts this long after the reply that carried it. */
const REPORT_TTL_MS = 1_000;
/** Cost of an address never measured while a call to it is out (Finagle's Penalty). */
const UNMEASURED_PENALTY = 1e12;
/** A shed call raises an unmeasured or near-zero estimate to at least this. */
const MIN_PENALTY_MS = 1;
