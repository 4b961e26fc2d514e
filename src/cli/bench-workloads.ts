/**
 * The pieces of `tabula bench`, free of I/O: a seeded random source, the Zipfian key chooser of
 * YCSB (Gray et al., "Quickly Generating Billion-Record Synthetic Databases", SIGMOD 1994), the
 * YCSB core workloads A–F as operation mixes, and a bounded latency histogram.
 *
 * Determinism: every choice comes from `Rand` seeded by `--seed`, so a run's operation sequence
 * replays from its seed (timing aside).
 */

/** Zipfian skew of YCSB's core workloads. */
export const ZIPFIAN_THETA = 0.99;

/** A small, fast, seeded PRNG (mulberry32); `next()` is uniform in [0, 1). */
export class Rand {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/**
 * Zipfian integers in [0, items): item 0 is the most popular. Construction is O(items) (the
 * zeta sum); `next()` is O(1).
 */
export class ZipfianGenerator {
  private readonly zetan: number;
  private readonly alpha: number;
  private readonly eta: number;
  private readonly halfPowTheta: number;

  constructor(
    private readonly items: number,
    private readonly rand: Rand,
    theta = ZIPFIAN_THETA,
  ) {
    let zetan = 0;
    for (let i = 1; i <= items; i++) zetan += 1 / i ** theta;
    const zeta2 = 1 + 1 / 2 ** theta;
    this.zetan = zetan;
    this.alpha = 1 / (1 - theta);
    this.eta = (1 - (2 / items) ** (1 - theta)) / (1 - zeta2 / zetan);
    this.halfPowTheta = 0.5 ** theta;
  }

  next(): number {
    const u = this.rand.next();
    const uz = u * this.zetan;
    if (uz < 1) return 0;
    if (uz < 1 + this.halfPowTheta) return Math.min(1, this.items - 1);
    const value = Math.floor(this.items * (this.eta * u - this.eta + 1) ** this.alpha);
    return Math.min(value, this.items - 1);
  }
}

/** FNV-1a of a number, spreading popular Zipfian items over the key space (YCSB's "scrambled"). */
export function scramble(item: number, items: number): number {
  let hash = 0x811c9dc5;
  let v = item;
  for (let i = 0; i < 6; i++) {
    hash = Math.imul(hash ^ (v & 0xff), 0x01000193) >>> 0;
    v = Math.floor(v / 256);
  }
  return hash % items;
}

/** Operations a workload mixes. */
export type BenchOp = 'read' | 'update' | 'insert' | 'scan' | 'readmodifywrite';

/** A YCSB core workload: the share of each operation and how keys are chosen. */
export interface Workload {
  readonly name: string;
  readonly description: string;
  readonly mix: ReadonlyArray<readonly [BenchOp, number]>;
  /** `latest`: reads favour the newest inserted keys (workload D); else scrambled Zipfian. */
  readonly keyChoice: 'zipfian' | 'latest';
}

/** YCSB core workloads A–F, by letter. */
export const WORKLOADS: ReadonlyMap<string, Workload> = new Map([
  [
    'a',
    {
      name: 'a',
      description: 'update heavy: 50% read, 50% update',
      mix: [
        ['read', 0.5],
        ['update', 0.5],
      ],
      keyChoice: 'zipfian',
    },
  ],
  [
    'b',
    {
      name: 'b',
      description: 'read mostly: 95% read, 5% update',
      mix: [
        ['read', 0.95],
        ['update', 0.05],
      ],
      keyChoice: 'zipfian',
    },
  ],
  ['c', { name: 'c', description: 'read only: 100% read', mix: [['read', 1]], keyChoice: 'zipfian' }],
  [
    'd',
    {
      name: 'd',
      description: 'read latest: 95% read, 5% insert',
      mix: [
        ['read', 0.95],
        ['insert', 0.05],
      ],
      keyChoice: 'latest',
    },
  ],
  [
    'e',
    {
      name: 'e',
      description: 'short ranges: 95% scan, 5% insert',
      mix: [
        ['scan', 0.95],
        ['insert', 0.05],
      ],
      keyChoice: 'zipfian',
    },
  ],
  [
    'f',
    {
      name: 'f',
      description: 'read-modify-write: 50% read, 50% read-modify-write',
      mix: [
        ['read', 0.5],
        ['readmodifywrite', 0.5],
      ],
      keyChoice: 'zipfian',
    },
  ],
] satisfies Array<[string, Workload]>);

/** Picks the operation for a uniform draw `u` in [0, 1). */
export function pickOp(workload: Workload, u: number): BenchOp {
  let acc = 0;
  for (const [op, share] of workload.mix) {
    acc += share;
    if (u < acc) return op;
  }
  return (workload.mix[workload.mix.length - 1] as readonly [BenchOp, number])[0];
}

/** Row key of record `n`: fixed width, so key order is record order. */
export function recordKey(n: number): string {
  return `user${String(n).padStart(12, '0')}`;
}

/** Relative width of a histogram bucket: percentiles are exact to within 2%. */
const BUCKET_GROWTH = 1.02;
/** Buckets cover 1 µs to about 1000 s; slower samples land in the last bucket (max stays exact). */
const BUCKETS = Math.ceil(Math.log(1e9) / Math.log(BUCKET_GROWTH)) + 1;

/** Latencies in a fixed number of log-spaced buckets: bounded memory whatever the run length. */
export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  count = 0;
  maxMicros = 0;

  record(micros: number): void {
    const v = Math.max(1, micros);
    const bucket = Math.min(BUCKETS - 1, Math.floor(Math.log(v) / Math.log(BUCKET_GROWTH)));
    this.counts[bucket] = (this.counts[bucket] as number) + 1;
    this.count++;
    if (micros > this.maxMicros) this.maxMicros = micros;
  }

  /** The latency at quantile `q` (0..1) in microseconds: the upper edge of its bucket, at most the max. */
  quantileMicros(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[b] as number;
      if (seen >= rank) return Math.min(this.maxMicros, BUCKET_GROWTH ** (b + 1));
    }
    return this.maxMicros;
  }

  merge(other: LatencyHistogram): void {
    for (let b = 0; b < BUCKETS; b++)
      this.counts[b] = (this.counts[b] as number) + (other.counts[b] as number);
    this.count += other.count;
    this.maxMicros = Math.max(this.maxMicros, other.maxMicros);
  }
}
