/**
 * Seeds for randomized tests: `TABULA_SEED=n` replays one run; otherwise a fresh seed is drawn and
 * printed, so any failure can be replayed exactly.
 */
import { SeededRand } from '../../src/common/clock.js';

/**
 * The seeds a randomized test runs: the replay seed alone (`TABULA_SEED=n`), the whole printed set of
 * a multi-seed run (`TABULA_SEEDS=a,b,c`, replayed side by side as they ran), or `count` fresh ones.
 */
export function testSeeds(count: number): number[] {
  const fixed = process.env.TABULA_SEED;
  if (fixed !== undefined) return [Number(fixed)];
  const set = process.env.TABULA_SEEDS;
  if (set !== undefined) {
    const seeds = set.split(',').map((s) => Number(s.trim()));
    if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s) || s < 0)) {
      throw new Error(`TABULA_SEEDS must be a comma-separated list of seeds, got ${JSON.stringify(set)}`);
    }
    return seeds;
  }
  const base = (Date.now() ^ (process.pid << 8)) >>> 0;
  return Array.from({ length: count }, (_, i) => (base + i * 7919) >>> 0);
}

/** Runs `body` with a seeded generator; on failure the error names the seed to replay. */
export async function withSeed<T>(seed: number, body: (rand: SeededRand) => Promise<T>): Promise<T> {
  try {
    return await body(new SeededRand(seed));
  } catch (err) {
    if (err instanceof Error) err.message = `[replay with TABULA_SEED=${seed}] ${err.message}`;
    throw err;
  }
}
