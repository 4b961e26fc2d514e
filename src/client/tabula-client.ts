/**
 * The one implementation of the public `Tabula` interface, over a backend (embedded or remote).
 * It validates every admin argument with the same functions the server uses, then delegates.
 *
 * Lifecycle: `close()` marks the client closed at once (later calls fail with FAILED_PRECONDITION),
 * waits for calls in flight, then closes the backend. Reads still open see FAILED_PRECONDITION on
 * their next pull.
 */
import { errors } from '../common/errors.js';
import { validateTableId } from '../model/mutation.js';
import type { ModificationMessage, TableInput } from '../server/table-admin-requests.js';
import {
  validateCreateFamilies,
  validateInitialSplits,
  validateModifications,
} from '../server/table-admin-requests.js';
import type { Backend, PreparedCreateTable, PreparedModifications } from './backend.js';
import { oneKeyOf, toBuffer, typeName } from './bytes-input.js';
import type { CreateTableOptions, FamilyChange, FamilyOptions, TableInfo } from './client-types.js';
import { encodeGcRule } from './gc-rules.js';
import { TableClient } from './table-client.js';
import type { Table, Tabula } from './tabula-api.js';

/** Tracks calls in flight so `close()` can wait for them. */
export class CallTracker {
  private inFlight = new Set<Promise<unknown>>();
  private closed = false;

  /** Whether `close()` has begun. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Throws FAILED_PRECONDITION once closed. */
  checkOpen(): void {
    if (this.closed) throw errors.failedPrecondition('tabula is closed');
  }

  /** Runs `op` unless closed, tracking it until it settles. */
  run<T>(op: () => Promise<T>): Promise<T> {
    try {
      this.checkOpen();
      const p = op();
      this.inFlight.add(p);
      const forget = () => this.inFlight.delete(p);
      p.then(forget, forget);
      return p;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Marks closed and waits for every call in flight to settle. */
  async drain(): Promise<void> {
    this.closed = true;
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}

function familyEntries(families: CreateTableOptions['families']): [string, FamilyOptions][] {
  if (families === undefined) return [];
  if (families instanceof Map) return [...families.entries()];
  if (typeof families !== 'object' || families === null) {
    throw errors.invalidArgument('families must be an object or a Map', {
      field: 'families',
      type: typeName(families),
    });
  }
  return Object.keys(families).map((name) => [
    name,
    (families as Record<string, FamilyOptions>)[name] as FamilyOptions,
  ]);
}

/** Validates CreateTable options with the server's checks. */
export function prepareCreateTable(options: CreateTableOptions = {}): PreparedCreateTable {
  const columnFamilies: NonNullable<TableInput['columnFamilies']> = Object.create(null);
  for (const [name, rule] of familyEntries(options.families)) {
    const gcRule = encodeGcRule(rule, `families[${name}]`);
    columnFamilies[name] = gcRule === undefined ? {} : { gcRule };
  }
  const splits = (options.splitKeys ?? []).map((k, i) => ({ key: toBuffer(k, `splitKeys[${i}]`) }));
  return {
    families: validateCreateFamilies({ columnFamilies }),
    splitKeys: validateInitialSplits(splits),
    deletionProtection: options.deletionProtection === true,
  };
}

const CHANGE_KINDS = ['create', 'update', 'drop'] as const;

/** Validates family changes with the server's checks. */
export function prepareModifications(changes: readonly FamilyChange[]): PreparedModifications {
  if (!Array.isArray(changes)) throw errors.invalidArgument('changes must be a list', { field: 'changes' });
  const proto = changes.map((change, i): ModificationMessage => {
    const field = `changes[${i}]`;
    const rest = { ...change } as Record<string, unknown>;
    const gcRule = encodeGcRule(rest.gcRule as FamilyOptions | undefined, `${field}.gcRule`);
    delete rest.gcRule;
    const kind = oneKeyOf(rest, CHANGE_KINDS, field);
    const id = rest[kind] as string;
    if (kind === 'drop') return { id, mod: 'drop', drop: true };
    const family = gcRule === undefined ? {} : { gcRule };
    return kind === 'create' ? { id, mod: 'create', create: family } : { id, mod: 'update', update: family };
  });
  return { proto, valid: validateModifications(proto) };
}

/** `Tabula` over a backend. */
export class TabulaClient implements Tabula {
  private readonly calls = new CallTracker();
  private closing: Promise<void> | undefined;

  constructor(private readonly backend: Backend) {}

  get mode(): 'embedded' | 'remote' {
    return this.backend.mode;
  }

  createTable(name: string, options?: CreateTableOptions): Promise<TableInfo> {
    return this.calls.run(async () =>
      this.backend.createTable(validateTableId(name, 'name'), prepareCreateTable(options)),
    );
  }

  getTable(name: string): Promise<TableInfo> {
    return this.calls.run(async () => this.backend.getTable(validateTableId(name, 'name')));
  }

  listTables(): Promise<TableInfo[]> {
    return this.calls.run(() => this.backend.listTables());
  }

  deleteTable(name: string): Promise<void> {
    return this.calls.run(async () => this.backend.deleteTable(validateTableId(name, 'name')));
  }

  setDeletionProtection(name: string, on: boolean): Promise<TableInfo> {
    return this.calls.run(async () => {
      if (typeof on !== 'boolean') throw errors.invalidArgument('expected a boolean', { field: 'on' });
      return this.backend.setDeletionProtection(validateTableId(name, 'name'), on);
    });
  }

  modifyFamilies(name: string, changes: readonly FamilyChange[]): Promise<TableInfo> {
    return this.calls.run(async () =>
      this.backend.modifyFamilies(validateTableId(name, 'name'), prepareModifications(changes)),
    );
  }

  table(name: string): Table {
    return new TableClient(name, this.backend, this.calls);
  }

  close(): Promise<void> {
    this.closing ??= this.calls.drain().then(() => this.backend.close());
    return this.closing;
  }
}
