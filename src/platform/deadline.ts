/** Thrown when a platform call did not answer in time. */
export class DeadlineError extends Error {
  override name = "DeadlineError";
}

/**
 * Races a platform call against a deadline, so that a KV, R2 or ledger call that never answers
 * becomes a 503 instead of a request that hangs. The call itself is not cancelled.
 */
export async function withDeadline<T>(operation: string, ms: number, call: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(`${operation} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([call(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
