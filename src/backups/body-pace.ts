// The minimum pace of an upload body. A client that trickles its body (or stops sending it)
// would hold its reservation, and so its organisation's quota, for as long as it liked; so the
// body is read in slices, and each slice must arrive within a window of waiting for the client.

import { BODY_SLICE_BYTES, TIMINGS } from "../config";

/**
 * Tracks one body's pace. Every `BODY_SLICE_BYTES` (512 KiB, or the rest of the body) must
 * arrive within `bodyWindowMs` (32 s) of waiting for the client, the first slice within
 * `bodyGraceMs` (30 s) more: at least 16 KiB/s, and a stalled body is cut off within 32 s.
 * Only time spent waiting for the client counts, never time spent waiting for R2.
 * @example const pace = new BodyPace(); const ms = pace.allowanceMs(); … pace.record(bytes, waitedMs);
 */
export class BodyPace {
  private sliceBytes = 0;
  private sliceWaitedMs = 0;
  private firstSlice = true;

  /** How long the next read may wait for the client before the body is too slow. */
  allowanceMs(): number {
    return (this.firstSlice ? TIMINGS.bodyGraceMs : 0) + TIMINGS.bodyWindowMs - this.sliceWaitedMs;
  }

  /** Bytes still missing from the current slice: a read that asks for these completes the slice. */
  missingBytes(): number {
    return BODY_SLICE_BYTES - this.sliceBytes;
  }

  /** Records a read that waited `waitedMs` and brought `bytes`. */
  record(bytes: number, waitedMs: number): void {
    this.sliceWaitedMs += waitedMs;
    this.sliceBytes += bytes;
    while (this.sliceBytes >= BODY_SLICE_BYTES) {
      this.sliceBytes -= BODY_SLICE_BYTES;
      this.sliceWaitedMs = 0;
      this.firstSlice = false;
    }
  }
}

/** A read raced against the pace's allowance: the chunk, or "too slow" when the allowance ran out first. */
export async function pacedRead<T>(pace: BodyPace, read: () => Promise<T>, bytesOf: (result: T) => number): Promise<T | "too slow"> {
  const started = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"too slow">((resolve) => (timer = setTimeout(() => resolve("too slow"), Math.max(0, pace.allowanceMs()))));
  try {
    const result = await Promise.race([read(), expired]);
    if (result !== "too slow") pace.record(bytesOf(result), Date.now() - started);
    return result;
  } finally {
    clearTimeout(timer);
  }
}
