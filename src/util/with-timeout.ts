/**
 * Rejects with `Error('no answer within <timeoutMs> ms')` unless `promise` settles first; the timer never outlives
 * the race. The promise itself is not cancelled: whatever it does still happens, only later than the caller waits.
 */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
