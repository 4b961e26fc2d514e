/**
 * Registers the embedded driver under the URL scheme `embedded` (`embedded:<dir>`), so that
 * `openCoordination('embedded:./tabula-data/coord')` opens an `EmbeddedCoordination` in that
 * directory. Importing this module is what makes the scheme known (ARCHITECTURE.md: drivers
 * register themselves by name; the core knows none of them).
 *
 * Concurrency: registration happens once, when the module is first evaluated.
 * Invariants: the target is used verbatim as the directory; an empty one is INVALID_ARGUMENT.
 */
import { errors } from '../../common/errors.js';
import { registerCoordinationDriver } from '../coordination.js';
import { EmbeddedCoordination } from './embedded-coordination.js';

/** The URL scheme of the embedded driver. */
export const EMBEDDED_COORDINATION_SCHEME = 'embedded';

registerCoordinationDriver(EMBEDDED_COORDINATION_SCHEME, async (target, options) => {
  if (target === '') {
    throw errors.invalidArgument('embedded coordination url names no directory', {
      url: `${EMBEDDED_COORDINATION_SCHEME}:`,
    });
  }
  return EmbeddedCoordination.open({
    dir: target,
    vfs: options.vfs,
    clock: options.clock,
    timers: options.timers,
  });
});
