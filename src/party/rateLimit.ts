// Request rate limits (creates and joins per user and per IP) behind a small async interface, so a
// shared store (Redis) can replace the in-memory one when the bot runs as several processes.
export type RateDecision = { ok: true } | { ok: false; retryAfterMs: number };

export interface RateLimiter {
  /** Counts one request for `key` and says whether it is within `limit` per `windowMs`. */
  hit(key: string, limit: number, windowMs: number): Promise<RateDecision>;
}

/** A sliding-window log per key: exact, and small because a key never holds more than `limit` stamps. */
export function createMemoryRateLimiter(now: () => number = Date.now): RateLimiter {
  const logs = new Map<string, number[]>();
  let hits = 0;

  const prune = (log: number[], windowMs: number, at: number): void => {
    while (log.length > 0 && (log[0] ?? 0) <= at - windowMs) log.shift();
  };

  return {
    hit(key, limit, windowMs) {
      const at = now();
      // Keys for users who never come back would pile up; an occasional sweep drops the idle ones.
      if (++hits % 1000 === 0) {
        for (const [other, log] of logs) if ((log.at(-1) ?? 0) <= at - windowMs) logs.delete(other);
      }
      const log = logs.get(key) ?? [];
      prune(log, windowMs, at);
      if (log.length >= limit) {
        return Promise.resolve({ ok: false, retryAfterMs: Math.max(1, (log[0] ?? at) + windowMs - at) });
      }
      log.push(at);
      logs.set(key, log);
      return Promise.resolve({ ok: true });
    },
  };
}
