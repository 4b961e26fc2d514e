/**
 * Seeds for randomized tests: `TABULA_SEED=n` replays one run; otherwise a fresh seed is drawn and
 * printed, so any failure can be replayed exactly.
 */
import { SeededRand } from '../../src/common/clock.js';

/** The seeds a randomized test runs: the replay seed alone, or `count` fresh ones. */
export function testSeeds(count: number): number[] {
  const fixed = process.env.TABULA_SEED;
  if (fixed !== undefined) return [Number(fixed)];
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
