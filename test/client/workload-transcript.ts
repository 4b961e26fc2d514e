// A scripted workload over the whole API whose every result (and every error code) is recorded
// in a plain JSON-able transcript, so runs against different backends can be compared exactly.
// Only explicit timestamps are written, so the transcript does not depend on the clock.
import type { Row, Tabula } from '../../src/client/index.js';
import { Filter } from '../../src/client/index.js';
import { TabulaError } from '../../src/common/errors.js';

const T = 1_600_000_000_000_000;

function rowJson(row: Row | undefined): unknown {
  if (row === undefined) return null;
  return {
    key: row.key.toString('hex'),
    cells: row.cells.map((c) => [
      c.family,
      c.qualifier.toString('hex'),
      c.timestampMicros,
      c.value.toString('hex'),
      c.labels,
    ]),
  };
}

async function outcome(op: () => Promise<unknown>): Promise<unknown> {
  try {
    return { ok: await op() };
  } catch (err) {
    return { error: err instanceof TabulaError ? err.code : String(err) };
  }
}

async function rows(it: AsyncIterable<Row>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const row of it) out.push(rowJson(row));
  return out;
}

/** Runs the workload on table `name` of `db` and returns its transcript. */
export async function workloadTranscript(db: Tabula, name: string): Promise<unknown[]> {
  const out: unknown[] = [];
  const info = await db.createTable(name, { families: { a: { maxVersions: 2 }, b: {} } });
  out.push([...info.families.values()]);
  const t = db.table(name);
  for (let i = 0; i < 30; i++) {
    const key = Buffer.from([i % 7, 0xff - i, i]);
    out.push(
      await outcome(() =>
        t.mutateRow(key, [
          {
            setCell: {
              family: 'a',
              qualifier: `q${i % 3}`,
              value: Buffer.alloc(i * 11, i),
              timestampMicros: T + (i % 4) * 1000,
            },
          },
          {
            setCell: {
              family: i % 5 === 0 ? 'zz' : 'b',
              qualifier: Buffer.from([i]),
              value: `v${i}`,
              timestampMicros: T,
            },
          },
        ]),
      ),
    );
  }
  out.push(await rows(t.readRows()));
  out.push(
    await rows(t.readRows({ reverse: true, limit: 5, filter: Filter.family('a').andThen(Filter.latest()) })),
  );
  out.push(
    await rows(
      t.readRows({ ranges: [{ start: Buffer.from([2]), end: Buffer.from([4]) }], filter: Filter.label('l') }),
    ),
  );
  out.push(await outcome(() => t.checkAndMutate(Buffer.from([1]), { onNoMatch: [{ deleteFromRow: true }] })));
  // Read-modify-write takes the server's time: record the values only, then remove the row.
  const counter = await t.readModifyWrite('ctr', [{ increment: { family: 'b', qualifier: 'n', amount: 3 } }]);
  out.push(counter.cells.map((c) => [c.family, c.qualifier.toString(), c.value.toString('hex')]));
  await t.mutateRow('ctr', [{ deleteFromRow: true }]);
  const results = await t.mutateRows([
    { key: 'm1', mutations: [{ deleteFromRow: true }] },
    {
      key: 'm2',
      mutations: [{ setCell: { family: 'nope', qualifier: 'q', value: 'v', timestampMicros: T } }],
    },
  ]);
  out.push(results.map((r) => [r.index, r.key.toString(), r.error?.code ?? null]));
  await t.dropRowRange({ prefix: Buffer.from([3]) });
  out.push(await rows(t.readRows({ filter: Filter.stripValue() })));
  await db.deleteTable(name);
  return out;
}
