import { open } from 'tabula'; // or: const db = await connect('127.0.0.1:8086')

const db = await open('./data');
await db.createTable('people', { families: { info: { maxVersions: 1 } } });
const people = db.table('people');
await people.mutateRow('user#001', [{ setCell: { family: 'info', qualifier: 'name', value: 'Ada' } }]);
for await (const row of people.readRows({ prefix: 'user#' })) console.log(row.key, row.cells);
await db.close();
