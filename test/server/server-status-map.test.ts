// Status mapping: every TabulaError code maps to one gRPC status, never UNKNOWN; anything else is
// INTERNAL with a generic message and is reported to the hook.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { ErrorCode, errors, TabulaError } from '../../src/common/errors.js';
import {
  INTERNAL_ERROR_MESSAGE,
  STATUS_BY_ERROR_CODE,
  toGrpcStatus,
  toRpcStatus,
  toServiceError,
} from '../../src/server/status-map.js';

test('every error code maps to a status other than UNKNOWN and OK', () => {
  for (const code of Object.values(ErrorCode)) {
    const mapped = STATUS_BY_ERROR_CODE[code];
    assert.notEqual(mapped, undefined, code);
    assert.notEqual(mapped, status.UNKNOWN, code);
    assert.notEqual(mapped, status.OK, code);
  }
});

test('codes named like grpc statuses map to those statuses', () => {
  for (const code of Object.values(ErrorCode)) {
    if (code === ErrorCode.Io) continue;
    assert.equal(STATUS_BY_ERROR_CODE[code], status[code as keyof typeof status], code);
  }
  assert.equal(STATUS_BY_ERROR_CODE[ErrorCode.Io], status.UNAVAILABLE);
});

test('a TabulaError keeps its message and is not reported as internal', () => {
  const reported: unknown[] = [];
  const s = toGrpcStatus(errors.notFound('table does not exist', { table: 't' }), 'm', (e) =>
    reported.push(e),
  );
  assert.equal(s.code, status.NOT_FOUND);
  assert.equal(s.details, 'table does not exist: table=`t`');
  assert.equal(reported.length, 0);
});

test('a non-TabulaError is INTERNAL with a generic message and reported', () => {
  const reported: [unknown, string][] = [];
  const bug = new TypeError('x is undefined');
  const s = toGrpcStatus(bug, 'svc.Method', (e, m) => reported.push([e, m]));
  assert.equal(s.code, status.INTERNAL);
  assert.equal(s.details, INTERNAL_ERROR_MESSAGE);
  assert.deepEqual(reported, [[bug, 'svc.Method']]);
  const thrownString = toGrpcStatus('oops', 'm', () => {});
  assert.equal(thrownString.code, status.INTERNAL);
});

test('an INTERNAL TabulaError is reported too', () => {
  const reported: unknown[] = [];
  toGrpcStatus(new TabulaError(ErrorCode.Internal, 'bad'), 'm', (e) => reported.push(e));
  assert.equal(reported.length, 1);
});

test('service errors and rpc statuses carry the numeric code', () => {
  const e = toServiceError(errors.invalidArgument('bad'), 'm', () => {});
  assert.equal(e.code, status.INVALID_ARGUMENT);
  assert.equal(e.details, 'bad');
  assert.deepEqual(
    toRpcStatus(errors.failedPrecondition('no'), 'm', () => {}),
    {
      code: status.FAILED_PRECONDITION,
      message: 'no',
    },
  );
});
