// The watch party as a Discord Activity, server side: the page inside Discord signs in with the
// Embedded App SDK (authorize → a one-time code), and POST /api/v1/activity/token turns that code
// into the party token the shared player uses. The code is exchanged at Discord's OAuth2 token
// endpoint with DISCORD_CLIENT_SECRET, the user read from /users/@me with the access token, and the
// Activity instance asked of Discord with the bot's token: its users must include that user, and its
// location (not what the page says) gives the channel. The instance is the party's key: everyone in
// one instance is in one party, made on the first launch (the launcher hosts it) or found through the
// channel a party is bound to (`/party create` there, or with `voice-channel`).
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { REST } from 'discord.js';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Config } from '../config.js';
import { addressKey } from '../http/clientAddress.js';
import type { Store } from '../store/index.js';
import { activityMappings } from './activityMappings.js';
import { PartyError } from './errors.js';
import { partyKeys } from './persistence.js';
import type { ProxyMapping } from './player/proxyUrl.js';
import { createMemoryRateLimiter, type RateLimiter } from './rateLimit.js';
import type { PartyService, PartyUser } from './service.js';

export const ACTIVITY_TOKEN_ROUTE = '/api/v1/activity/token';
/** How long an instance remembers its party; an instance lives as long as someone is in it. */
const INSTANCE_TTL_MS = 24 * 60 * 60 * 1000;
const HOUR = 60 * 60 * 1000;
const DISCORD_TIMEOUT_MS = 10_000;

export const activityKeys = {
  /** The party an Activity instance plays: `{ id, code }`. */
  instance: (instanceId: string) => `activity:${instanceId}`,
};

/**
 * The app's Entry Point command (type 4, PRIMARY_ENTRY_POINT): the Activity's button in Discord's
 * launcher. Discord launches it itself (handler 2), so the bot never sees it pressed.
 */
export const ENTRY_POINT_COMMAND = {
  name: 'launch',
  description: 'Watch together in this channel',
  type: 4,
  handler: 2,
  integration_types: [0],
  contexts: [0],
} as const;

/** The origin of the app's page inside Discord: its proxy passes it on to the party server. */
export const activityPageOrigin = (applicationId: string): string => `https://${applicationId}.discordsays.com`;

/** Whether the Activity is on: it needs the client secret, and nothing else that could be missing. */
export const activityEnabled = (config: Pick<Config, 'DISCORD_CLIENT_SECRET'>): boolean =>
  config.DISCORD_CLIENT_SECRET !== undefined;

const tokenBody = z
  .object({
    code: z.string().min(1).max(200),
    instance_id: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[\w:.-]+$/),
  })
  .strict();
const oauthToken = z.object({ access_token: z.string().min(1), scope: z.string().default('') });
const discordUser = z.object({
  id: z.string().regex(/^\d{17,20}$/),
  username: z.string().min(1),
  global_name: z.string().nullish(),
  avatar: z.string().nullish(),
});
const activityInstance = z.object({
  instance_id: z.string(),
  location: z.object({ channel_id: z.string(), guild_id: z.string().nullish() }),
  users: z.array(z.string()),
});

export interface ActivitySession {
  /** For the SDK's authenticate command. */
  access_token: string;
  /** The party token, scoped to the instance's party. */
  token: string;
  expires_at: string;
  party_id: string;
  invite_code: string;
  user: { id: string; name: string };
  /** How the page reaches the party server and media through Discord's proxy. */
  mappings: ProxyMapping[];
}

export interface ActivityOptions {
  config: Pick<
    Config,
    | 'DISCORD_API_URL'
    | 'DISCORD_CLIENT_SECRET'
    | 'PUBLIC_URL'
    | 'PARTI_MEDIA_URL'
    | 'ACTIVITY_MEDIA_ORIGINS'
    | 'PARTY_JOINS_PER_HOUR'
  >;
  party: PartyService;
  store: Pick<Store, 'parties'>;
  /** The bot's REST client (it may read its application's Activity instances). */
  rest: Pick<REST, 'get'>;
  /** The application (OAuth2 client) id, once Discord has said it. */
  applicationId: () => Promise<string>;
  rateLimiter?: RateLimiter;
}

/** The sign-in of an Activity page, from a one-time OAuth2 code to a party token. */
export function createActivitySignIn(options: ActivityOptions) {
  const { config, party, store, rest } = options;
  const secret = config.DISCORD_CLIENT_SECRET;
  const api = `${config.DISCORD_API_URL.replace(/\/+$/, '')}/v10`;
  const limiter = options.rateLimiter ?? createMemoryRateLimiter();
  const mappings = activityMappings(config);
  /** One find-or-create at a time per instance, so two frames landing at once share one party. */
  const pending = new Map<string, Promise<unknown>>();

  async function exchange(code: string, clientId: string): Promise<{ accessToken: string; user: PartyUser }> {
    if (!secret) throw new PartyError(404, 'NOT_FOUND', 'the Activity is not enabled on this bot');
    const answer = await fetch(`${api}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: clientId, client_secret: secret, grant_type: 'authorization_code', code }),
      signal: AbortSignal.timeout(DISCORD_TIMEOUT_MS),
    });
    // Discord answers 400 invalid_grant for a code it never issued, one used before, or one expired.
    if (answer.status === 400 || answer.status === 401) {
      throw new PartyError(401, 'UNAUTHORIZED', 'Discord did not accept this sign-in: open the Activity again');
    }
    if (!answer.ok) throw new PartyError(502, 'PARTY_UNAVAILABLE', 'Discord is not answering: try again shortly');
    const token = oauthToken.parse(await answer.json());
    if (!token.scope.split(' ').includes('identify')) {
      throw new PartyError(401, 'UNAUTHORIZED', 'the sign-in must allow identify');
    }
    const me = await fetch(`${api}/users/@me`, {
      headers: { authorization: `Bearer ${token.access_token}` },
      signal: AbortSignal.timeout(DISCORD_TIMEOUT_MS),
    });
    if (!me.ok) throw new PartyError(502, 'PARTY_UNAVAILABLE', 'Discord is not answering: try again shortly');
    const user = discordUser.parse(await me.json());
    return {
      accessToken: token.access_token,
      user: {
        id: user.id,
        name: user.global_name || user.username,
        avatar: user.avatar ? `https://cdn.discordapp.com/avatars/${user.id}/${user.avatar}.png?size=128` : null,
      },
    };
  }

  /** The instance as Discord knows it: who is in it and where it runs. */
  async function instanceOf(clientId: string, instanceId: string, userId: string) {
    const found = await rest
      .get(`/applications/${clientId}/activity-instances/${encodeURIComponent(instanceId)}`)
      .catch(() => null);
    const instance = activityInstance.safeParse(found);
    if (!instance.success || !instance.data.users.includes(userId)) {
      throw new PartyError(403, 'FORBIDDEN', 'you are not in this Activity');
    }
    return instance.data;
  }

  /** The party of an instance: remembered, else the one bound to its channel, else a new one. */
  async function partyOf(
    instanceId: string,
    channelId: string,
    user: PartyUser,
  ): Promise<{ id: string; code: string; hostToken?: { token: string; expires_at: string } }> {
    const key = activityKeys.instance(instanceId);
    const remembered = await store.parties.get<{ id: string; code: string }>(key);
    if (remembered && (await party.getParty(remembered.id))) return remembered;
    const boundId = await store.parties.get<string>(partyKeys.channel(channelId));
    const bound = boundId ? await party.getParty(boundId) : null;
    if (bound) {
      const entry = { id: bound.id, code: bound.invite_code };
      await store.parties.set(key, entry, INSTANCE_TTL_MS);
      return entry;
    }
    const created = await party.createParty({ host: user, visibility: 'private' });
    const entry = { id: created.id, code: created.invite_code };
    await store.parties.set(key, entry, INSTANCE_TTL_MS);
    // The channel is the party's from now on: the next launch there, and /party in its chat, find it.
    await store.parties.set(partyKeys.channel(channelId), created.id);
    return { ...entry, hostToken: { token: created.token, expires_at: created.expires_at } };
  }

  function serialized<T>(key: string, run: () => Promise<T>): Promise<T> {
    const previous = pending.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(run);
    pending.set(key, next);
    void next.finally(() => pending.get(key) === next && pending.delete(key)).catch(() => undefined);
    return next;
  }

  return {
    mappings,
    async signIn(body: unknown, address: string): Promise<ActivitySession> {
      const decision = await limiter.hit(`activity:${addressKey(address)}`, config.PARTY_JOINS_PER_HOUR, HOUR);
      if (!decision.ok) {
        throw new PartyError(
          429,
          'RATE_LIMITED',
          'too many sign-ins from this address; try later',
          Math.ceil(decision.retryAfterMs / 1000),
        );
      }
      const parsed = tokenBody.safeParse(body ?? {});
      if (!parsed.success) throw new PartyError(400, 'INVALID_INPUT', 'code and instance_id are required');
      const clientId = await options.applicationId();
      const { accessToken, user } = await exchange(parsed.data.code, clientId);
      const instance = await instanceOf(clientId, parsed.data.instance_id, user.id);
      const found = await serialized(instance.instance_id, () =>
        partyOf(instance.instance_id, instance.location.channel_id, user),
      );
      const session: { token: string; expires_at: string } =
        found.hostToken ??
        (await party.joinByCode(found.code, user, { address }).then((joined) => ({
          token: joined.token,
          expires_at: joined.expires_at,
        })));
      return {
        access_token: accessToken,
        ...session,
        party_id: found.id,
        invite_code: found.code,
        user: { id: user.id, name: user.name },
        mappings,
      };
    },
  };
}

export type ActivitySignIn = ReturnType<typeof createActivitySignIn>;

/** Mounts POST /api/v1/activity/token. Call before `listen()`. */
export function registerActivityRoutes<AppLogger extends FastifyBaseLogger>(
  app: FastifyInstance<Server, IncomingMessage, ServerResponse, AppLogger>,
  signIn: ActivitySignIn,
): void {
  const log = app.log.child({ module: 'activity' });
  app.post(ACTIVITY_TOKEN_ROUTE, async (request, reply) => {
    try {
      const session = await signIn.signIn(request.body, request.ip);
      return await reply.header('cache-control', 'no-store').send({ success: true, data: session });
    } catch (error) {
      if (error instanceof PartyError) {
        if (error.retryAfterSeconds !== undefined) void reply.header('retry-after', String(error.retryAfterSeconds));
        return reply.code(error.status).send({ success: false, error: { code: error.code, message: error.message } });
      }
      log.error({ err: error }, 'activity sign-in failed');
      return reply.code(502).send({
        success: false,
        error: { code: 'PARTY_UNAVAILABLE', message: 'could not sign in: try again shortly' },
      });
    }
  });
}
