/**
 * The master's balancer: a pure function from the live servers and their tablets' loads (count,
 * size in bytes, request rate) to a short list of planned moves. Anchored on HBase's stochastic
 * load balancer: a weighted cost over the servers, one term per dimension, plus a cost per move,
 * searched step by step with a capped number of moves per round.
 *
 * Cost of one dimension: the coefficient of variation of the servers' totals (standard deviation
 * over mean; 0 when the mean is 0; the mean taken as at least a floor for size and request rate,
 * so a nearly idle cluster's noise is no imbalance), so each term is scale-free and 0 when
 * perfectly even. The cluster cost is the weighted sum; at or below `costMin` nothing moves. A step weighs moving each tablet to each other server (all
 * pairs when there are at most CLUSTER_BALANCE_CANDIDATES_MAX, else that many drawn with the seeded
 * random) and takes the one lowering the cost most, if it lowers it by more than the move penalty;
 * the search stops at `movesMax` moves or when no move pays. A tablet moves at most once per round;
 * a pinned one (moving now, or moved recently) counts where it is but never moves.
 *
 * Deterministic: the same input and seed give the same moves (candidates are visited in an order
 * drawn from `rand`; ties keep the first).
 *
 * Concurrency: none (pure, synchronous).
 */
import type { Rand } from '../common/clock.js';
import { CLUSTER_BALANCE_CANDIDATES_MAX } from '../common/limits.js';

/** One tablet as the balancer sees it. */
export interface BalancerTablet {
  /** `<table id>/<tablet dir>`. */
  readonly key: string;
  readonly server: string;
  readonly bytes: number;
  readonly requestsPerSec: number;
  /** Counted where it is but never moved (moving now, or moved recently). */
  readonly pinned?: boolean;
}

/** Weights of the cost terms and the cost of one move (in the same units as the cost). */
export interface BalancerWeights {
  readonly count: number;
  readonly bytes: number;
  readonly requests: number;
  readonly movePenalty: number;
  /** A placement costing no more than this is left as it is (no round at all). */
  readonly costMin: number;
  /** Means below these count as these (small loads' noise does not look like imbalance). */
  readonly bytesFloor: number;
  readonly requestsFloorPerSec: number;
}

/**
 * Tablet count first; size and request rate each half as much; a move must gain 0.05; nothing
 * moves below a cost of 0.15; sizes under 64 MiB and rates under 1,000/s a server weigh as if they
 * were that much. A move costs its tablet a short unavailability and the new owner a cold cache,
 * so the balancer acts on real imbalance only: the request rates of a lightly loaded cluster
 * fluctuate from one report to the next, and balancing on them moved tablets back and forth
 * (seen in a full test run: owner epochs past 150 on a 24-tablet table under a few writers).
 */
export const BALANCER_WEIGHTS_DEFAULT: BalancerWeights = {
  count: 1,
  bytes: 0.5,
  requests: 0.5,
  movePenalty: 0.05,
  costMin: 0.15,
  bytesFloor: 64 * 1024 * 1024,
  requestsFloorPerSec: 1_000,
};

/** A move the balancer plans. */
export interface PlannedMove {
  readonly key: string;
  readonly from: string;
  readonly to: string;
}

type Dim = 'count' | 'bytes' | 'requests';
const DIMS: readonly Dim[] = ['count', 'bytes', 'requests'];

const dimValue = (t: BalancerTablet, d: Dim): number =>
  d === 'count' ? 1 : d === 'bytes' ? t.bytes : t.requestsPerSec;

/** Per dimension: each server's total, their sum of squares and their mean. */
class Loads {
  readonly totals: Map<Dim, Map<string, number>> = new Map();
  readonly sumSq = new Map<Dim, number>();
  readonly mean = new Map<Dim, number>();

  constructor(
    readonly servers: readonly string[],
    tablets: readonly BalancerTablet[],
    private readonly floors: ReadonlyMap<Dim, number>,
  ) {
    for (const d of DIMS) {
      const m = new Map(servers.map((s) => [s, 0]));
      let sum = 0;
      for (const t of tablets) {
        if (!m.has(t.server)) continue;
        m.set(t.server, (m.get(t.server) ?? 0) + dimValue(t, d));
        sum += dimValue(t, d);
      }
      this.totals.set(d, m);
      let sq = 0;
      for (const v of m.values()) sq += v * v;
      this.sumSq.set(d, sq);
      this.mean.set(d, servers.length > 0 ? sum / servers.length : 0);
    }
  }

  /** Cost of dimension `d` with its sum of squares changed by `delta`. */
  term(d: Dim, delta = 0): number {
    const mean = this.mean.get(d) ?? 0;
    if (mean <= 0) return 0;
    const variance = Math.max(0, ((this.sumSq.get(d) ?? 0) + delta) / this.servers.length - mean * mean);
    return Math.sqrt(variance) / Math.max(mean, this.floors.get(d) ?? 0);
  }

  /** Change of dimension `d`'s sum of squares if `t` moves to `to`. */
  delta(t: BalancerTablet, to: string, d: Dim): number {
    const v = dimValue(t, d);
    const totals = this.totals.get(d) as Map<string, number>;
    const from = totals.get(t.server) ?? 0;
    const dest = totals.get(to) ?? 0;
    return 2 * v * (dest - from + v);
  }

  apply(t: BalancerTablet, to: string): void {
    for (const d of DIMS) {
      this.sumSq.set(d, (this.sumSq.get(d) ?? 0) + this.delta(t, to, d));
      const totals = this.totals.get(d) as Map<string, number>;
      const v = dimValue(t, d);
      totals.set(t.server, (totals.get(t.server) ?? 0) - v);
      totals.set(to, (totals.get(to) ?? 0) + v);
    }
  }
}

/** The weighted cost of the cluster as given (0: perfectly even in every dimension). */
export function clusterCost(
  servers: readonly string[],
  tablets: readonly BalancerTablet[],
  weights: BalancerWeights = BALANCER_WEIGHTS_DEFAULT,
): number {
  const loads = new Loads(servers, tablets, floorsOf(weights));
  return DIMS.reduce((sum, d) => sum + weights[d] * loads.term(d), 0);
}

const floorsOf = (w: BalancerWeights) =>
  new Map<Dim, number>([
    ['bytes', w.bytesFloor],
    ['requests', w.requestsFloorPerSec],
  ]);

function shuffled<T>(items: readonly T[], rand: Rand): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rand.int(i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** The (tablet, server) pairs one step weighs, in a drawn order. */
function candidates(
  tablets: readonly BalancerTablet[],
  servers: readonly string[],
  rand: Rand,
): [BalancerTablet, string][] {
  const total = tablets.length * servers.length;
  if (total <= CLUSTER_BALANCE_CANDIDATES_MAX) {
    const out: [BalancerTablet, string][] = [];
    for (const t of shuffled(tablets, rand)) for (const s of shuffled(servers, rand)) out.push([t, s]);
    return out;
  }
  return Array.from({ length: CLUSTER_BALANCE_CANDIDATES_MAX }, () => [
    tablets[rand.int(tablets.length)] as BalancerTablet,
    servers[rand.int(servers.length)] as string,
  ]);
}

/**
 * At most `movesMax` moves that lower the cost of placing `tablets` on `servers` by more than the
 * move penalty each. Tablets on servers not in `servers` are left alone (the failover path owns
 * them); the input's order does not matter.
 */
export function planMoves(
  servers: readonly string[],
  tablets: readonly BalancerTablet[],
  movesMax: number,
  rand: Rand,
  weights: BalancerWeights = BALANCER_WEIGHTS_DEFAULT,
): PlannedMove[] {
  const live = [...servers].sort();
  const liveSet = new Set(live);
  const movable = tablets
    .filter((t) => liveSet.has(t.server))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((t) => ({ ...t }));
  const loads = new Loads(live, movable, floorsOf(weights));
  const moves: PlannedMove[] = [];
  const moved = new Set<string>();
  const costOf = () => DIMS.reduce((sum, d) => sum + weights[d] * loads.term(d), 0);
  if (costOf() <= weights.costMin) return moves;
  while (moves.length < movesMax && live.length > 1) {
    const now = costOf();
    let best: { t: BalancerTablet; to: string; cost: number } | undefined;
    for (const [t, to] of candidates(movable, live, rand)) {
      if (to === t.server || t.pinned === true || moved.has(t.key)) continue;
      const cost = DIMS.reduce((sum, d) => sum + weights[d] * loads.term(d, loads.delta(t, to, d)), 0);
      if (best === undefined || cost < best.cost) best = { t, to, cost };
    }
    if (!best || now - best.cost <= weights.movePenalty) break;
    moves.push({ key: best.t.key, from: best.t.server, to: best.to });
    moved.add(best.t.key);
    loads.apply(best.t, best.to);
    (best.t as { server: string }).server = best.to;
  }
  return moves;
}
