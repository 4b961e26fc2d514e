/**
 * The public entry point of the `tabula` package: the Node API (`open`, `connect`, `Filter` and
 * their types), the error class, and the storage engine.
 */

export * from './client/index.js';
export type { Clock, Rand } from './common/clock.js';
export { ErrorCode, type ErrorDetails, TabulaError } from './common/errors.js';
export type { RowFilter } from './model/proto-types.js';
export type { CompactionFilterSpec } from './storage/compaction-filter.js';
export type { CompressionName } from './storage/compression.js';
export { Engine, type EngineOptions, type EngineStats, type Snapshot } from './storage/engine.js';
export type { ScanOptions } from './storage/engine-iterator.js';
export type { Vfs } from './storage/vfs.js';
export { WriteBatch } from './storage/write-batch.js';
