/**
 * Time and randomness, injected. Engine code never calls `Date.now()` or `Math.random()` directly:
 * it takes a `Clock` and a `Rand` so simulations and randomized tests replay from a seed.
 */

/** A source of time. */
export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch. */
  nowMs(): number;
  /** Monotonic milliseconds (fractional) for measuring durations. */
  monotonicMs(): number;
}

/** The real clock. */
export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
};

/** A clock that only moves when told to; for tests and simulation. */
export class ManualClock implements Clock {
  constructor(private currentMs = 1_700_000_000_000) {}
  nowMs(): number {
    return this.currentMs;
  }
  monotonicMs(): number {
    return this.currentMs;
  }
  advance(ms: number): void {
    this.currentMs += ms;
  }
}

/** A source of randomness. */
export interface Rand {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
}

/**
 * A seeded generator (SplitMix32 core feeding xorshift-style mixing): small, fast, and good enough
 * for tests, workloads and skiplist heights. Not for cryptography.
 */
export class SeededRand implements Rand {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 0x1_0000_0000;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** Randomness from `Math.random`, for production paths where replay does not matter. */
export const systemRand: Rand = {
  next: () => Math.random(),
  int: (n: number) => Math.floor(Math.random() * n),
};
