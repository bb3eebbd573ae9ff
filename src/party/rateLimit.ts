// Request rate limits (creates, joins, wrong invite codes, refused socket upgrades) behind a small
// async interface, so a shared store (Redis) can replace the in-memory one when the bot runs as
// several processes.
export type RateDecision = { ok: true } | { ok: false; retryAfterMs: number };

export interface RateLimiter {
  /** Counts one request for `key` and says whether it is within `limit` per `windowMs`. */
  hit(key: string, limit: number, windowMs: number): Promise<RateDecision>;
  /** Whether one more would be within the limit, counting nothing. */
  peek(key: string, limit: number, windowMs: number): Promise<RateDecision>;
}

/** A sliding-window log per key: exact, and small because a key never holds more than `limit` stamps. */
export function createMemoryRateLimiter(now: () => number = Date.now): RateLimiter {
  const logs = new Map<string, number[]>();
  let hits = 0;

  /** The key's stamps still in the window, or the refusal when they fill it. */
  const check = (
    key: string,
    limit: number,
    windowMs: number,
    at: number,
  ): { log: number[]; decision: RateDecision } => {
    const log = logs.get(key) ?? [];
    while (log.length > 0 && (log[0] ?? 0) <= at - windowMs) log.shift();
    if (log.length >= limit) {
      return { log, decision: { ok: false, retryAfterMs: Math.max(1, (log[0] ?? at) + windowMs - at) } };
    }
    return { log, decision: { ok: true } };
  };

  return {
    hit(key, limit, windowMs) {
      const at = now();
      // Keys of addresses that never come back would pile up; an occasional sweep drops the idle ones.
      if (++hits % 1000 === 0) {
        for (const [other, log] of logs) if ((log.at(-1) ?? 0) <= at - windowMs) logs.delete(other);
      }
      const { log, decision } = check(key, limit, windowMs, at);
      if (decision.ok) {
        log.push(at);
        logs.set(key, log);
      }
      return Promise.resolve(decision);
    },
    peek: (key, limit, windowMs) => Promise.resolve(check(key, limit, windowMs, now()).decision),
  };
}
