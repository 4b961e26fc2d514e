/**
 * Encodes a ReadRowsResponse (read-rows-chunker.ts) straight to protobuf wire bytes, for the
 * ReadRows hot path: one size pass, one allocation, one copy of each value. The generic path
 * (protobufjs `fromObject` then `encode`) copies every chunk object and grows its buffer as it goes,
 * which was the largest single cost of a scan after reading the rows themselves.
 *
 * Wire layout (google/bigtable/v2/bigtable.proto, field numbers fixed by the API):
 *
 *   ReadRowsResponse := (tag 1, LEN) CellChunk  — once per chunk, in order
 *   CellChunk        := [1 row_key bytes] [2 family_name StringValue] [3 qualifier BytesValue]
 *                       [4 timestamp_micros int64] [5 labels string]* 6 value bytes
 *                       [7 value_size int32] [9 commit_row bool]
 *   StringValue / BytesValue := 1 value  (written even when empty, as protobufjs does, so a client
 *                       decoding without defaults still sees `value`; presence of the wrapper, not
 *                       its content, tells the client the family or qualifier changed)
 *
 * Invariant: decoding the output with the official protos yields the same message as encoding the
 * same object through protobufjs (checked by test/server/server-chunker.test.ts).
 */
import { assert } from '../common/assert.js';
import { putVarint, varintLength } from '../common/varint.js';
import type { CellChunk, ReadRowsResponse } from './read-rows-chunker.js';

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const tag = (field: number, wire: number) => (field << 3) | wire;
/** ReadRowsResponse.chunks. */
const TAG_CHUNKS = tag(1, WIRE_LEN);
const TAG_ROW_KEY = tag(1, WIRE_LEN);
const TAG_FAMILY_NAME = tag(2, WIRE_LEN);
const TAG_QUALIFIER = tag(3, WIRE_LEN);
const TAG_TIMESTAMP_MICROS = tag(4, WIRE_VARINT);
const TAG_LABELS = tag(5, WIRE_LEN);
const TAG_VALUE = tag(6, WIRE_LEN);
const TAG_VALUE_SIZE = tag(7, WIRE_VARINT);
const TAG_COMMIT_ROW = tag(9, WIRE_VARINT);
/** The `value` field of google.protobuf.StringValue and BytesValue. */
const TAG_WRAPPER_VALUE = tag(1, WIRE_LEN);
const TRUE = 1;

/** Bytes of a length-delimited field (tag, length, payload) whose tag takes one byte. */
function lenField(payloadBytes: number): number {
  return 1 + varintLength(payloadBytes) + payloadBytes;
}

/** Payload bytes of a wrapper message holding `bytes` bytes. */
function wrapperBytes(bytes: number): number {
  return lenField(bytes);
}

/** Encoded size of one chunk (without its own tag and length). `labelBytes` receives label sizes. */
function chunkBytes(chunk: CellChunk, familyBytes: number, labelBytes: number[]): number {
  let n = lenField(chunk.value.length);
  if (chunk.rowKey !== undefined) n += lenField(chunk.rowKey.length);
  if (chunk.familyName !== undefined) n += lenField(wrapperBytes(familyBytes));
  if (chunk.qualifier !== undefined) n += lenField(wrapperBytes(chunk.qualifier.value.length));
  if (chunk.timestampMicros !== undefined) n += 1 + varintLength(chunk.timestampMicros);
  for (const label of chunk.labels ?? []) {
    const bytes = Buffer.byteLength(label, 'utf8');
    labelBytes.push(bytes);
    n += lenField(bytes);
  }
  if (chunk.valueSize !== undefined) n += 1 + varintLength(chunk.valueSize);
  if (chunk.commitRow === true) n += 2;
  return n;
}

function putBytes(out: Buffer, at: number, fieldTag: number, bytes: Uint8Array): number {
  out[at++] = fieldTag;
  at = putVarint(out, at, bytes.length);
  out.set(bytes, at);
  return at + bytes.length;
}

function putString(out: Buffer, at: number, fieldTag: number, text: string, bytes: number): number {
  out[at++] = fieldTag;
  at = putVarint(out, at, bytes);
  return at + out.write(text, at, bytes, 'utf8');
}

/** The wire bytes of `response`. */
export function encodeReadRowsResponse(response: ReadRowsResponse): Buffer {
  const chunks = response.chunks;
  const sizes = new Array<number>(chunks.length);
  const familyBytes = new Array<number>(chunks.length);
  const labelBytes: number[] = [];
  let total = 0;
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i] as CellChunk;
    const family = chunk.familyName === undefined ? 0 : Buffer.byteLength(chunk.familyName.value, 'utf8');
    familyBytes[i] = family;
    const size = chunkBytes(chunk, family, labelBytes);
    sizes[i] = size;
    total += lenField(size);
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  let label = 0;
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i] as CellChunk;
    out[at++] = TAG_CHUNKS;
    at = putVarint(out, at, sizes[i] as number);
    if (chunk.rowKey !== undefined) at = putBytes(out, at, TAG_ROW_KEY, chunk.rowKey);
    if (chunk.familyName !== undefined) {
      const bytes = familyBytes[i] as number;
      out[at++] = TAG_FAMILY_NAME;
      at = putVarint(out, at, wrapperBytes(bytes));
      at = putString(out, at, TAG_WRAPPER_VALUE, chunk.familyName.value, bytes);
    }
    if (chunk.qualifier !== undefined) {
      const qualifier = chunk.qualifier.value;
      out[at++] = TAG_QUALIFIER;
      at = putVarint(out, at, wrapperBytes(qualifier.length));
      at = putBytes(out, at, TAG_WRAPPER_VALUE, qualifier);
    }
    if (chunk.timestampMicros !== undefined) {
      assert(chunk.timestampMicros >= 0, 'cell timestamps are never negative');
      out[at++] = TAG_TIMESTAMP_MICROS;
      at = putVarint(out, at, chunk.timestampMicros);
    }
    for (const text of chunk.labels ?? [])
      at = putString(out, at, TAG_LABELS, text, labelBytes[label++] as number);
    at = putBytes(out, at, TAG_VALUE, chunk.value);
    if (chunk.valueSize !== undefined) {
      out[at++] = TAG_VALUE_SIZE;
      at = putVarint(out, at, chunk.valueSize);
    }
    if (chunk.commitRow === true) {
      out[at++] = TAG_COMMIT_ROW;
      out[at++] = TRUE;
    }
  }
  assert(at === total, 'ReadRowsResponse size pass and write pass disagree');
  return out;
}

/** The responses of `responses`, encoded; closing this generator closes `responses`. */
export function* encodedReadRowsResponses(
  responses: Iterable<ReadRowsResponse>,
): Generator<Buffer, void, undefined> {
  for (const response of responses) yield encodeReadRowsResponse(response);
}
