// A fake Discord client for the Activity's browser tests, on 127.0.0.1: it stands where Discord's
// client and its proxy stand. One origin (as `{app}.discordsays.com` is one) serves
//   /__discord/client?…  the member's Discord client: a page that opens the Activity in an iframe with
//                        the query parameters Discord adds, and answers the Embedded App SDK's
//                        postMessage protocol as the parent frame (handshake, READY, AUTHORIZE with a
//                        one-time code from the fake Discord, AUTHENTICATE checked against its
//                        /users/@me, SUBSCRIBE and participant events, SET_ACTIVITY recorded);
//   /.proxy/{prefix}/…   the URL mappings (activityMappings.ts), HTTP and WebSocket, with `Origin`
//                        passed on as the app's discordsays.com origin, as the real page's would be;
//   anything else        the root mapping: the Activity's page.
// Protocol details are read from the SDK's own source (output/Discord.mjs, schema/*.mjs).
import { request as httpRequest, createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect as tcpConnect } from 'node:net';
import { activityPageOrigin } from '../../src/party/activity.js';
import { REST } from 'discord.js';
import type { Browser, BrowserContext, Frame, Page } from 'playwright-core';
import { createActivitySignIn, registerActivityRoutes } from '../../src/party/activity.js';
import { activityMappings } from '../../src/party/activityMappings.js';
import { partyKeys } from '../../src/party/persistence.js';
import type { ProxyMapping } from '../../src/party/player/proxyUrl.js';
import type { Store } from '../../src/store/index.js';
import { startFakeDiscord, type FakeDiscord, type FakeUser } from '../support/fakeDiscord.js';
import { startDelayProxy, startPlayerStack, waitFor, type DelayProxy, type PlayerStack } from './support.js';

export interface LaunchedInstance {
  instanceId: string;
  channelId: string;
  guildId: string;
  users: FakeUser[];
}

export interface RecordedCommand {
  userId: string;
  instanceId: string;
  cmd: string;
  args: any;
}

export interface FakeDiscordClient {
  /** The proxy's origin (what `{app}.discordsays.com` is in Discord). */
  url: string;
  /** Discord starts an Activity instance in a channel with these members in it (the bot may look it up). */
  launch(instance: LaunchedInstance): void;
  /** Someone joins or leaves the call: the open frames get ACTIVITY_INSTANCE_PARTICIPANTS_UPDATE. */
  setParticipants(instanceId: string, users: FakeUser[]): void;
  /**
   * The page a member's Discord client shows with the Activity open. `code` replaces the one-time
   * code AUTHORIZE would hand out (a forged one, or one already used).
   */
  clientUrl(options: { user: FakeUser; instanceId: string; code?: string; platform?: 'desktop' | 'mobile' }): string;
  /** Every command the Activities sent (SET_ACTIVITY among them), and the handshakes. */
  readonly commands: readonly RecordedCommand[];
  /** Every request through the proxy: the path asked, and where it went (null: no mapping, 404). */
  readonly proxied: ReadonlyArray<{ path: string; target: string | null }>;
  close(): Promise<void>;
}

/** Where a path on the Activity's origin goes: `/.proxy/{prefix}/…` by its mapping, anything else to the root's. */
export function mappedTarget(pathAndQuery: string, mappings: readonly ProxyMapping[]): string | null {
  if (!pathAndQuery.startsWith('/.proxy/')) {
    const root = mappings.find((m) => m.prefix === '/');
    return root ? `${root.target.replace(/\/+$/, '')}${pathAndQuery.replace(/^\/(?=\?|$)/, '')}` : null;
  }
  const rest = pathAndQuery.slice('/.proxy'.length);
  // Discord takes the longest matching prefix; `{subdomain}` matches one path segment.
  const ranked = [...mappings].filter((m) => m.prefix !== '/').sort((a, b) => b.prefix.length - a.prefix.length);
  for (const { prefix, target } of ranked) {
    const pattern = new RegExp(
      `^${prefix.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace('{subdomain}', '([a-z0-9-]+)')}(?=[/?]|$)(.*)$`,
      'i',
    );
    const match = pattern.exec(rest);
    if (!match) continue;
    const param = prefix.includes('{subdomain}') ? (match[1] ?? '') : '';
    const tail = match[prefix.includes('{subdomain}') ? 2 : 1] ?? '';
    return `${target.replace('{subdomain}', param).replace(/\/+$/, '')}${tail}`;
  }
  return null;
}

/** The member's Discord client: the Activity's frame and the parent side of the SDK's protocol. */
function clientPage(config: Record<string, unknown>): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Discord</title><link rel="icon" href="data:,">
<style>html,body{margin:0;height:100%;background:#313338}iframe{border:0;width:100%;height:100%}</style></head>
<body><iframe id="activity" allow="autoplay; fullscreen; encrypted-media"></iframe>
<script>
const config = ${JSON.stringify(config)};
const frame = document.getElementById('activity');
const params = new URLSearchParams({
  instance_id: config.instanceId, frame_id: config.frameId, channel_id: config.channelId,
  guild_id: config.guildId, platform: config.platform,
});
frame.src = '/?' + params;
const subscribed = new Set();
let participants = [];
const OP_FRAME = 1;
const send = (payload) => frame.contentWindow.postMessage([OP_FRAME, payload], '*');
const record = (cmd, args) => fetch('/__discord/record', { method: 'POST', body: JSON.stringify({
  userId: config.user.id, instanceId: config.instanceId, cmd, args }) });
const participant = (u) => ({ id: u.id, username: u.username, global_name: u.global_name ?? null,
  discriminator: '0', avatar: null, flags: 0, bot: false });
window.addEventListener('message', async (event) => {
  if (event.source !== frame.contentWindow || !Array.isArray(event.data)) return;
  const [op, payload] = event.data;
  if (op === 0) {
    // HANDSHAKE: the SDK says who it is; Discord answers with READY.
    record('HANDSHAKE', payload);
    send({ cmd: 'DISPATCH', evt: 'READY', nonce: null, data: { v: 1,
      config: { cdn_host: 'cdn.discordapp.com', api_endpoint: '//discord.com/api', environment: 'production' },
      user: { id: config.user.id, username: config.user.username, discriminator: '0' } } });
    return;
  }
  if (op !== OP_FRAME) return;
  const { cmd, args, nonce, evt } = payload;
  record(cmd, args);
  const answer = (data) => send({ cmd, evt: null, nonce, data });
  const fail = (message) => send({ cmd, evt: 'ERROR', nonce, data: { code: 4000, message } });
  switch (cmd) {
    case 'AUTHORIZE': {
      if (args.client_id !== config.appId) return fail('unknown client_id');
      const code = config.code ?? (await (await fetch('/__discord/authorize?user=' + config.user.id)).text());
      return answer({ code });
    }
    case 'AUTHENTICATE': {
      const me = await fetch('/__discord/me', { headers: { authorization: 'Bearer ' + args.access_token } });
      if (!me.ok) return fail('invalid access token');
      const user = await me.json();
      return answer({ access_token: args.access_token, scopes: ['identify'],
        expires: new Date(Date.now() + 604800000).toISOString(),
        user: { id: user.id, username: user.username, discriminator: '0', avatar: null, public_flags: 0, global_name: null },
        application: { id: config.appId, name: 'Parti bot', description: '', icon: null } });
    }
    case 'SUBSCRIBE':
      subscribed.add(evt);
      return send({ cmd, evt: null, nonce, data: { evt } });
    case 'UNSUBSCRIBE':
      subscribed.delete(evt);
      return send({ cmd, evt: null, nonce, data: { evt } });
    case 'GET_ACTIVITY_INSTANCE_CONNECTED_PARTICIPANTS':
      return answer({ participants: participants.map(participant) });
    case 'SET_ACTIVITY':
      return answer({ name: 'Parti bot', type: args.activity?.type ?? 0, ...args.activity });
    case 'CAPTURE_LOG':
      return answer(null);
    default:
      return fail('not supported by the fake client: ' + cmd);
  }
});
// Who is in the call, as Discord would push it: polled from the test's fake.
(async function follow() {
  let last = '';
  for (;;) {
    const now = await (await fetch('/__discord/participants?instance=' + encodeURIComponent(config.instanceId))).text();
    if (now !== last) {
      last = now;
      participants = JSON.parse(now);
      if (subscribed.has('ACTIVITY_INSTANCE_PARTICIPANTS_UPDATE')) {
        send({ cmd: 'DISPATCH', evt: 'ACTIVITY_INSTANCE_PARTICIPANTS_UPDATE', nonce: null,
          data: { participants: participants.map(participant) } });
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
})();
</script></body></html>`;
}

export async function startFakeDiscordClient(
  discord: FakeDiscord,
  mappings: ProxyMapping[],
): Promise<FakeDiscordClient> {
  const instances = new Map<string, LaunchedInstance>();
  const commands: RecordedCommand[] = [];
  const proxied: Array<{ path: string; target: string | null }> = [];
  const origin = activityPageOrigin(discord.applicationId);
  let frames = 0;

  function upstreamHeaders(req: IncomingMessage, target: URL): Record<string, string | string[]> {
    const headers: Record<string, string | string[]> = {};
    for (const [key, value] of Object.entries(req.headers)) if (value !== undefined) headers[key] = value;
    headers['host'] = target.host;
    if (headers['origin']) headers['origin'] = origin;
    delete headers['referer'];
    return headers;
  }

  async function internal(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const send = (status: number, body: string, type = 'text/plain'): void =>
      void res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    switch (url.pathname) {
      case '/__discord/client': {
        const user = JSON.parse(url.searchParams.get('user') ?? '{}') as FakeUser;
        const instance = instances.get(url.searchParams.get('instance') ?? '');
        if (!instance) return send(404, 'no such instance');
        frames += 1;
        return send(
          200,
          clientPage({
            appId: discord.applicationId,
            user: { id: user.id, username: user.username },
            instanceId: instance.instanceId,
            channelId: instance.channelId,
            guildId: instance.guildId,
            frameId: `frame-${frames}`,
            platform: url.searchParams.get('platform') ?? 'desktop',
            code: url.searchParams.get('code') ?? undefined,
          }),
          'text/html; charset=utf-8',
        );
      }
      case '/__discord/authorize': {
        const user = [...instances.values()].flatMap((i) => i.users).find((u) => u.id === url.searchParams.get('user'));
        return user ? send(200, discord.issueOAuthCode(user)) : send(403, 'not in any instance');
      }
      case '/__discord/me': {
        const answer = await fetch(`${discord.apiUrl}/v10/users/@me`, {
          headers: { authorization: req.headers.authorization ?? '' },
        });
        return send(answer.status, await answer.text(), 'application/json');
      }
      case '/__discord/participants': {
        const instance = instances.get(url.searchParams.get('instance') ?? '');
        return send(200, JSON.stringify(instance?.users ?? []), 'application/json');
      }
      case '/__discord/record': {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        commands.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as RecordedCommand);
        return send(204, '');
      }
      default:
        return send(404, 'not found');
    }
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname.startsWith('/__discord/')) {
      internal(req, res, url).catch(() => res.writeHead(500).end());
      return;
    }
    const target = mappedTarget(url.pathname + url.search, mappings);
    proxied.push({ path: url.pathname + url.search, target });
    if (!target) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('no URL mapping');
    const to = new URL(target);
    const upstream = httpRequest(to, { method: req.method, headers: upstreamHeaders(req, to) }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.headersSent || res.writeHead(502).end());
    req.pipe(upstream);
  });
  server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const target = mappedTarget(url.pathname + url.search, mappings);
    proxied.push({ path: url.pathname + url.search, target });
    if (!target) return void socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
    const to = new URL(target);
    const upstream = tcpConnect(Number(to.port || 80), to.hostname, () => {
      const headers = upstreamHeaders(req, to);
      const lines = Object.entries(headers).flatMap(([key, value]) =>
        (Array.isArray(value) ? value : [value]).map((v) => `${key}: ${v}`),
      );
      upstream.write(`${req.method} ${to.pathname}${to.search} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.setNoDelay(true);
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  const launch = (instance: LaunchedInstance): void => {
    instances.set(instance.instanceId, { ...instance, users: [...instance.users] });
    discord.setActivityInstance({
      instanceId: instance.instanceId,
      channelId: instance.channelId,
      guildId: instance.guildId,
      users: instance.users.map((u) => u.id),
    });
  };
  return {
    url,
    launch,
    setParticipants(instanceId, users) {
      const instance = instances.get(instanceId);
      if (!instance) throw new Error(`no instance ${instanceId}`);
      launch({ ...instance, users });
    },
    clientUrl({ user, instanceId, code, platform }) {
      const params = new URLSearchParams({
        user: JSON.stringify({ id: user.id, username: user.username }),
        instance: instanceId,
      });
      if (code !== undefined) params.set('code', code);
      if (platform) params.set('platform', platform);
      return `${url}/__discord/client?${params.toString()}`;
    },
    commands,
    proxied,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface ActivityStack {
  discord: FakeDiscord;
  /** The party server with the Activity on (its sign-in talks to `discord`). */
  stack: PlayerStack;
  /** The delay in front of the party server, where Discord's proxy would add its own hops. */
  delay: DelayProxy;
  client: FakeDiscordClient;
  /** A party already made is the one a channel's Activity plays (as `/party create voice-channel:` does). */
  bindChannel(channelId: string, partyId: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * The party server with the Activity's sign-in and page, the fake Discord it signs in with, and the
 * fake Discord client whose `/.proxy` reaches the server through a delay proxy and the media origins
 * given (mapped: as an operator lists them in ACTIVITY_MEDIA_ORIGINS).
 */
export async function startActivityStack(options: {
  mediaOrigins: string[];
  delay: { delayMs: number; jitterMs: number };
}): Promise<ActivityStack> {
  const discord = await startFakeDiscord();
  const rest = new REST({ api: discord.apiUrl }).setToken(discord.token);
  const applicationId = () => Promise.resolve(discord.applicationId);
  let parties: Store['parties'] | undefined;
  const stack = await startPlayerStack({
    activity: ({ app, service, store }) => {
      parties = store.parties;
      registerActivityRoutes(
        app,
        createActivitySignIn({
          config: {
            DISCORD_API_URL: discord.apiUrl,
            DISCORD_CLIENT_SECRET: discord.clientSecret,
            PUBLIC_URL: 'https://bot.example',
            PARTI_MEDIA_URL: [],
            ACTIVITY_MEDIA_ORIGINS: options.mediaOrigins,
            // Tests open many frames from one address; the per-address limit is for the internet.
            PARTY_JOINS_PER_HOUR: 1000,
          },
          party: service,
          store,
          rest,
          applicationId,
        }),
      );
      return { applicationId };
    },
  });
  const delay = await startDelayProxy(stack.base, options.delay);
  const client = await startFakeDiscordClient(
    discord,
    activityMappings({
      PUBLIC_URL: delay.url,
      PARTI_MEDIA_URL: [stack.fake.mediaUrl],
      ACTIVITY_MEDIA_ORIGINS: options.mediaOrigins,
    }),
  );
  return {
    discord,
    stack,
    delay,
    client,
    async bindChannel(channelId, partyId) {
      await parties?.set(partyKeys.channel(channelId), partyId);
    },
    async close() {
      await client.close();
      await delay.close();
      await stack.close();
      await discord.close();
    },
  };
}

/** A member's Discord client with the Activity open, in its own browser context; resolves with the Activity's frame. */
export async function openActivityFrame(
  browser: Browser,
  client: FakeDiscordClient,
  user: FakeUser,
  instanceId: string,
  options: { code?: string; viewport?: { width: number; height: number }; platform?: 'mobile' } = {},
): Promise<{ context: BrowserContext; page: Page; frame: Frame }> {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1000, height: 700 } });
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`[${user.username}] page error: ${error.message}`));
  await page.goto(client.clientUrl({ user, instanceId, ...options }));
  const frame = await waitFor('the Activity frame', () =>
    page.frames().find((f) => f !== page.mainFrame() && new URL(f.url()).searchParams.has('frame_id')),
  );
  return { context, page, frame };
}
