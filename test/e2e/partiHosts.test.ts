// Parti as it answers today, end to end: the real bot process against a fake Parti whose API and
// media hosts each listen on their own port, so any of them can be taken offline (connections
// refused). Whichever API base is up answers every lookup and the alerts' live-list read; creator
// pages in both link forms resolve; a party plays from the media host that has the recording.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PermissionFlagsBits } from 'discord.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startBot, type BotProcess } from '../support/bot.js';
import { startFakeDiscord, type FakeDiscord, type FakeMessage } from '../support/fakeDiscord.js';
import {
  FAKE_PARTI_API_HOSTS,
  startFakeParti,
  type FakeParti,
  type FakePartiApiHost,
  type FakePartiHost,
} from '../support/fakeParti.js';

const MINK = 123456; // Inquisitive Mink
const RECORDING = '/ivs/v1/455030909228/he8vhFE098Ge/2025/5/17/7/19/9saEZCu7T6dG/media/hls/master.m3u8';

let discord: FakeDiscord;
let parti: FakeParti;
let guildId: string;
let channelId: string;
let alertsChannel: string;
let member: ReturnType<FakeDiscord['makeUser']>;

beforeAll(async () => {
  [discord, parti] = await Promise.all([startFakeDiscord(), startFakeParti()]);
  const guild = discord.addGuild({ name: 'Parti fans', channels: [{ name: 'general' }, { name: 'alerts' }] });
  guildId = guild.id;
  channelId = guild.channel('general').id;
  alertsChannel = guild.channel('alerts').id;
  member = discord.makeUser({ username: 'admin' });
});
afterAll(async () => {
  await Promise.all([discord?.close(), parti?.close()]);
});

function command(name: string, subcommand: string, options: Record<string, unknown> = {}) {
  return discord.command({
    guildId,
    channelId,
    user: member,
    permissions: PermissionFlagsBits.ManageGuild,
    name,
    subcommand,
    options: options as never,
  });
}

async function title(subcommand: string, options: Record<string, unknown> = {}): Promise<string | undefined> {
  const reply = await command('parti', subcommand, options).reply();
  return reply.embeds[0]?.title ?? reply.content;
}

/** The API hosts the fake saw requests on since `from`. */
function apiHostsAsked(from: number): Set<FakePartiHost> {
  const api: readonly FakePartiHost[] = FAKE_PARTI_API_HOSTS;
  return new Set(
    parti.requests
      .slice(from)
      .map((r) => r.host)
      .filter((host) => api.includes(host)),
  );
}

const scenarios: Array<{ name: string; offline: FakePartiApiHost[]; answers: FakePartiApiHost }> = [
  { name: 'the first API base refuses connections', offline: ['prod-api'], answers: 'api' },
  { name: 'only the newest API base is up', offline: ['api', 'api-backend'], answers: 'prod-api' },
  { name: 'only the captured api-backend layout is up', offline: ['prod-api', 'api'], answers: 'api-backend' },
];

describe.each(scenarios)('when $name', ({ offline, answers }) => {
  let bot: BotProcess;
  let from: number;

  beforeAll(async () => {
    await Promise.all(offline.map((host) => parti.setOnline(host, false)));
    parti.setLive(MINK, null);
    from = parti.requests.length;
    // A fresh bot and store: nothing is answered from an earlier scenario's cache.
    bot = await startBot({ discord, parti, env: { ALERT_POLL_SECONDS: '1' } });
  });
  afterAll(async () => {
    await bot?.stop();
    await Promise.all(offline.map((host) => parti.setOnline(host, true)));
  });

  it(`answers every lookup, from ${answers}`, async () => {
    const card = await command('parti', 'user', { query: '353044' }).reply();
    expect(card.embeds[0]?.title).toBe('BalthierGR');
    const shown = (card.embeds[0]?.fields ?? []).map((f) => `${f.name}: ${f.value}`).join('\n');
    expect(shown).toContain('Live now: Not live right now');
    expect(shown).toMatch(/Recent streams: • \[Games and Music\]\(https:\/\/parti\.com\/video\/80553\)/);
    expect(await title('user', { query: 'twitter:KickBalthierGR' })).toBe('BalthierGR');
    expect(await title('user', { query: 'https://parti.com/creator/twitter/KickBalthierGR' })).toBe('BalthierGR');
    expect(await title('user', { query: 'https://parti.com/247CryptoTracker' })).toBe('247CryptoTracker');
    expect(await title('user', { query: 'https://parti.com/video/80892' })).toMatch(/worldoftshirts2001$/);
    const drb = discord.makeUser({ username: 'drb666', discriminator: '0' });
    expect(await title('whois', { member: { user: drb } })).toMatch(/DBR$/);
    expect(await title('live')).toBe('Live now on Parti');
    expect(await title('schedule')).toBe('Coming up on Parti');
    expect(await title('recent')).toBe('Recent streams');
    expect(await title('featured')).toBe('Featured on Parti');
    const categories = await command('parti', 'categories').reply();
    expect(categories.embeds[0]?.description).toContain('**Gaming**');

    // Only the base that is up answered (the others refused every connection).
    expect(apiHostsAsked(from)).toEqual(new Set([answers]));
    // /metrics and the logs say which base is in use, and that the bot switched to it.
    const [first] = parti.apiUrls;
    expect(await bot.metric('parti_bot_parti_base_in_use', { kind: 'api', base: parti.hostUrl(answers) })).toBe(1);
    if (answers !== 'prod-api') {
      const to = parti.hostUrl(answers);
      expect(await bot.metric('parti_bot_parti_base_switches_total', { kind: 'api', from: first!, to })).toBe(1);
      expect(await bot.metric('parti_bot_parti_base_in_use', { kind: 'api', base: first! })).toBe(0);
      expect(bot.logs.find((l) => l.msg === 'parti api base switched')).toMatchObject({
        from: first,
        to,
        reason: 'unreachable (ECONNREFUSED)',
      });
    } else {
      expect(bot.logs.some((l) => l.msg === 'parti api base switched')).toBe(false);
    }
  });

  it(`fills the alert gap from the live list, from ${answers}`, async () => {
    const saved = await command('alerts', 'add', { creator: String(MINK), channel: alertsChannel }).reply();
    expect(saved.embeds[0]?.title).toBe('Alert saved');
    const before = parti.requests.length;
    // Live without a push: only the live-list read can see it.
    parti.setLive(MINK, { event_title: `Mink via ${answers}`, viewers_count: 7 });
    const alert = await discord.waitForMessage(
      alertsChannel,
      // The title as Discord gets it: markdown escaped (`prod\-api`).
      (m: FakeMessage) => m.embeds[0]?.title === `Mink via ${answers.replace(/-/g, '\\-')}`,
      15_000,
    );
    expect(alert.embeds[0]?.author?.name).toBe('Inquisitive Mink · LIVE on Parti');
    const posted = await bot.waitForLog((l) => l.msg === 'alert posted' && l.userId === MINK);
    expect(posted.source).toBe('live-list');
    expect(await bot.metric('parti_bot_alerts_posted_total', { source: 'live-list' })).toBe(1);
    expect(parti.requests.slice(before).some((r) => r.route === 'live' && r.host === answers)).toBe(true);
    expect(apiHostsAsked(before)).toEqual(new Set([answers]));
  });
});

describe('creator pages as Parti links them today', () => {
  let bot: BotProcess;
  beforeEach(async () => {
    // A fresh bot each time, so each query reaches Parti rather than the cache of the one before.
    bot = await startBot({ discord, parti });
  });
  afterEach(async () => {
    await bot?.stop();
  });

  it.each(['https://parti.com/247CryptoTracker', '247CryptoTracker'])(
    '/parti user query:%s resolves through user_id_from_name',
    async (query) => {
      const from = parti.requests.length;
      const reply = await command('parti', 'user', { query }).reply();
      expect(reply.embeds[0]?.title).toBe('247CryptoTracker');
      expect(reply.embeds[0]?.url).toBe('https://parti.com/247CryptoTracker');
      expect(reply.embeds[0]?.footer?.text).toContain('881001');
      const asked = parti.requests.slice(from);
      expect(asked.filter((r) => r.route === 'user_id_from_name').map((r) => [r.host, r.path])).toEqual([
        ['prod-api', '/parti_v2/profile/user_id_from_name/247CryptoTracker'],
      ]);
      expect(asked.filter((r) => r.route === 'social')).toEqual([]);
    },
  );
});

describe('both creator-link forms in the other commands', () => {
  let bot: BotProcess;
  beforeAll(async () => {
    bot = await startBot({ discord, parti, env: { PUBLIC_URL: 'http://127.0.0.1:9' } });
  });
  afterAll(async () => {
    await bot?.stop();
  });

  it('/alerts add and /party create read parti.com/{slug} and parti.com/creator/{service}/{name}', async () => {
    for (const [creator, name] of [
      ['https://parti.com/247CryptoTracker', '247CryptoTracker'],
      ['https://parti.com/creator/twitter/KickBalthierGR', 'BalthierGR'],
    ] as const) {
      const saved = await command('alerts', 'add', { creator, channel: alertsChannel }).reply();
      expect(saved.embeds[0]?.fields?.[0]?.value).toBe(`Creator **${name}**`);
    }
    // DBR (discord drb666#0) is live: today's page form for a Discord account is /{username}/{discriminator}.
    const from = parti.requests.length;
    const party = await command('party', 'create', { source: 'https://parti.com/drb666/0' }).reply();
    expect(party.content).toMatch(/Invite code `[A-Z0-9]{6}`/);
    expect(parti.requests.slice(from).map((r) => r.path)).toContain('/parti_v2/profile/user_id_from_name/drb666%230');
  });
});

describe('recordings on whichever media host has them', () => {
  let bot: BotProcess;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parti-media-'));
    mkdirSync(dirname(join(dir, RECORDING)), { recursive: true });
    writeFileSync(join(dir, RECORDING), '#EXTM3U\n');
    parti.setMediaDir(dir);
    bot = await startBot({ discord, parti, env: { PUBLIC_URL: 'http://127.0.0.1:9' } });
  });
  afterAll(async () => {
    await bot?.stop();
    parti.setMediaDir(null);
    await parti.setOnline('media', true);
  });

  /** Creates a party of video 80892 and answers the URL the party hands its players, and the player page's CSP. */
  async function createParty(): Promise<{ url: string; csp: string }> {
    const reply = await command('party', 'create', { source: 'https://parti.com/video/80892' }).reply();
    const link = reply.components
      .flatMap((row: any) => row.components ?? [])
      .find((c: any) => c.label === 'Open the player')?.url as string;
    expect(link).toBeTruthy();
    const token = new URLSearchParams(new URL(link).hash.slice(1)).get('token');
    const code = new URL(link).pathname.split('/').pop()!;
    const party = await fetch(`${bot.url}/api/v1/watch-parties/by-code/${code}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const partyId = ((await party.json()) as { data: { id: string } }).data.id;
    const playable = await fetch(`${bot.url}/api/v1/watch-parties/${partyId}/playable`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(playable.status).toBe(200);
    const page = await fetch(`${bot.url}/watch-parties/${code}`);
    return {
      url: ((await playable.json()) as { data: { url: string } }).data.url,
      csp: page.headers.get('content-security-policy') ?? '',
    };
  }

  it('plays from the first media host while it has the recording', async () => {
    const { url, csp } = await createParty();
    expect(url).toBe(`${parti.hostUrl('media')}${RECORDING}`);
    // The player page may load from every configured media host.
    for (const base of parti.mediaUrls) expect(csp).toMatch(new RegExp(`media-src [^;]*${base}`));
  });

  it('plays from the second media host when the first refuses connections', async () => {
    await parti.setOnline('media', false);
    const { url } = await createParty();
    expect(url).toBe(`${parti.hostUrl('watch')}${RECORDING}`);
    const probes = parti.requests.filter((r) => r.route === 'media');
    expect(probes.at(-1)).toMatchObject({ host: 'watch', path: RECORDING, method: 'GET' });
    expect(await bot.metric('parti_bot_parti_base_in_use', { kind: 'media', base: parti.hostUrl('watch') })).toBe(1);
  });
});
