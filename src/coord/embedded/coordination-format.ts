/**
 * Every constant of the embedded coordination state file (docs/format/coordination.md has the
 * diagram; the two change together, with a format version bump and a new golden file under
 * test/coord/fixtures/).
 *
 *   file   := magic[8] | formatVersion u32 LE | bodyLength u32 LE | checksum u32 LE | body
 *   body   := varint revision | varint lastEpoch | varint entryCount | entry*
 *   entry  := varint keyLength | key (UTF-8) | varint version | varint valueLength | value
 *
 * `checksum` is the masked CRC32C (src/common/crc32c.ts) of the 16 header bytes before it followed
 * by the body, so a damaged magic, version or length is caught as surely as a damaged body.
 *
 * Concurrency: constants only. Invariants: all fixed-width integers are little-endian; entries are
 * stored in strictly ascending key byte order.
 */

/** File holding the durable state, replaced atomically by renaming the temp file over it. */
export const COORD_STATE_FILE_NAME = 'state';
/** File the next state is written to and synced before it is renamed to `COORD_STATE_FILE_NAME`. */
export const COORD_STATE_TEMP_FILE_NAME = 'state.tmp';

/** Eight bytes that open every state file: "TABCOORD" in ASCII. PERSISTED. */
export const COORD_STATE_MAGIC = Buffer.from('TABCOORD', 'latin1');
/** Version of the layout above. Bump on any change. */
export const COORD_STATE_FORMAT_VERSION = 1; // PERSISTED: never renumber.

/** Offset of the magic. */
export const COORD_MAGIC_OFFSET = 0;
/** Offset of the format version (u32 LE). */
export const COORD_VERSION_OFFSET = 8;
/** Offset of the body length (u32 LE). */
export const COORD_BODY_LENGTH_OFFSET = 12;
/** Offset of the masked CRC32C (u32 LE) of header bytes [0, COORD_CHECKSUM_OFFSET) ‖ body. */
export const COORD_CHECKSUM_OFFSET = 16;
/** Size of the header; the body starts here. */
export const COORD_HEADER_BYTES = 20;
