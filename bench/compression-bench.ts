/**
 * Compression codecs on realistic SSTable data blocks: ~4 KiB blocks built by the block builder
 * from internal keys like "user00001234" and 100-byte values (half random bytes, half repetitive
 * text). Prints compress and decompress MB/s (of uncompressed bytes; median of runs) and the
 * stored/raw size ratio for each codec, next to a plain memory copy of the same bytes as anchor.
 * The "none" codec returns its input, so its rates only show the harness overhead.
 *
 *   npx tsc -p . && node dist/bench/compression-bench.js
 */
import { SeededRand } from '../src/common/clock.js';
import { SSTABLE_BLOCK_BYTES_DEFAULT, SSTABLE_RESTART_INTERVAL_DEFAULT } from '../src/common/limits.js';
import { BlockBuilder } from '../src/storage/block-builder.js';
import { COMPRESSION_NAMES, codecByName, compressBlock } from '../src/storage/compression.js';
import { EntryKind, encodeInternalKey } from '../src/storage/internal-key.js';

const BLOCK_COUNT = 512;
const VALUE_BYTES = 100;
const RUNS = 5;
const PASSES_PER_RUN = 8;
const BYTES_PER_MB = 1024 * 1024;

function makeBlocks(): Buffer[] {
  const rand = new SeededRand(1234);
  const filler = Buffer.from('the quick brown fox jumps over the lazy dog '.repeat(4));
  const blocks: Buffer[] = [];
  const builder = new BlockBuilder(SSTABLE_RESTART_INTERVAL_DEFAULT);
  let row = 0;
  while (blocks.length < BLOCK_COUNT) {
    const value = Buffer.allocUnsafe(VALUE_BYTES);
    for (let i = 0; i < VALUE_BYTES / 2; i++) value[i] = rand.int(256);
    filler.copy(value, VALUE_BYTES / 2, 0, VALUE_BYTES / 2);
    const key = encodeInternalKey(Buffer.from(`user${String(row).padStart(8, '0')}`), row + 1, EntryKind.Put);
    row += 1 + rand.int(3);
    builder.add(key, value);
    if (builder.estimatedBytes() >= SSTABLE_BLOCK_BYTES_DEFAULT) {
      blocks.push(Buffer.from(builder.finish()));
      builder.reset();
    }
  }
  return blocks;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function mbPerSecond(rawBytes: number, work: () => void): number {
  const rates: number[] = [];
  for (let p = 0; p < PASSES_PER_RUN; p++) work(); // warm-up: JIT and native code paths
  for (let r = 0; r < RUNS; r++) {
    const start = performance.now();
    for (let p = 0; p < PASSES_PER_RUN; p++) work();
    const seconds = (performance.now() - start) / 1000;
    rates.push((rawBytes * PASSES_PER_RUN) / BYTES_PER_MB / seconds);
  }
  return median(rates);
}

function main(): void {
  const blocks = makeBlocks();
  const rawBytes = blocks.reduce((s, b) => s + b.length, 0);
  const scratch = Buffer.allocUnsafe(Math.max(...blocks.map((b) => b.length)));
  const copyRate = mbPerSecond(rawBytes, () => {
    for (const b of blocks) b.copy(scratch);
  });
  console.log(`${blocks.length} blocks, ${(rawBytes / blocks.length).toFixed(0)} bytes each on average`);
  console.log(`anchor: memory copy ${copyRate.toFixed(0)} MB/s`);
  console.log('codec   compress MB/s  decompress MB/s  stored/raw  blocks compressed');
  for (const name of COMPRESSION_NAMES) {
    const codec = codecByName(name);
    const compressed = blocks.map((b) => codec.compress(b));
    const stored = blocks.map((b) => compressBlock(b, codec));
    const storedBytes = stored.reduce((s, b) => s + b.data.length, 0);
    const kept = stored.filter((s) => s.type === codec.type).length;
    const compressRate = mbPerSecond(rawBytes, () => {
      for (const b of blocks) codec.compress(b);
    });
    const decompressRate = mbPerSecond(rawBytes, () => {
      for (const c of compressed) codec.uncompress(c);
    });
    console.log(
      `${name.padEnd(7)} ${compressRate.toFixed(0).padStart(13)}  ${decompressRate.toFixed(0).padStart(15)}` +
        `  ${(storedBytes / rawBytes).toFixed(3).padStart(10)}  ${name === 'none' ? '-' : `${kept}/${blocks.length}`}`,
    );
  }
}

main();
