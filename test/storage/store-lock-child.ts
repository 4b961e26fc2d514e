/**
 * A child process for the store-lock race test. Once loaded it prints `ready`, reads the wall-clock
 * instant to start at from stdin (sent when every racer is ready), tries `StoreLock.acquire` on the
 * directory given in argv at that instant, and prints `won <epoch>` or `refused <code> <message>`
 * (or `late` when it was not scheduled in time: no race then); it holds what it won for a moment,
 * releases and exits. Spinning for the last milliseconds lines the attempts up within about a
 * millisecond.
 */
import { createInterface } from 'node:readline';
import { TabulaError } from '../../src/common/errors.js';
import { RealVfs } from '../../src/storage/real-vfs.js';
import { StoreLock } from '../../src/storage/store-lock.js';

const HOLD_MS = 500;
const SPIN_FROM_MS = 5;
/** A child that reaches the instant later than this does not try (prints `late`). */
const LATE_MS = 50;

async function startInstant(): Promise<number> {
  const lines = createInterface({ input: process.stdin });
  process.stdout.write('ready\n');
  for await (const line of lines) {
    lines.close();
    return Number(line);
  }
  throw new Error('stdin closed before the start instant came');
}

async function main(): Promise<void> {
  const [dir = ''] = process.argv.slice(2);
  const startAt = await startInstant();
  const wait = startAt - Date.now() - SPIN_FROM_MS;
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  if (Date.now() > startAt + LATE_MS) {
    process.stdout.write('late\n');
    return;
  }
  while (Date.now() < startAt) {
    // spin: the attempts of all children start within a millisecond or so
  }
  try {
    const lock = await StoreLock.acquire(new RealVfs(), dir);
    process.stdout.write(`won ${lock.epoch}\n`);
    await new Promise((r) => setTimeout(r, HOLD_MS));
    await lock.release();
  } catch (err) {
    const code = err instanceof TabulaError ? err.code : 'ERROR';
    process.stdout.write(`refused ${code} ${err instanceof Error ? err.message : String(err)}\n`);
  }
}

await main();
