/**
 * The seed of randomized model tests: `TABULA_SEED` when set (to replay a failure), else fresh.
 * Printed once per test file so any failure can be replayed.
 */
export function testSeed(file: string): number {
  const fromEnv = process.env.TABULA_SEED;
  const seed = fromEnv !== undefined ? Number(fromEnv) : Math.floor(Math.random() * 0x7fffffff);
  console.log(`# ${file}: seed=${seed} (replay with TABULA_SEED=${seed})`);
  return seed;
}
