/**
 * Memtable contents in transferable chunks: how a frozen memtable reaches a flush worker without
 * blocking the event loop. Entries are packed in order as `varint keyLen | key | varint valueLen |
 * value` into chunks of about FLUSH_CHUNK_BYTES; the packer yields between chunks.
 */
import { assert } from '../common/assert.js';
import { FLUSH_CHUNK_BYTES } from '../common/limits.js';
import { ByteWriter, getVarint } from '../common/varint.js';
import type { EntrySource } from './compaction-job.js';
import type { InternalIterator } from './iterator.js';

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Packs every entry of `it` into chunks, yielding to the event loop after each chunk. */
export async function packEntries(it: InternalIterator): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  const w = new ByteWriter(FLUSH_CHUNK_BYTES + 1024);
  for (it.seekToFirst(); it.valid(); it.next()) {
    w.lengthPrefixed(it.key()).lengthPrefixed(it.value());
    if (w.length >= FLUSH_CHUNK_BYTES) {
      chunks.push(w.finish());
      w.reset();
      await yieldToEventLoop();
    }
  }
  if (w.length > 0) chunks.push(w.finish());
  return chunks;
}

/** Reads packed chunks back in order. */
export class ChunkSource implements EntrySource {
  private chunkIndex = 0;
  private offset = 0;
  private currentKey: Buffer | undefined;
  private currentValue: Buffer | undefined;

  constructor(private readonly chunks: readonly Uint8Array[]) {}

  seekToFirst(): void {
    this.chunkIndex = 0;
    this.offset = 0;
    this.advance();
  }
  valid(): boolean {
    return this.currentKey !== undefined;
  }
  next(): void {
    this.advance();
  }
  key(): Buffer {
    assert(this.currentKey, 'key on invalid source');
    return this.currentKey;
  }
  value(): Buffer {
    assert(this.currentValue, 'value on invalid source');
    return this.currentValue;
  }

  private advance(): void {
    let chunk = this.chunks[this.chunkIndex];
    while (chunk && this.offset >= chunk.length) {
      this.chunkIndex++;
      this.offset = 0;
      chunk = this.chunks[this.chunkIndex];
    }
    if (!chunk) {
      this.currentKey = undefined;
      this.currentValue = undefined;
      return;
    }
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const k = getVarint(buf, this.offset);
    assert(k, 'malformed chunk');
    this.currentKey = buf.subarray(k.offset, k.offset + k.value);
    const v = getVarint(buf, k.offset + k.value);
    assert(v, 'malformed chunk');
    this.currentValue = buf.subarray(v.offset, v.offset + v.value);
    this.offset = v.offset + v.value;
  }
}
