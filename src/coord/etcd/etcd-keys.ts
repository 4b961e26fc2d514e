/**
 * How the etcd driver lays out its keys inside etcd, and the conversions between Tabula's string
 * keys and etcd's byte keys:
 *
 *   <prefix>kv/<key>      a coordination key
 *   <prefix>lock/<name>   a lock; value = owner (UTF-8), attached to the holder's etcd lease
 *
 * where <prefix> is the URL's namespace (`''` or `path/`). A key's version is its etcd
 * `mod_revision`; a lock's epoch is the revision of the txn that granted it.
 *
 * Concurrency: pure functions. Invariant: `rangeEnd(p)` is the smallest byte string greater than
 * every string starting with `p`, so [p, rangeEnd(p)) is exactly the keys with prefix `p`.
 */
import { errors } from '../../common/errors.js';

/** Sub-namespace of coordination keys. */
export const ETCD_KV_SEGMENT = 'kv/';
/** Sub-namespace of locks. */
export const ETCD_LOCK_SEGMENT = 'lock/';

/** UTF-8 decoding that rejects malformed bytes (a foreign key in our namespace). */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The end of the etcd range holding every key that starts with `prefix` (`\0` for all keys). */
export function rangeEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** Maps coordination keys to and from etcd keys under one namespace. */
export class EtcdKeySpace {
  private readonly kvPrefix: Buffer;
  private readonly lockPrefix: string;

  constructor(namespace: string) {
    this.kvPrefix = Buffer.from(namespace + ETCD_KV_SEGMENT, 'utf8');
    this.lockPrefix = namespace + ETCD_LOCK_SEGMENT;
  }

  /** The etcd key of coordination key `key`. */
  kvKey(key: string): Buffer {
    return Buffer.concat([this.kvPrefix, Buffer.from(key, 'utf8')]);
  }

  /** The etcd key range [key, range_end) of coordination keys starting with `prefix`. */
  kvRange(prefix: string): { key: Buffer; range_end: Buffer } {
    const key = this.kvKey(prefix);
    return { key, range_end: rangeEnd(key) };
  }

  /** The coordination key of an etcd key from `kvRange`; DATA_LOSS if it is not UTF-8. */
  keyOf(etcdKey: Buffer): string {
    try {
      return UTF8.decode(etcdKey.subarray(this.kvPrefix.length));
    } catch {
      throw errors.dataLoss('etcd holds a coordination key that is not utf-8', {
        key: etcdKey.toString('hex'),
      });
    }
  }

  /** The etcd key of lock `name`. */
  lockKey(name: string): Buffer {
    return Buffer.from(this.lockPrefix + name, 'utf8');
  }
}

/** An etcd int64 (decimal string) as a number; revisions stay far below 2^53. */
export function revisionOf(value: string | number | undefined): number {
  return Number(value ?? 0);
}

/** Seconds of an etcd lease covering at least `ttlMs` (etcd grants whole seconds). */
export function leaseSecondsOf(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs / 1000));
}
