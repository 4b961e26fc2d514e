/**
 * The LevelDB anchor of the engine and embedded benchmarks: `classic-level`, opened the same way in
 * both, with every batch written `sync: true` so it is as durable as Tabula's writes.
 */
import { ClassicLevel } from 'classic-level';

/** Entries fetched per `nextv` call when scanning. */
const SCAN_CHUNK_ENTRIES = 1000;

/** The operations the benchmarks run against LevelDB. */
export interface LevelDbAnchor {
  putBatch(keys: Buffer[], values: Buffer[]): Promise<void>;
  getSync(key: Buffer): Buffer | undefined;
  getAsync(key: Buffer): Promise<Buffer | undefined>;
  countAll(): Promise<number>;
  close(): Promise<void>;
}

/** Opens (creating) a LevelDB store in `dir`. */
export async function openLevelDbAnchor(dir: string): Promise<LevelDbAnchor> {
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  return {
    putBatch: (keys, values) =>
      db.batch(
        keys.map((key, i) => ({ type: 'put' as const, key, value: values[i] as Buffer })),
        { sync: true },
      ),
    getSync: (key) => db.getSync(key),
    getAsync: (key) => db.get(key),
    countAll: async () => {
      const it = db.iterator();
      let n = 0;
      try {
        for (;;) {
          const entries = await it.nextv(SCAN_CHUNK_ENTRIES);
          if (entries.length === 0) return n;
          n += entries.length;
        }
      } finally {
        await it.close();
      }
    },
    close: () => db.close(),
  };
}
