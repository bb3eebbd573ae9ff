// /parti end to end: the real bot process answers members through the fake Discord, reading the
// fake Parti; assertions are on what the member would read.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startBot, type BotProcess } from '../support/bot.js';
import { startFakeDiscord, type FakeDiscord } from '../support/fakeDiscord.js';
import { startFakeParti, type FakeParti } from '../support/fakeParti.js';

let discord: FakeDiscord;
let parti: FakeParti;
let bot: BotProcess;
let guildId: string;
let channelId: string;
let member: ReturnType<FakeDiscord['makeUser']>;

beforeAll(async () => {
  [discord, parti] = await Promise.all([startFakeDiscord(), startFakeParti()]);
  const guild = discord.addGuild({ name: 'Parti fans' });
  guildId = guild.id;
  channelId = guild.channels[0]!.id;
  member = discord.makeUser({ username: 'viewer1' });
  // Who is live, set before the bot's first look (it caches the live list for 20 s): DBR and
  // 22 streamers whose viewer counts come in an order the list must sort.
  parti.clearLive();
  parti.setLive(567503, {
    event_title: 'Late night tunes',
    category_name: 'Music',
    category_id: 10,
    viewers_count: 470,
  });
  for (let i = 0; i < 22; i += 1) {
    parti.setLive(700000 + i, {
      user_name: `Streamer${String(i).padStart(2, '0')}`,
      event_title: `Stream ${i}`,
      category_name: i % 2 ? 'Gaming' : 'Music',
      category_id: i % 2 ? 7 : 10,
      viewers_count: ((i * 37) % 22) * 10 + 5,
    });
  }
  bot = await startBot({ discord, parti });
});
afterAll(async () => {
  expect(await bot?.stop()).toBe(0);
  await Promise.all([discord?.close(), parti?.close()]);
});
beforeEach(() => {
  parti.clearFaults();
});

function parti_(subcommand: string, options: Record<string, unknown> = {}, user = member) {
  return discord.command({ guildId, channelId, user, name: 'parti', subcommand, options: options as never });
}

/** Everything a member reads in an embed, as one string. */
function text(
  embed:
    | { title?: string; description?: string; fields?: { name: string; value: string }[]; footer?: { text: string } }
    | undefined,
): string {
  if (!embed) return '';
  return [embed.title, embed.description, ...(embed.fields ?? []).flatMap((f) => [f.name, f.value]), embed.footer?.text]
    .filter(Boolean)
    .join('\n');
}

function linkButtons(message: { components: any[] }): string[] {
  return message.components.flatMap((row: any) => row.components ?? []).flatMap((c: any) => (c.url ? [c.url] : []));
}

describe('/parti user', () => {
  it('shows a creator card by Parti id: profile, linked account, not live, recent streams with video links', async () => {
    const before = await bot.metric('parti_bot_parti_requests_total', { route: 'user_profile', outcome: 'ok' });
    const reply = await parti_('user', { query: '353044' }).reply();
    // Prometheus sees the upstream request the card cost.
    expect(await bot.metric('parti_bot_parti_requests_total', { route: 'user_profile', outcome: 'ok' })).toBe(
      before + 1,
    );
    expect(reply.ephemeral).toBe(false);
    const embed = reply.embeds[0];
    expect(embed?.title).toBe('BalthierGR');
    expect(embed?.url).toBe('https://parti.com/KickBalthierGR');
    const shown = text(embed);
    expect(shown).toContain('twin brothers from greece');
    expect(shown).toContain('Members\n749');
    expect(shown).toContain('Channels joined\n869');
    expect(shown).toContain('X (Twitter): KickBalthierGR');
    expect(shown).toContain('Not live right now');
    expect(shown).toMatch(/Recent streams\n• \[Games and Music\]\(https:\/\/parti\.com\/video\/80553\)/);
    expect(linkButtons(reply)).toEqual(['https://parti.com/KickBalthierGR']);
    expect(reply.allowed_mentions).toEqual({ parse: [] });
  });

  it('shows who is live now with title, viewers and a watch link', async () => {
    const reply = await parti_('user', { query: '567503' }).reply();
    const embed = reply.embeds[0];
    expect(embed?.title).toBe('🔴 DBR');
    const shown = text(embed);
    expect(shown).toMatch(/Live now\n\*\*\[Late night tunes\]\(https:\/\/parti\.com\/drb666\/0\)/);
    expect(shown).toContain('Music · 470 watching · started <t:');
    expect(reply.components[0].components[0]).toMatchObject({ label: 'Watch live on Parti' });
  });

  it('finds a creator by twitter:name and by a video link', async () => {
    const byTwitter = await parti_('user', { query: 'twitter:KickBalthierGR' }).reply();
    expect(byTwitter.embeds[0]?.title).toBe('BalthierGR');
    const byVideo = await parti_('user', { query: 'https://parti.com/video/80892' }).reply();
    expect(byVideo.embeds[0]?.title).toBe('worldoftshirts2001');
    const byCreatorPage = await parti_('user', { query: 'https://parti.com/creator/twitter/KickBalthierGR/' }).reply();
    expect(byCreatorPage.embeds[0]?.title).toBe('BalthierGR');
  });

  it('says plainly when Parti does not know the user, privately', async () => {
    const reply = await parti_('user', { query: '999999' }).reply();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toBe('Parti has no user with id 999999.');
    expect(reply.embeds).toEqual([]);
  });

  it('turns a Cloudflare challenge into a short private message, and the next command works', async () => {
    parti.fault('user_profile', { kind: 'challenge' }, { times: 1 });
    const reply = await parti_('user', { query: '123456' }).reply();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toMatch(/^Parti is asking for a browser check right now/);
    expect(reply.content).not.toMatch(/Error|at |stack/);
    const next = await parti_('user', { query: '123456' }).reply();
    expect(next.embeds[0]?.title).toBe('Inquisitive Mink');
  });

  it('answers a rate limit and a malformed answer from Parti in plain words', async () => {
    // A creator nobody asked for yet, so the answer is not in the bot's cache.
    parti.setUser({ user_id: 424242, user_name: 'Fresh Face' });
    parti.fault('user_profile', { kind: 'rate_limit', retryAfterSeconds: 120 });
    const limited = await parti_('user', { query: '424242' }).reply();
    expect(limited.ephemeral).toBe(true);
    expect(limited.content).toBe('Parti is receiving too many requests from the bot. Please try again in a minute.');
    parti.clearFaults();
    parti.fault('featured', { kind: 'malformed' });
    const malformed = await parti_('featured').reply();
    expect(malformed.ephemeral).toBe(true);
    expect(malformed.content).toBe('Parti sent an answer the bot could not read. Please try again later.');
    expect((await bot.healthz()).status).toBe(200);
  });

  it("defers a slow lookup within Discord's window, then shows the card", async () => {
    parti.setUser({ user_id: 515151, user_name: 'Slow Poke' });
    parti.fault('user_profile', { kind: 'slow', ms: 1_600 }, { times: 1 });
    const command = parti_('user', { query: '515151' });
    const reply = await command.reply();
    expect(command.deferred).toBe(true);
    expect(reply.ephemeral).toBe(false);
    expect(reply.embeds[0]?.title).toBe('Slow Poke');
  });

  it('keeps a failure private even after a public deferral', async () => {
    parti.fault('user_profile', { kind: 'slow', ms: 1_600 }, { times: 1 });
    const command = parti_('user', { query: '616161' });
    await expect.poll(() => command.deferred, { timeout: 5_000 }).toBe(true);
    const failure = await command.nextUpdate(10_000);
    const final = command.responses.at(-1) ?? failure;
    expect(final.ephemeral).toBe(true);
    expect(final.content).toBe('Parti has no user with id 616161.');
    // No public "thinking…" message is left behind in the channel.
    expect(discord.messages(channelId).filter((m) => m.interactionId === command.id && !m.ephemeral)).toEqual([]);
  });

  it('refuses a query it cannot read', async () => {
    const reply = await parti_('user', { query: 'https://example.com/someone' }).reply();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toMatch(/^I could not read `https:\/\/example\.com\/someone` as a Parti creator/);
  });
});

describe('/parti whois', () => {
  it('finds the Parti account linked to a member named drb666 (discriminator 0) through drb666%230', async () => {
    const drb = discord.makeUser({ username: 'drb666', discriminator: '0' });
    const before = parti.requests.length;
    const reply = await parti_('whois', { member: { user: drb } }).reply();
    expect(reply.embeds[0]?.title).toMatch(/DBR$/);
    const lookups = parti.requests.slice(before).filter((r) => r.route === 'social');
    expect(lookups.map((r) => r.path)).toContain('/parti_v2/profile/get_user_by_social_media/discord/drb666%230');
  });

  it('defaults to the caller and says when no account is linked', async () => {
    const loner = discord.makeUser({ username: 'nolink' });
    const reply = await parti_('whois', {}, loner).reply();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toBe('nolink has not linked this Discord account to Parti.');
    expect(parti.requests.some((r) => r.path === '/parti_v2/profile/get_user_by_social_media/discord/nolink%230')).toBe(
      true,
    );
  });
});

describe('/parti live', () => {
  it('lists who is live, most viewers first, and pages forward and back with buttons', async () => {
    const command = parti_('live');
    const first = await command.reply();
    const embed = first.embeds[0];
    expect(embed?.title).toBe('Live now on Parti');
    expect(embed?.footer?.text).toBe('23 live · page 1 of 3');
    const viewers = [...(embed?.description ?? '').matchAll(/👁 (\d+)/g)].map((m) => Number(m[1]));
    expect(viewers).toHaveLength(10);
    expect(viewers).toEqual([...viewers].sort((a, b) => b - a));
    expect(viewers[0]).toBe(470);
    expect(embed?.description).toMatch(
      /^\*\*1\.\*\* \[DBR\]\(https:\/\/parti\.com\/drb666\/0\) — Late night tunes\nMusic · 👁 470/,
    );

    const [previous, , next] = first.components[0].components;
    expect(previous.disabled).toBe(true);
    const page2 = await discord.button({ message: first, customId: next.custom_id, user: member }).reply();
    expect(page2.embeds[0]?.footer?.text).toBe('23 live · page 2 of 3');
    expect(page2.embeds[0]?.description).toMatch(/^\*\*11\.\*\*/);
    const page3 = await discord
      .button({ message: page2, customId: page2.components[0].components[2].custom_id, user: member })
      .reply();
    expect(page3.embeds[0]?.footer?.text).toBe('23 live · page 3 of 3');
    expect(page3.components[0].components[2].disabled).toBe(true);
    const back = await discord
      .button({ message: page3, customId: page3.components[0].components[0].custom_id, user: member })
      .reply();
    expect(back.embeds[0]?.footer?.text).toBe('23 live · page 2 of 3');
  });

  it('refuses the buttons to anyone but the member who asked', async () => {
    const first = await parti_('live').reply();
    const intruder = discord.makeUser({ username: 'intruder' });
    const press = discord.button({
      message: first,
      customId: first.components[0].components[2].custom_id,
      user: intruder,
    });
    const refusal = await press.reply();
    expect(refusal.ephemeral).toBe(true);
    expect(refusal.content).toMatch(/belong to someone else/);
    // The list itself did not move.
    const message = discord.messages(channelId).find((m) => m.id === first.id) ?? first;
    expect(message.embeds[0]?.footer?.text).toBe('23 live · page 1 of 3');
  });

  it('filters by category picked from autocomplete', async () => {
    const choices = await discord.autocomplete({
      guildId,
      channelId,
      user: member,
      name: 'parti',
      subcommand: 'live',
      options: { category: 'gam' },
      focused: 'category',
    });
    expect(choices[0]).toEqual({ name: 'Gaming', value: '7' });
    const reply = await parti_('live', { category: '7' }).reply();
    expect(reply.embeds[0]?.title).toBe('Live now in Gaming');
    expect(reply.embeds[0]?.footer?.text).toBe('11 live · page 1 of 2');
    expect(reply.embeds[0]?.description).not.toContain('Music');
  });

  it('says so when nobody is live', async () => {
    const reply = await parti_('live', { category: 'Fitness' }).reply();
    expect(reply.embeds[0]?.description).toBe('Nobody is live in Fitness right now.');
    expect(reply.components).toEqual([]);
  });
});

describe('/parti schedule, recent, categories, featured', () => {
  it('lists upcoming events soonest first with full and relative timestamps', async () => {
    const now = Math.floor(Date.now() / 1000);
    parti.setCalendar([
      {
        event_id: 1,
        user_id: 353044,
        category_id: 7,
        category_name: 'Gaming',
        event_title: 'Later stream',
        event_start_ts: now + 7200,
      },
      {
        event_id: 2,
        user_id: 567503,
        category_id: 10,
        category_name: 'Music',
        event_title: 'Soon stream',
        event_start_ts: now + 600,
      },
      {
        event_id: 3,
        user_id: 567503,
        category_id: 10,
        category_name: 'Music',
        event_title: 'Past stream',
        event_start_ts: now - 86400,
      },
    ]);
    const reply = await parti_('schedule').reply();
    const description = reply.embeds[0]?.description ?? '';
    expect(description.indexOf('Soon stream')).toBeLessThan(description.indexOf('Later stream'));
    expect(description).not.toContain('Past stream');
    expect(description).toContain(`<t:${now + 600}:F> (<t:${now + 600}:R>)`);
    expect(description).toContain('by [BalthierGR](https://parti.com/KickBalthierGR)');
    const music = await parti_('schedule', { category: '10' }).reply();
    expect(music.embeds[0]?.title).toBe('Coming up in Music');
    expect(music.embeds[0]?.description).not.toContain('Later stream');
  });

  it('lists recent streams with links to their video pages, by views when asked', async () => {
    const reply = await parti_('recent', { sort: 'views' }).reply();
    const description = reply.embeds[0]?.description ?? '';
    expect(description).toMatch(/^\[I'm Live on Parti\]\(https:\/\/parti\.com\/video\/73640\)/);
    expect(reply.embeds[0]?.footer?.text).toMatch(/^most viewed first/);
    const mine = await parti_('recent', { creator: '465731' }).reply();
    expect(mine.embeds[0]?.title).toBe('Recent streams by worldoftshirts2001');
    expect(mine.embeds[0]?.description).toContain('(https://parti.com/video/80892)');
  });

  it('lists all categories and featured channels', async () => {
    const categories = await parti_('categories').reply();
    expect(categories.embeds[0]?.description).toContain('**Gaming**');
    expect(categories.embeds[0]?.description).toContain('**Valorant**');
    const featured = await parti_('featured').reply();
    expect(featured.embeds[0]?.title).toBe('Featured on Parti');
    expect(featured.embeds[0]?.description).toMatch(/SNEAKO.*4,340 members/);
  });
});
