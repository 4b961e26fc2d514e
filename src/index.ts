/**
 * The public entry point of the `tabula` package.
 */

export { ErrorCode, TabulaError } from './common/errors.js';
export { Engine, type EngineOptions, type EngineStats, type Snapshot } from './storage/engine.js';
export { WriteBatch } from './storage/write-batch.js';
