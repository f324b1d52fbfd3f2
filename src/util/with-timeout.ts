/**
 * Waits for `promise` for at most `timeoutMs`. When time runs out first, the result is what `onTimeout` decides:
 * the value it returns, or the error it throws; by default it throws `Error('no answer within <timeoutMs> ms')`.
 * The timer never outlives the race. The promise itself is not cancelled: whatever it does still happens, only
 * later than the caller waits.
 */
export async function withTimeout<T, U = never>(
  promise: Promise<T>,
  timeoutMs: number,
  onTimeout: () => U = () => {
    throw new Error(`no answer within ${timeoutMs} ms`);
  },
): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<U>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    }, timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
