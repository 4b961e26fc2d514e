// The SetCell mutation the client tests write: family `f`, qualifier `q`; without a timestamp the
// server assigns one (a non-idempotent write), with one the write is idempotent.

/** A SetCell of `value` to f:q, at `timestampMicros` or at the server's time. */
export function setCellFq(timestampMicros?: number, value = 'v') {
  return {
    setCell: {
      family: 'f',
      qualifier: 'q',
      value,
      ...(timestampMicros === undefined ? {} : { timestampMicros }),
    },
  };
}
