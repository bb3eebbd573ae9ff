// Party bearer tokens: HS256 JWTs (jose) naming a user, their display name and avatar, and
// optionally the one party they are good for plus a role hint. The key comes from PARTY_SECRET or
// is generated once and kept in store.meta, so tokens the bot handed out survive a restart.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import type { Store } from '../store/index.js';

const ISSUER = 'parti-bot';
const AUDIENCE = 'watch-party';
const SECRET_KEY = 'party-token-secret';
/** Tolerates small clock differences between the bot and whoever minted a token (the CLI). */
const CLOCK_TOLERANCE_SECONDS = 5;

export const DEFAULT_TOKEN_TTL_SECONDS = 12 * 60 * 60;
export const GUEST_TOKEN_TTL_SECONDS = 4 * 60 * 60;

export type RoleHint = 'host' | 'co-host' | 'viewer';

export interface TokenUser {
  /** A Discord user id for members; `guest:…` for guests. */
  id: string;
  name: string;
  avatar?: string | null | undefined;
}

export interface TokenClaims {
  user: { id: string; name: string; avatar: string | null };
  /** The only party this token may be used with; absent = any party. */
  partyId: string | null;
  roleHint: RoleHint | null;
  guest: boolean;
  /** When it was signed: a member who left a private party after this is not let in with it. */
  issuedAt: Date;
  expiresAt: Date;
}

export interface SignOptions {
  partyId?: string | null | undefined;
  roleHint?: RoleHint | null | undefined;
  guest?: boolean | undefined;
  ttlSeconds?: number | undefined;
}

export type TokenFailure = 'missing' | 'expired' | 'invalid';

export class TokenError extends Error {
  override name = 'TokenError';
  constructor(readonly reason: TokenFailure) {
    super(reason === 'missing' ? 'no token' : reason === 'expired' ? 'token expired' : 'token invalid');
  }
}

const payloadSchema = z.object({
  sub: z.string().min(1).max(100),
  name: z.string().min(1).max(64),
  avatar: z.string().max(2048).nullish(),
  pid: z.string().max(64).nullish(),
  role: z.enum(['host', 'co-host', 'viewer']).nullish(),
  guest: z.boolean().optional(),
  iat: z.number().optional(),
  exp: z.number(),
});

export interface TokenSigner {
  sign(user: TokenUser, options?: SignOptions): Promise<{ token: string; expiresAt: Date }>;
  /** Throws TokenError. */
  verify(token: string | null | undefined): Promise<TokenClaims>;
}

export function createTokenSigner(secret: Uint8Array, now: () => number = Date.now): TokenSigner {
  return {
    async sign(user, options = {}) {
      const ttl = Math.max(1, Math.round(options.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS));
      const issuedAt = Math.floor(now() / 1000);
      const exp = issuedAt + ttl;
      const token = await new SignJWT({
        name: user.name,
        ...(user.avatar ? { avatar: user.avatar } : {}),
        ...(options.partyId ? { pid: options.partyId } : {}),
        ...(options.roleHint ? { role: options.roleHint } : {}),
        ...(options.guest ? { guest: true } : {}),
      })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(user.id)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(issuedAt)
        .setExpirationTime(exp)
        .sign(secret);
      return { token, expiresAt: new Date(exp * 1000) };
    },

    async verify(token) {
      if (!token) throw new TokenError('missing');
      let payload: unknown;
      try {
        ({ payload } = await jwtVerify(token, secret, {
          algorithms: ['HS256'],
          issuer: ISSUER,
          audience: AUDIENCE,
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          currentDate: new Date(now()),
          requiredClaims: ['exp', 'sub'],
        }));
      } catch (error) {
        throw new TokenError(error instanceof joseErrors.JWTExpired ? 'expired' : 'invalid');
      }
      const parsed = payloadSchema.safeParse(payload);
      if (!parsed.success) throw new TokenError('invalid');
      const claims = parsed.data;
      return {
        user: { id: claims.sub, name: claims.name, avatar: claims.avatar ?? null },
        partyId: claims.pid ?? null,
        roleHint: claims.role ?? null,
        guest: claims.guest === true,
        issuedAt: new Date((claims.iat ?? 0) * 1000),
        expiresAt: new Date(claims.exp * 1000),
      };
    },
  };
}

/**
 * The signing key: PARTY_SECRET when set, else the one kept in store.meta, else a new one
 * (32 random bytes) stored for next time. Several processes starting at once on one Redis (or the
 * bot and the token CLI) must end up with the same key: only the holder of a short lease creates
 * it, and the others wait until it is there.
 */
export async function loadPartySecret(
  store: Pick<Store, 'meta' | 'lease'>,
  configured: string | undefined,
): Promise<Uint8Array> {
  if (configured) return new TextEncoder().encode(configured);
  const owner = randomBytes(8).toString('hex');
  for (let attempt = 0; attempt < 100; attempt++) {
    const stored = await store.meta.get<string>(SECRET_KEY);
    if (typeof stored === 'string' && stored.length >= 43) return Buffer.from(stored, 'base64url');
    if (await store.lease(SECRET_KEY, owner, 10_000)) {
      // Read again under the lease: another process may have written it just before.
      if (!(await store.meta.get<string>(SECRET_KEY))) {
        await store.meta.set(SECRET_KEY, randomBytes(32).toString('base64url'));
      }
      continue;
    }
    await sleep(100);
  }
  throw new Error('could not keep the party token secret in the store');
}
