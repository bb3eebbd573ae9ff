// The one error type the Parti client throws. `kind` says what went wrong in terms the bot can act
// on (tell the user Parti is busy, say "no such creator", retry later), never a raw HTTP detail.
export type PartiErrorKind =
  /** Cloudflare answered with a challenge page instead of JSON. */
  | 'challenge'
  /** 429, still after retries, or a Retry-After longer than the client is willing to wait. */
  | 'rate_limited'
  /** No complete answer within the time limit. */
  | 'timeout'
  /** Network failure or 5xx, still after retries. */
  | 'unavailable'
  /** 404, or an empty/null answer to a lookup. */
  | 'not_found'
  /** The body is not JSON or does not match the schema. */
  | 'malformed'
  /** Any other unexpected HTTP status (4xx). */
  | 'http';

export interface PartiErrorDetails {
  status?: number | undefined;
  retryAfterMs?: number | undefined;
  cause?: unknown;
}

export class PartiError extends Error {
  override name = 'PartiError';
  readonly kind: PartiErrorKind;
  /** The route name (`user_profile`, `live`, …), as in the client's log lines. */
  readonly route: string;
  readonly status?: number;
  readonly retryAfterMs?: number;

  constructor(kind: PartiErrorKind, route: string, message: string, details: PartiErrorDetails = {}) {
    super(`Parti ${route}: ${message}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = kind;
    this.route = route;
    if (details.status !== undefined) this.status = details.status;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
  }
}

export function isPartiError(error: unknown, kind?: PartiErrorKind): error is PartiError {
  return error instanceof PartiError && (kind === undefined || error.kind === kind);
}
