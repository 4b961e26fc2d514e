import { connect, Filter, open, TabulaError } from 'tabula';

// The same code runs embedded or against a server: only this line changes.
const address = process.env.TABULA_ADDRESS;
const db = address ? await connect(address) : await open('./data');

await db.createTable('events', {
  families: {
    e: { union: [{ maxVersions: 3 }, { maxAgeMs: 7 * 24 * 3600 * 1000 }] },
    stats: {},
  },
});
const events = db.table('events');

const results = await events.mutateRows([
  { key: 'click#2024-06-01', mutations: [{ setCell: { family: 'e', qualifier: 'page', value: '/home' } }] },
  { key: 'click#2024-06-02', mutations: [{ setCell: { family: 'nope', qualifier: 'page', value: '/' } }] },
]);
for (const r of results) console.log(r.key.toString(), r.error?.code ?? 'ok');

const latestPages = Filter.chain(Filter.family('e'), Filter.qualifier('page'), Filter.latest());
for await (const row of events.readRows({ prefix: 'click#', filter: latestPages, limit: 10 })) {
  console.log(row.key.toString(), row.cells[0]?.value.toString());
}

const counter = await events.readModifyWrite('totals', [
  { increment: { family: 'stats', qualifier: 'clicks', amount: 1 } },
]);
console.log('clicks', counter.cells[0]?.value.readBigInt64BE(0));

const claimed = await events.checkAndMutate('lock', {
  predicate: Filter.qualifier('owner'),
  onNoMatch: [{ setCell: { family: 'stats', qualifier: 'owner', value: 'me', timestampMicros: 0 } }],
});
console.log('claimed', !claimed);

try {
  Filter.label('Not Valid');
} catch (err) {
  if (err instanceof TabulaError) console.log(err.code, err.retryable);
}
await db.close();
