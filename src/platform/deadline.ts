/** Thrown when a platform call did not answer in time. */
export class DeadlineError extends Error {
  override name = "DeadlineError";
}

/**
 * Races a platform call against a deadline, so that a KV, R2 or ledger call that never answers
 * becomes a 503 instead of a request that hangs. The call itself is not cancelled. With `from`,
 * the clock starts only once `from` has settled (a write whose body is still arriving).
 */
export async function withDeadline<T>(operation: string, ms: number, call: () => Promise<T>, from: Promise<unknown> = Promise.resolve()): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let settled = false;
  const deadline = new Promise<never>((_, reject) => {
    const start = () => {
      if (!settled) timer = setTimeout(() => reject(new DeadlineError(`${operation} did not answer within ${ms} ms`)), ms);
    };
    from.then(start, start);
  });
  try {
    return await Promise.race([call(), deadline]);
  } finally {
    settled = true;
    clearTimeout(timer);
  }
}
