// Resource names: any project and instance, validated table ids, INVALID_ARGUMENT for malformed
// names and UNIMPLEMENTED for view names.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ErrorCode } from '../../src/common/errors.js';
import { TabulaError } from '../../src/common/errors.js';
import { TABLE_ID_CHARS_MAX } from '../../src/common/limits.js';
import {
  dataRequestTable,
  parseClusterName,
  parseInstanceName,
  parseProjectName,
  parseTableName,
  RESOURCE_NAME_CHARS_MAX,
} from '../../src/server/request-names.js';

function fails(fn: () => unknown, code: ErrorCode, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof TabulaError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

test('table names parse with any project and instance', () => {
  const n = parseTableName('projects/my-proj/instances/any.thing/tables/t_1');
  assert.equal(n.project, 'my-proj');
  assert.equal(n.instance, 'any.thing');
  assert.equal(n.tableId, 't_1');
  assert.equal(n.name, 'projects/my-proj/instances/any.thing');
  assert.equal(n.tableName, 'projects/my-proj/instances/any.thing/tables/t_1');
  assert.equal(
    parseTableName(`projects/p/instances/i/tables/${'a'.repeat(TABLE_ID_CHARS_MAX)}`).tableId.length,
    50,
  );
});

test('malformed table names are INVALID_ARGUMENT', () => {
  const bad = [
    undefined,
    '',
    'projects/p/instances/i',
    'projects/p/instances/i/tables/',
    'projects//instances/i/tables/t',
    'project/p/instances/i/tables/t',
    'projects/p/instances/i/tables/t/extra',
    'projects/p/instances/i/views/t',
    '/projects/p/instances/i/tables/t',
    `projects/p/instances/${'i'.repeat(RESOURCE_NAME_CHARS_MAX)}/tables/t`,
    42,
  ];
  for (const name of bad)
    fails(() => parseTableName(name, 'table_name'), 'INVALID_ARGUMENT', /field=`table_name`/);
  fails(() => parseTableName('projects/p/instances/i/tables/bad$id'), 'INVALID_ARGUMENT', /table id/);
  fails(
    () => parseTableName(`projects/p/instances/i/tables/${'a'.repeat(TABLE_ID_CHARS_MAX + 1)}`),
    'INVALID_ARGUMENT',
    /too long/,
  );
});

test('instance, project and cluster names', () => {
  assert.equal(parseInstanceName('projects/p/instances/i').instance, 'i');
  assert.equal(parseProjectName('projects/p'), 'p');
  assert.equal(parseClusterName('projects/p/instances/i/clusters/c').clusterId, 'c');
  fails(() => parseInstanceName('projects/p'), 'INVALID_ARGUMENT', /malformed/);
  fails(() => parseProjectName('projects/p/instances/i'), 'INVALID_ARGUMENT', /malformed/);
});

test('data requests: views are UNIMPLEMENTED, a missing table name INVALID_ARGUMENT', () => {
  assert.equal(dataRequestTable({ tableName: 'projects/p/instances/i/tables/t' }).tableId, 't');
  fails(
    () => dataRequestTable({ authorizedViewName: 'projects/p/instances/i/tables/t/authorizedViews/v' }),
    'UNIMPLEMENTED',
    /authorized views/,
  );
  fails(
    () => dataRequestTable({ materializedViewName: 'projects/p/instances/i/materializedViews/v' }),
    'UNIMPLEMENTED',
    /materialized views/,
  );
  fails(() => dataRequestTable({}), 'INVALID_ARGUMENT', /missing/);
});
