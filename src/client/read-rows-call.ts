/**
 * One attempt of a ReadRows stream: its messages pulled one at a time (so the connection's flow
 * control is the backpressure), each wait bounded, and an ending that never resets a stream the
 * server is about to finish.
 *
 * Why the ending matters: cancelling a gRPC call sends RST_STREAM. A read whose rows have all
 * arrived but whose status (HTTP/2 trailers) has not yet been read is still open, so cancelling it
 * then resets a stream that was completing anyway. Servers count resets to defend against
 * HTTP/2 rapid reset (CVE-2023-44487): Node's nghttp2 closes the connection with GOAWAY after about
 * a thousand, and every call in flight on it fails. So `close(true)` reads on to the end of the
 * stream (bounded by READ_DRAIN_MS_MAX and READ_DRAIN_MESSAGES_MAX) and cancels only if the end
 * does not come; `close(false)` — a genuine early stop: the caller left before the read was done, or
 * the attempt failed — cancels.
 *
 * grpc-js semantics relied on: the stream is a Readable that ends (and its iterator finishes) only
 * after the call's status arrived, once every message has been read; a non-OK status rejects the
 * pending read; `cancel()` after the status is a no-op. The iterator is never `return()`ed while the
 * call may still be open, because that destroys the Readable without ending the call.
 *
 * Ownership: one consumer at a time (`next` and `close` are never called concurrently); `close`
 * may be called more than once.
 */
import type { ClientReadableStream } from '@grpc/grpc-js';
import { ErrorCode, TabulaError } from '../common/errors.js';
import { READ_DRAIN_MESSAGES_MAX, READ_DRAIN_MS_MAX } from './client-limits.js';
import type { Message } from './grpc-channel.js';
import type { RetryEffects } from './retry-policy.js';

/** A ReadRows call read message by message. */
export class ReadRowsCall {
  private readonly messages: AsyncIterator<unknown>;
  /** Set once the stream ended or failed: nothing is left to read or cancel. */
  private finished = false;

  constructor(
    private readonly call: ClientReadableStream<Message>,
    private readonly idleMs: number,
    private readonly effects: RetryEffects,
  ) {
    this.messages = call[Symbol.asyncIterator]();
    // Failures reach the reader through `messages`; this keeps one that comes while no read is
    // pending (after a cancel) from being an uncaught 'error' event.
    call.on('error', () => {});
  }

  /**
   * The next message, or undefined once the stream ended with an OK status. Rejects with the
   * call's error, or with DEADLINE_EXCEEDED when nothing came for `waitMs` (the attempt is then
   * cancelled).
   */
  async next(waitMs = this.idleMs): Promise<Message | undefined> {
    let stopTimer: () => void = () => {};
    const idle = new Promise<never>((_, reject) => {
      stopTimer = this.effects.timer(waitMs, () =>
        reject(
          new TabulaError(ErrorCode.DeadlineExceeded, 'no message from the server in time', {
            waitMs,
          }),
        ),
      );
    });
    try {
      // Promise.race subscribes to both, so the read left pending after a timeout is handled.
      const result = await Promise.race([this.messages.next(), idle]);
      if (result.done === true) this.finished = true;
      return result.done === true ? undefined : (result.value as Message);
    } catch (err) {
      if (!(err instanceof TabulaError && err.code === ErrorCode.DeadlineExceeded)) this.finished = true;
      throw err;
    } finally {
      stopTimer();
    }
  }

  /**
   * Ends the attempt. `complete`: the caller has every row the request can return, so the rest
   * of the stream is read (and discarded) up to its status, within bounds; otherwise, or when the
   * bounds run out, the call is cancelled.
   */
  async close(complete: boolean): Promise<void> {
    if (this.finished) return;
    if (complete) {
      const untilMs = this.effects.nowMs() + Math.min(READ_DRAIN_MS_MAX, this.idleMs);
      try {
        for (let n = 0; n <= READ_DRAIN_MESSAGES_MAX && !this.finished; n++) {
          const leftMs = untilMs - this.effects.nowMs();
          if (leftMs <= 0) break;
          await this.next(leftMs);
        }
      } catch {
        // The read already has its rows; a failure of the stream's tail changes nothing.
      }
    }
    if (!this.finished) {
      this.finished = true;
      this.call.cancel();
    }
  }
}
