// Which of several interchangeable Parti hosts (API bases, or media bases) to ask, and what the bot
// has learned about them. Bases are tried in the configured order; one that cannot be reached (DNS,
// connect, TLS) is skipped for a while, and so is one that answered 404/410 for a route another base
// then served. A 404 from a base that served the route lately is believed (the thing does not
// exist), so a missing id costs one request, not one per base. Pure state with the clock passed in:
// the HTTP client does the asking.

/** How long a base that could not be reached is skipped (then tried again, so a recovered host is used again). */
export const UNREACHABLE_SKIP_MS = 60_000;
/**
 * How long what a route taught is remembered: a base that answered 404/410 while another base served
 * the route is skipped for it, and a base that served it is believed when it answers 404.
 */
export const ROUTE_MEMORY_MS = 15 * 60_000;
/** Past this many remembered routes, expired ones are dropped (media bases remember each recording). */
const MAX_REMEMBERED = 1000;

export interface BaseSwitch {
  from: string;
  to: string;
  /** Why the previous base was left, e.g. `unreachable (ECONNREFUSED)`. */
  reason: string;
}

/** One request's way through the bases: ask `next()` until a base answers for good. */
export interface BaseWalk {
  /** The next base to ask, or undefined when none is left. */
  next(): string | undefined;
  /** No connection at all (DNS, connect, TLS): every request skips this base for a while. */
  unreachable(base: string, reason: string): void;
  /**
   * A 404 or 410. From a base that served this route lately it is final (no next base); otherwise the
   * route may be missing there, which is remembered only if another base then serves it.
   */
  missing(base: string): void;
  /** Any other HTTP answer that is not a success (5xx, 429, a challenge): the base is up; no switch. */
  answered(base: string): void;
  /** A good answer: the bases that said 404/410 before it lack the route. */
  served(base: string): void;
}

export interface BaseSet {
  readonly bases: readonly string[];
  /** The base requests go to now: the last one that answered, at first the first configured. */
  inUse(): string;
  /** `route`: what 404s are remembered by (an API route name; for media bases, the recording's path). */
  walk(route: string): BaseWalk;
}

export function createBaseSet(
  bases: readonly string[],
  options: { now?: () => number; onSwitch?: (change: BaseSwitch) => void } = {},
): BaseSet {
  const first = bases[0];
  if (first === undefined) throw new Error('at least one base is needed');
  const now = options.now ?? Date.now;
  const down = new Map<string, { until: number; reason: string }>();
  const lacking = new Map<string, number>();
  const serving = new Map<string, number>();
  let current = first;

  const routeKey = (base: string, route: string): string => `${base} ${route}`;
  const isDown = (base: string, at: number): boolean => (down.get(base)?.until ?? 0) > at;
  const lacks = (base: string, route: string, at: number): boolean => (lacking.get(routeKey(base, route)) ?? 0) > at;
  const serves = (base: string, route: string, at: number): boolean => (serving.get(routeKey(base, route)) ?? 0) > at;

  function remember(memory: Map<string, number>, key: string, until: number): void {
    if (memory.size >= MAX_REMEMBERED) for (const [old, end] of memory) if (end <= now()) memory.delete(old);
    memory.set(key, until);
  }

  function settle(base: string): void {
    down.delete(base);
    // A request that went past a reachable base because of its route (a detour) says nothing about
    // which base is in use: only the first reachable base answering makes it the one in use.
    const at = now();
    if (base === current || base !== bases.find((candidate) => !isDown(candidate, at))) return;
    const from = current;
    const left = down.get(from);
    const reason = left
      ? `unreachable (${left.reason})`
      : bases.indexOf(base) < bases.indexOf(from)
        ? 'an earlier base answers again'
        : 'the earlier base was skipped';
    current = base;
    options.onSwitch?.({ from, to: base, reason });
  }

  return {
    bases,
    inUse: () => current,
    walk(route) {
      const tried = new Set<string>();
      const missing: string[] = [];
      let answered = false;
      let final = false;
      return {
        next() {
          if (final) return undefined;
          const at = now();
          const untried = bases.filter((base) => !tried.has(base));
          // Reachable bases that serve the route, then reachable ones that lacked it lately; bases
          // that could not be reached only when nothing in this walk answered at all (all may be down).
          const pick =
            untried.find((base) => !isDown(base, at) && !lacks(base, route, at)) ??
            untried.find((base) => !isDown(base, at)) ??
            (answered ? undefined : untried[0]);
          if (pick !== undefined) tried.add(pick);
          return pick;
        },
        unreachable(base, reason) {
          down.set(base, { until: now() + UNREACHABLE_SKIP_MS, reason });
        },
        missing(base) {
          answered = true;
          down.delete(base);
          if (serves(base, route, now())) final = true;
          else missing.push(base);
        },
        answered(base) {
          answered = true;
          settle(base);
        },
        served(base) {
          answered = true;
          const until = now() + ROUTE_MEMORY_MS;
          for (const other of missing) remember(lacking, routeKey(other, route), until);
          lacking.delete(routeKey(base, route));
          remember(serving, routeKey(base, route), until);
          settle(base);
        },
      };
    },
  };
}
