/**
 * RE2 regular expressions over raw bytes, with the semantics of Bigtable's regex filters: RE2 syntax
 * in raw byte mode (RE2::Latin1), evaluated as a FULL match (data.proto, RowFilter).
 *
 * The `re2` package only runs RE2 in UTF-8 mode. We get Latin-1 semantics by transcoding: each byte
 * b of the subject becomes the code point U+00bb, and so does each byte of the pattern. A literal
 * byte, `.` (one byte, not `\n`), `[^x]` and `\xHH` then each match exactly one original byte, as in
 * Latin-1 mode. The one construct that would break is `\C` ("any byte"): in UTF-8 mode it matches
 * one byte of the internal UTF-8 encoding, half of a transcoded code point ≥ 0x80. We rewrite
 * every `\C` to `(?s:.)`, which under the transcoding is exactly "any one original byte".
 *
 * JS RegExp is never used on user patterns. RE2 runs in time linear in the subject. The `re2`
 * package also accepts a few JS-only escapes (`\cX`, `\uXXXX`) that RE2 rejects; we reject them
 * first so that what compiles here is what compiles in Bigtable.
 */
import RE2 from 're2';
import { errors } from '../common/errors.js';

/** A compiled full-match byte regex. */
export interface ByteRegex {
  /** The pattern as given, rendered as Latin-1 text, for error messages. */
  readonly source: string;
  /** Whether the whole of `subject` matches. */
  matches(subject: Uint8Array): boolean;
}

/**
 * Rewrites a Latin-1-transcoded pattern for the UTF-8 engine: `\C` outside a character class
 * becomes `(?s:.)`; text inside `\Q…\E` is left alone (and an unterminated `\Q` is closed, so the
 * anchoring wrapper cannot be swallowed into the literal); `\c` and `\u` are rejected.
 */
export function rewriteLatin1Pattern(pattern: string, field: string): string {
  let out = '';
  let inClass = false;
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i] as string;
    if (ch === '\\' && i + 1 < pattern.length) {
      const next = pattern[i + 1] as string;
      if (next === 'Q') {
        const end = pattern.indexOf('\\E', i + 2);
        const stop = end === -1 ? pattern.length : end + 2;
        out += pattern.slice(i, stop) + (end === -1 ? '\\E' : '');
        i = stop;
        continue;
      }
      if (next === 'c' || next === 'u') {
        throw errors.invalidArgument('invalid escape in regular expression', { field, escape: `\\${next}` });
      }
      out += next === 'C' && !inClass ? '(?s:.)' : ch + next;
      i += 2;
      continue;
    }
    if (inClass) {
      const posixEnd = ch === '[' && pattern[i + 1] === ':' ? pattern.indexOf(':]', i + 2) : -1;
      if (posixEnd !== -1) {
        // A POSIX class such as `[:alpha:]` inside a bracket expression: its `]` does not close.
        out += pattern.slice(i, posixEnd + 2);
        i = posixEnd + 2;
        continue;
      }
      if (ch === ']') inClass = false;
    } else if (ch === '[') {
      inClass = true;
      // A `]` right after `[` or `[^` is a literal member, not the end of the class.
      const after = pattern[i + 1] === '^' ? i + 2 : i + 1;
      if (pattern[after] === ']') {
        out += pattern.slice(i, after + 1);
        i = after + 1;
        continue;
      }
    }
    out += ch;
    i++;
  }
  return out;
}

function compileOrThrow(source: string, field: string, shown: string): RE2 {
  try {
    return new RE2(source, 'u');
  } catch (err) {
    const reason = err instanceof Error ? err.message.toLowerCase() : 'invalid pattern';
    throw errors.invalidArgument('invalid regular expression', { field, pattern: shown, reason });
  }
}

/**
 * Compiles `pattern` (raw bytes) as a full-match Latin-1 RE2 regex. A pattern RE2 rejects is
 * INVALID_ARGUMENT naming `field`.
 */
export function compileByteRegex(pattern: Uint8Array, field: string): ByteRegex {
  const latin1 = Buffer.from(pattern.buffer, pattern.byteOffset, pattern.byteLength).toString('latin1');
  const shown = latin1.length > 64 ? `${latin1.slice(0, 64)}…` : latin1;
  const rewritten = rewriteLatin1Pattern(latin1, field);
  // Compile alone first: a pattern with unbalanced parentheses could otherwise escape the group.
  compileOrThrow(rewritten, field, shown);
  const anchored = compileOrThrow(`^(?:${rewritten})$`, field, shown);
  return {
    source: shown,
    matches(subject: Uint8Array): boolean {
      const text = Buffer.from(subject.buffer, subject.byteOffset, subject.byteLength).toString('latin1');
      return anchored.test(text);
    },
  };
}
