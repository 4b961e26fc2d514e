/**
 * The public entry point of the `tabula` package: the Node API (`open`, `connect`, `Filter` and
 * their types), the error class, and the storage engine.
 */

export * from './client/index.js';
export { ErrorCode, TabulaError } from './common/errors.js';
export { Engine, type EngineOptions, type EngineStats, type Snapshot } from './storage/engine.js';
export { WriteBatch } from './storage/write-batch.js';
