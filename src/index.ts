/**
 * The public entry point of the `tabula` package.
 */
export { Engine, type EngineOptions, type Snapshot, type EngineStats } from './storage/engine.js';
export { WriteBatch } from './storage/write-batch.js';
export { TabulaError, ErrorCode } from './common/errors.js';
