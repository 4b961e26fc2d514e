/**
 * The root of the tablet-location hierarchy: the coordination service holds where the METADATA
 * catalog lives (as Bigtable keeps the root tablet's location in Chubby), and an instance's store
 * is opened from there.
 *
 * `openInstanceStore` is how a server or an embedded client opens a data directory: it opens the
 * coordination service (the embedded driver in `<data>/coord` unless a URL is given), reads the
 * root — creating it on first use with a compare-and-set, so two openers cannot disagree — and
 * opens the table store on the catalog it names. The store closes the coordination service when
 * it closes.
 *
 * Root record (JSON, PERSISTED): `{ "version": 1, "catalogDir": "catalog" }`; `catalogDir` is a
 * directory name inside the data directory.
 */
import '../coord/embedded/embedded-driver.js';
import { ErrorCode, errors, hasCode } from '../common/errors.js';
import { type Coordination, openCoordination } from '../coord/coordination.js';
import { joinPath } from '../storage/vfs.js';
import { openTableStore, type TableStoreOptions } from '../tablet/table-store.js';
import type { TableStore } from '../tablet/table-store-api.js';

/** Coordination key of the METADATA root. PERSISTED. */
export const METADATA_ROOT_KEY = 'tabula/root/metadata';
/** Version of the root record. PERSISTED: bump on any change. */
const ROOT_RECORD_VERSION = 1;
/** Where a new instance puts its catalog, inside the data directory. */
const CATALOG_DIR_DEFAULT = 'catalog';
/** Directory of the embedded coordination service inside the data directory. */
export const EMBEDDED_COORD_DIR = 'coord';

interface RootRecord {
  version: number;
  catalogDir: string;
}

/** The catalog directory named by the root, creating the root on first use. */
export async function locateMetadata(coord: Coordination): Promise<string> {
  for (;;) {
    const found = await coord.get(METADATA_ROOT_KEY);
    if (found) return parseRoot(found.value);
    const record: RootRecord = { version: ROOT_RECORD_VERSION, catalogDir: CATALOG_DIR_DEFAULT };
    try {
      await coord.put(METADATA_ROOT_KEY, Buffer.from(JSON.stringify(record), 'utf8'), { expectedVersion: 0 });
      return record.catalogDir;
    } catch (err) {
      // Another opener created it first: read theirs.
      if (!hasCode(err, ErrorCode.FailedPrecondition)) throw err;
    }
  }
}

function parseRoot(value: Buffer): string {
  let r: Partial<RootRecord>;
  try {
    r = JSON.parse(value.toString('utf8')) as Partial<RootRecord>;
  } catch {
    throw errors.dataLoss('metadata root record is not valid JSON', { key: METADATA_ROOT_KEY });
  }
  if (r.version !== ROOT_RECORD_VERSION) {
    throw errors.failedPrecondition('metadata root record has a version this build does not read', {
      key: METADATA_ROOT_KEY,
      version: String(r.version),
    });
  }
  if (
    typeof r.catalogDir !== 'string' ||
    !/^[A-Za-z0-9._-]+$/.test(r.catalogDir) ||
    r.catalogDir.startsWith('.')
  ) {
    throw errors.dataLoss('metadata root names no valid catalog directory', { key: METADATA_ROOT_KEY });
  }
  return r.catalogDir;
}

/** Opens the store of data directory `options.dir` through its coordination root. */
export async function openInstanceStore(
  options: TableStoreOptions & { coordinationUrl?: string },
): Promise<TableStore> {
  const url = options.coordinationUrl ?? `embedded:${joinPath(options.dir, EMBEDDED_COORD_DIR)}`;
  const coord = await openCoordination(url, {
    ...(options.engine?.vfs ? { vfs: options.engine.vfs } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  try {
    const catalogDir = await locateMetadata(coord);
    return await openTableStore({ ...options, catalogDir, closeAfter: [coord] });
  } catch (err) {
    await coord.close();
    throw err;
  }
}
