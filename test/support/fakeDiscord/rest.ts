// The REST route table (paths below /api/v10). Each handler translates HTTP into a call on the
// FakeDiscordServer and returns Discord's status codes: 200 with the object, 201 for a new command,
// 204 for deletions and interaction callbacks without `with_response`.
import { PermissionFlagsBits } from 'discord.js';
import { ApiError, FormErrors, err } from './errors.js';
import { compileRoute } from './http.js';
import type { FakeDiscordServer } from './server.js';
import type { FakeChannel, FakeGuild, UploadedFile } from './types.js';
import { scheduledEventRoutes } from './scheduledEvents.js';
import { threadRoutes } from './threads.js';
import { validateMessageBody } from './validation.js';

type Json = Record<string, unknown>;

export interface RouteContext {
  params: Record<string, string>;
  query: URLSearchParams;
  /** The body if it is a JSON object, else `{}`. */
  body: Json;
  rawBody: unknown;
  files: UploadedFile[];
  /** Lower-cased header names. */
  headers: Record<string, string>;
}

export interface RouteResult {
  status: number;
  body?: unknown;
}

export interface Route {
  method: string;
  pattern: string;
  match: (path: string) => Record<string, string> | undefined;
  /** Needs `Authorization: Bot <token>`; interaction callbacks and webhook-token routes do not. */
  auth: boolean;
  handler: (ctx: RouteContext) => RouteResult | Promise<RouteResult>;
}

const ok = (body: unknown): RouteResult => ({ status: 200, body });
const noContent = (): RouteResult => ({ status: 204 });

export function buildRoutes(f: FakeDiscordServer): Route[] {
  const routes: Route[] = [];
  const add = (method: string, pattern: string, handler: Route['handler'], auth = true): void => {
    routes.push({ method, pattern, match: compileRoute(pattern), auth, handler });
  };

  const channelFor = (id: string | undefined): FakeChannel => {
    const channel = id === undefined ? undefined : f.channels.get(id);
    if (!channel) throw err.unknownChannel();
    return channel;
  };
  const guildFor = (id: string | undefined): FakeGuild => {
    const guild = id === undefined ? undefined : f.guilds.get(id);
    if (!guild) throw err.unknownGuild();
    return guild;
  };
  const assertApp = (app: string | undefined): void => {
    if (app !== f.applicationId) throw err.missingAccess();
  };
  // Guild commands need the bot in the guild, else Discord answers 403 Missing Access.
  const commandGuild = (id: string | undefined): string => {
    if (id === undefined || !f.guilds.has(id)) throw err.missingAccess();
    return id;
  };
  const P = PermissionFlagsBits;
  const requireView = (channel: FakeChannel): bigint => {
    const perms = f.botPermissionsIn(channel.id);
    if (!(perms & P.ViewChannel)) throw err.missingAccess();
    return perms;
  };

  // Gateway discovery
  add('GET', '/gateway', () => ok({ url: f.gatewayUrl }), false);
  add('GET', '/gateway/bot', () =>
    ok({
      url: f.gatewayUrl,
      shards: 1,
      session_start_limit: {
        total: 1000,
        remaining: Math.max(0, 1000 - f.gateway.identifies),
        reset_after: 86_400_000,
        max_concurrency: 1,
      },
    }),
  );

  // Users and application
  // The bot (Bot token), or the user an OAuth2 bearer token was issued for (oauth.ts).
  add(
    'GET',
    '/users/@me',
    ({ headers }) => {
      const user = f.oauth.bearerUser(headers['authorization']);
      if (user) return ok(structuredClone(user));
      if (headers['authorization'] !== `Bot ${f.token}`) throw err.unauthorized();
      return ok(structuredClone(f.botUser));
    },
    false,
  );
  add('POST', '/oauth2/token', ({ rawBody }) => ok(f.oauth.token(rawBody)), false);
  add('GET', '/applications/:app/activity-instances/:instance', ({ params }) =>
    ok(f.oauth.instance(params['app']!, params['instance']!)),
  );
  add('GET', '/users/@me/guilds', () =>
    ok(
      [...f.guilds.values()].map((g) => ({
        id: g.id,
        name: g.name,
        icon: null,
        banner: null,
        owner: false,
        permissions: '0',
        features: [],
      })),
    ),
  );
  add('DELETE', '/users/@me/guilds/:guild', ({ params }) => {
    guildFor(params['guild']);
    f.removeGuild(params['guild']!);
    return noContent();
  });
  add('GET', '/users/:user', ({ params }) => {
    const user = f.users.get(params['user'] ?? '');
    if (!user) throw err.unknownUser();
    return ok(structuredClone(user));
  });
  add('GET', '/applications/@me', () => ok(f.applicationApi()));
  add('GET', '/oauth2/applications/@me', () => ok(f.applicationApi()));

  // Application commands: global, then guild
  for (const scope of ['global', 'guild'] as const) {
    const base = scope === 'global' ? '/applications/:app/commands' : '/applications/:app/guilds/:guild/commands';
    const guildOf = (params: Record<string, string>): string | undefined =>
      scope === 'global' ? undefined : commandGuild(params['guild']);
    add('GET', base, ({ params }) => {
      assertApp(params['app']);
      return ok(structuredClone(f.commandList(guildOf(params))));
    });
    add('PUT', base, ({ params, rawBody }) => {
      assertApp(params['app']);
      return ok(f.putCommands(guildOf(params), rawBody));
    });
    add('POST', base, ({ params, rawBody }) => {
      assertApp(params['app']);
      const { created, command } = f.upsertCommand(guildOf(params), rawBody);
      return { status: created ? 201 : 200, body: command };
    });
    add('GET', `${base}/:command`, ({ params }) => {
      assertApp(params['app']);
      const command = f.commandList(guildOf(params)).find((c) => c.id === params['command']);
      if (!command) throw err.unknownCommand();
      return ok(structuredClone(command));
    });
    add('PATCH', `${base}/:command`, ({ params, rawBody }) => {
      assertApp(params['app']);
      return ok(f.patchCommand(guildOf(params), params['command']!, rawBody));
    });
    add('DELETE', `${base}/:command`, ({ params }) => {
      assertApp(params['app']);
      f.deleteCommand(guildOf(params), params['command']!);
      return noContent();
    });
  }

  // Interaction callback (no Authorization: the token in the path is the credential)
  add(
    'POST',
    '/interactions/:id/:token/callback',
    ({ params, rawBody, files, query }) => {
      const { rec, message } = f.interactionCallback(params['id']!, params['token']!, rawBody, files);
      if (query.get('with_response') !== 'true') return noContent();
      const interaction: Json = { id: rec.id, type: rec.type };
      if (message && rec.callbackType !== 6) {
        interaction['response_message_id'] = message.id;
        interaction['response_message_loading'] = rec.loading;
        interaction['response_message_ephemeral'] = message.ephemeral;
      }
      const body: Json = { interaction };
      if (message && rec.callbackType !== 6)
        body['resource'] = { type: rec.callbackType, message: f.messageApi(message) };
      else if (rec.callbackType === 6 || rec.callbackType === 8 || rec.callbackType === 9)
        body['resource'] = { type: rec.callbackType };
      return ok(body);
    },
    false,
  );

  // Interaction webhooks: @original, follow-ups and their edits
  add(
    'POST',
    '/webhooks/:app/:token',
    ({ params, body, files, query }) => {
      const channelHook = f.threads.webhookFor(params['app']!, params['token']!);
      if (channelHook) return f.threads.execute(channelHook, body, query);
      const rec = f.interactionByWebhook(params['app']!, params['token']!);
      const message = f.followUp(rec, body, files);
      return query.get('wait') === 'true' ? ok(f.messageApi(message)) : noContent();
    },
    false,
  );
  add(
    'GET',
    '/webhooks/:app/:token/messages/:message',
    ({ params }) => {
      const rec = f.interactionByWebhook(params['app']!, params['token']!);
      return ok(f.messageApi(f.webhookMessage(rec, params['message']!)));
    },
    false,
  );
  add(
    'PATCH',
    '/webhooks/:app/:token/messages/:message',
    ({ params, body, files }) => {
      const rec = f.interactionByWebhook(params['app']!, params['token']!);
      return ok(f.messageApi(f.webhookEdit(rec, params['message']!, body, files)));
    },
    false,
  );
  add(
    'DELETE',
    '/webhooks/:app/:token/messages/:message',
    ({ params, query }) => {
      const channelHook = f.threads.webhookFor(params['app']!, params['token']!);
      if (channelHook) {
        f.threads.deleteMessage(channelHook, params['message']!, query);
        return noContent();
      }
      const rec = f.interactionByWebhook(params['app']!, params['token']!);
      f.webhookDelete(rec, params['message']!);
      return noContent();
    },
    false,
  );

  threadRoutes(f, add);

  // Channels and messages
  add('GET', '/channels/:channel', ({ params }) => {
    const channel = channelFor(params['channel']);
    requireView(channel);
    return ok(structuredClone(channel));
  });
  add('POST', '/channels/:channel/typing', ({ params }) => {
    requireView(channelFor(params['channel']));
    return noContent();
  });
  add('GET', '/channels/:channel/messages', ({ params, query }) => {
    const channel = channelFor(params['channel']);
    if (!(requireView(channel) & P.ReadMessageHistory)) return ok([]);
    // Discord lists newest first.
    let list = f.messages(channel.id).reverse();
    const before = query.get('before');
    const after = query.get('after');
    if (before) list = list.filter((m) => BigInt(m.id) < BigInt(before));
    if (after) list = list.filter((m) => BigInt(m.id) > BigInt(after));
    const limit = Math.min(100, Math.max(1, Number(query.get('limit') ?? 50)));
    return ok(list.slice(0, limit).map((m) => f.messageApi(m)));
  });
  add('POST', '/channels/:channel/messages', ({ params, body, files }) => {
    const channel = channelFor(params['channel']);
    f.assertCanPost(channel, body, files.length);
    validateMessageBody(body, { creating: true, files: files.length });
    const ref = body['message_reference'];
    if (typeof ref === 'object' && ref !== null && !Array.isArray(ref)) {
      const r = ref as Json;
      const refId = typeof r['message_id'] === 'string' ? r['message_id'] : undefined;
      const refChannel = typeof r['channel_id'] === 'string' ? r['channel_id'] : channel.id;
      const exists = refId !== undefined && f.messages(refChannel).some((m) => m.id === refId);
      if (!exists && r['fail_if_not_exists'] !== false) {
        throw unknownReference();
      }
    }
    // enforce_nonce: Discord answers a repeated nonce from the same author within a few minutes with
    // the message it already created, instead of creating a second one.
    const nonce = body['nonce'];
    if (body['enforce_nonce'] === true && (typeof nonce === 'string' || typeof nonce === 'number')) {
      const since = Date.now() - 5 * 60_000;
      const earlier = f
        .messages(channel.id)
        .find((m) => m.nonce === nonce && m.author.id === f.botUser.id && Date.parse(m.timestamp) >= since);
      if (earlier) return ok(f.messageApi(earlier));
    }
    const message = f.createMessage({ channel, body, files, author: f.botUser, ephemeral: false });
    return ok(f.messageApi(message));
  });
  add('GET', '/channels/:channel/messages/:message', ({ params }) => {
    const channel = channelFor(params['channel']);
    if (!(requireView(channel) & P.ReadMessageHistory)) throw err.missingAccess();
    return ok(f.messageApi(f.channelMessage(channel.id, params['message']!)));
  });
  add('PATCH', '/channels/:channel/messages/:message', ({ params, body, files }) => {
    const channel = channelFor(params['channel']);
    requireView(channel);
    const message = f.channelMessage(channel.id, params['message']!);
    if (message.author.id !== f.botUser.id) throw err.cannotEditOthers();
    validateMessageBody(body, { creating: false, files: files.length });
    f.editMessage(message, body, files);
    f.noteChannelEdit(message);
    return ok(f.messageApi(message));
  });
  add('DELETE', '/channels/:channel/messages/:message', ({ params }) => {
    const channel = channelFor(params['channel']);
    const perms = requireView(channel);
    const message = f.channelMessage(channel.id, params['message']!);
    if (message.author.id !== f.botUser.id && !(perms & P.ManageMessages)) throw err.missingPermissions();
    f.deleteMessage(message);
    return noContent();
  });
  for (const method of ['PUT', 'DELETE'] as const) {
    add(method, '/channels/:channel/messages/:message/reactions/:emoji/@me', ({ params }) => {
      const channel = channelFor(params['channel']);
      const perms = requireView(channel);
      const message = f.channelMessage(channel.id, params['message']!);
      const raw = params['emoji']!;
      const [name = raw, id = null] = raw.split(':');
      const reactions = (message.reactions ??= []);
      const existing = reactions.find((r) => r.emoji.name === name);
      if (method === 'PUT') {
        if (!(perms & P.ReadMessageHistory) || (!existing && !(perms & P.AddReactions))) throw err.missingPermissions();
        if (!existing) reactions.push({ emoji: { id, name }, count: 1, me: true });
        else if (!existing.me) Object.assign(existing, { me: true, count: existing.count + 1 });
      } else if (existing?.me) {
        existing.me = false;
        existing.count--;
        if (existing.count === 0) reactions.splice(reactions.indexOf(existing), 1);
      }
      f.changed();
      return noContent();
    });
  }

  // Guilds
  add('GET', '/guilds/:guild', ({ params, query }) => {
    const guild = guildFor(params['guild']);
    const body = f.guildApi(guild);
    if (query.get('with_counts') === 'true') {
      body['approximate_member_count'] = guild.members.length;
      body['approximate_presence_count'] = 0;
    }
    return ok(body);
  });
  add('GET', '/guilds/:guild/channels', ({ params }) => ok(structuredClone(guildFor(params['guild']).channels)));
  add('GET', '/guilds/:guild/roles', ({ params }) => ok(structuredClone(guildFor(params['guild']).roles)));
  add('GET', '/guilds/:guild/members', ({ params, query }) => {
    const guild = guildFor(params['guild']);
    const after = query.get('after');
    const limit = Math.min(1000, Math.max(1, Number(query.get('limit') ?? 1)));
    const list = guild.members.filter((m) => !after || BigInt(m.user.id) > BigInt(after)).slice(0, limit);
    return ok(structuredClone(list));
  });
  add('GET', '/guilds/:guild/members/:user', ({ params }) => {
    const guild = guildFor(params['guild']);
    const member = guild.members.find((m) => m.user.id === params['user']);
    if (!member) throw err.unknownMember();
    return ok(structuredClone(member));
  });
  for (const route of scheduledEventRoutes(f, guildFor)) add(route.method, route.pattern, route.handler);

  return routes;
}

function unknownReference(): ApiError {
  const e = new FormErrors();
  e.add(['message_reference'], 'MESSAGE_REFERENCE_UNKNOWN_MESSAGE', 'Unknown message');
  return new ApiError(400, 50035, 'Invalid Form Body', e.tree);
}
