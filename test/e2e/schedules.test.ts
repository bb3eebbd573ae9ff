// Parti schedules in the Events tab, and planned watch parties, end to end: the real bot process
// against fake Parti (its calendar, live list and push socket) and fake Discord (which enforces the
// scheduled-event rules and sends GUILD_SCHEDULED_EVENT_* back). Assertions are on the events a
// server's members would see.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PermissionFlagsBits } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBot, tempStoreFile, type BotProcess } from '../support/bot.js';
import {
  DEFAULT_BOT_PERMISSIONS,
  EventStatus,
  button,
  startFakeDiscord,
  type FakeDiscord,
  type FakeGuild,
  type FakeScheduledEvent,
} from '../support/fakeDiscord.js';
import { startFakeParti, type FakeParti } from '../support/fakeParti.js';

const BALTHIER = 353044; // profile fixture: BalthierGR, linked to twitter:KickBalthierGR
const WORLD = 465731;
const HOUR = 3_600_000;
const redis = process.env.TEST_STORE === 'redis';
const env = {
  EVENTS_RECONCILE_SECONDS: '1',
  ALERT_POLL_SECONDS: '1',
  ALERT_GRACE_SECONDS: '5',
  ALERT_LEASE_SECONDS: '2',
};
const WITH_EVENTS = DEFAULT_BOT_PERMISSIONS | PermissionFlagsBits.CreateEvents;
/** A 1×1 PNG: the stream preview Parti's calendar names, served by the fake's media host. */
const PREVIEW_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

let discord: FakeDiscord;
let parti: FakeParti;
let bot: BotProcess;
let guild: FakeGuild;
let storeFile: string;
let admin: ReturnType<FakeDiscord['makeUser']>;
let general: string;

function command(name: 'alerts' | 'party', subcommand: string, options: Record<string, unknown>, group?: string) {
  return discord.command({
    guildId: guild.id,
    channelId: general,
    user: admin,
    permissions: PermissionFlagsBits.ManageGuild | PermissionFlagsBits.SendMessages,
    name,
    subcommand,
    ...(group ? { subcommandGroup: group } : {}),
    options: options as never,
  });
}

const events = (): FakeScheduledEvent[] => discord.scheduledEvents(guild.id);
const seconds = (ms: number): number => Math.floor(ms / 1000);

/** A calendar entry `inMs` from now (Parti counts in seconds). */
function entry(eventId: number, userId: number, title: string, inMs: number) {
  return {
    event_id: eventId,
    user_id: userId,
    category_id: 7,
    category_name: 'Gaming',
    event_title: title,
    event_start_ts: seconds(Date.now() + inMs),
  };
}

/** Waits for `count` events matching, then a few reconciles longer to catch any extra. */
async function expectEvents(match: (e: FakeScheduledEvent) => boolean, count: number): Promise<FakeScheduledEvent[]> {
  await expect.poll(() => events().filter(match).length, { timeout: 10_000 }).toBe(count);
  await sleep(2_500);
  const found = events().filter(match);
  expect(found).toHaveLength(count);
  return found;
}

beforeAll(async () => {
  [discord, parti] = await Promise.all([startFakeDiscord(), startFakeParti()]);
  parti.clearLive();
  parti.setCalendar([]);
  const covers = mkdtempSync(join(tmpdir(), 'event-covers-'));
  writeFileSync(join(covers, 'preview.png'), PREVIEW_PNG);
  parti.setMediaDir(covers);
  guild = discord.addGuild({
    name: 'Parti fans',
    channels: [{ name: 'general' }, { name: 'Watch', type: 2 }],
    botPermissions: DEFAULT_BOT_PERMISSIONS,
  });
  general = guild.channel('general').id;
  admin = discord.makeUser({ username: 'admin' });
  storeFile = tempStoreFile();
  bot = await startBot({ discord, parti, storeFile, env });
  await parti.waitForSubscription();
});
afterAll(async () => {
  await bot?.stop();
  await Promise.all([discord?.close(), parti?.close()]);
});

describe('mirroring Parti schedules', () => {
  it('lists /alerts events and /party schedule in /help', async () => {
    const help = await discord.command({ guildId: guild.id, channelId: general, user: admin, name: 'help' }).reply();
    expect(help.embeds[0]?.description).toContain(
      "`/alerts events add [creator] [category] [live-events]` — Mirror a creator's or a category's Parti schedule as server events",
    );
    expect(help.embeds[0]?.description).toContain('`/party schedule when source [voice-channel] [title]` — ');
  });

  it('refuses to mirror without the Create Events permission, naming it', async () => {
    const reply = await command('alerts', 'add', { creator: String(BALTHIER) }, 'events').reply();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toBe(
      'I cannot make events on this server: give me the **Create Events** (or **Manage Events**) permission and try again.',
    );
    expect(events()).toHaveLength(0);
  });

  it('makes one event of a calendar entry: title, creator link, start, default length, description', async () => {
    discord.setBotPermissions(guild.id, WITH_EVENTS);
    const start = Date.now() + 3 * HOUR;
    parti.setCalendar([
      { ...entry(91001, BALTHIER, 'Speedrun *night*', 3 * HOUR), event_file: `${parti.mediaUrl}/preview.png` },
      entry(91002, WORLD, 'Not followed', 3 * HOUR),
      { ...entry(91003, BALTHIER, 'Too far ahead', 20 * 24 * HOUR) },
    ]);
    const reply = await command('alerts', 'add', { creator: 'twitter:KickBalthierGR' }, 'events').reply();
    expect(reply.content).toBe(
      "Mirroring **BalthierGR**: their streams of the next 14 days appear in the server's **Events** tab within a minute.",
    );
    const [event] = await expectEvents(() => true, 1);
    expect(event).toMatchObject({
      name: 'Speedrun *night*',
      entity_type: 3,
      status: EventStatus.Scheduled,
      channel_id: null,
      entity_metadata: { location: 'https://parti.com/KickBalthierGR' },
      creator_id: discord.botUser.id,
    });
    expect(seconds(Date.parse(event!.scheduled_start_time))).toBe(seconds(start));
    expect(Date.parse(event!.scheduled_end_time!) - Date.parse(event!.scheduled_start_time)).toBe(2 * HOUR);
    expect(event!.description).toBe("BalthierGR on Parti · Gaming\n\nMirrored from Parti's schedule (event 91001).");
    // The stream's preview is the event's cover (Discord keeps an image hash).
    expect(event!.image).toMatch(/^\d+$/);
    expect(parti.requestsTo(/\/preview\.png$/)).toBeGreaterThanOrEqual(1);
  });

  it('edits the event when the title or the time changes, never making a second one', async () => {
    const [before] = events();
    const later = Date.now() + 5 * HOUR;
    parti.setCalendar([entry(91001, BALTHIER, 'Speedrun night, moved', 5 * HOUR)]);
    await expect.poll(() => events()[0]?.name, { timeout: 10_000 }).toBe('Speedrun night, moved');
    const [after] = await expectEvents(() => true, 1);
    expect(after!.id).toBe(before!.id);
    expect(seconds(Date.parse(after!.scheduled_start_time))).toBe(seconds(later));
  });

  it('cancels the event of an entry gone from the calendar', async () => {
    parti.setCalendar([]);
    await expect.poll(() => events()[0]?.status, { timeout: 10_000 }).toBe(EventStatus.Canceled);
    expect(events()).toHaveLength(1);
  });

  it('makes no duplicate across a restart', async () => {
    parti.setCalendar([entry(91010, BALTHIER, 'After the restart', 2 * HOUR)]);
    await expectEvents((e) => e.name === 'After the restart', 1);
    await bot.stop();
    bot = await startBot({ discord, parti, storeFile, env });
    await bot.waitForLog('this process delivers go-live alerts');
    await expectEvents((e) => e.name === 'After the restart', 1);
  }, 60_000);

  it('makes no duplicate after a crash between Discord making the event and the bot recording it', async () => {
    const hold = discord.holdAnswer('POST', `/guilds/${guild.id}/scheduled-events`);
    parti.setCalendar([
      entry(91010, BALTHIER, 'After the restart', 2 * HOUR),
      entry(91012, BALTHIER, 'Crash in between', 2 * HOUR),
    ]);
    await hold.processed;
    bot.child.kill('SIGKILL');
    await bot.exited;
    hold.release();
    expect(events().filter((e) => e.name === 'Crash in between')).toHaveLength(1);
    bot = await startBot({ discord, parti, storeFile, env });
    await bot.waitForLog('scheduled event adopted', 30_000);
    await expectEvents((e) => e.name === 'Crash in between', 1);
  }, 60_000);

  it.runIf(redis)('makes no duplicate with a second instance on the same store', async () => {
    const second = await startBot({ discord, parti, storeFile, env });
    try {
      parti.setCalendar([
        entry(91010, BALTHIER, 'After the restart', 2 * HOUR),
        entry(91011, BALTHIER, 'Two processes', 2 * HOUR),
      ]);
      await expectEvents((e) => e.name === 'Two processes', 1);
      await expectEvents((e) => e.name === 'After the restart', 1);
    } finally {
      await second.stop();
    }
  });
});

describe('a go-live meets its event', () => {
  it('sets the event ACTIVE when the stream with its event id goes live, links it from the alert, and completes it at the end', async () => {
    const alertsChannel = general;
    const added = await command('alerts', 'add', { creator: String(BALTHIER), channel: alertsChannel }).reply();
    expect(added.embeds[0]?.title).toBe('Alert saved');
    parti.setCalendar([entry(91020, BALTHIER, 'Going live soon', 20 * 60_000)]);
    const [event] = await expectEvents((e) => e.name === 'Going live soon', 1);
    expect(event!.status).toBe(EventStatus.Scheduled);
    const interested = discord.makeUser({ username: 'fan' });
    discord.markInterested(guild.id, event!.id, interested);
    expect(discord.scheduledEvents(guild.id).find((e) => e.id === event!.id)?.user_count).toBe(1);

    parti.goLive(BALTHIER, { event_id: 91020, event_title: 'Going live soon', viewers_count: 40 });
    await expect
      .poll(() => events().find((e) => e.id === event!.id)?.status, { timeout: 10_000 })
      .toBe(EventStatus.Active);
    const alert = await discord.waitForMessage(alertsChannel, (m) => m.embeds[0]?.title === 'Going live soon');
    expect(alert.content).toContain(`https://discord.com/events/${guild.id}/${event!.id}`);

    parti.setLive(BALTHIER, { event_id: 91020, event_title: 'Going live soon', viewers_count: 75 });
    await sleep(2_500);
    parti.setLive(BALTHIER, null);
    await expect
      .poll(() => events().find((e) => e.id === event!.id)?.status, { timeout: 15_000 })
      .toBe(EventStatus.Completed);
    const done = events().find((e) => e.id === event!.id)!;
    expect(done.description).toMatch(/Stream ended after \d+ min, 75 peak viewers\.$/);
    expect(events().filter((e) => e.name === 'Going live soon')).toHaveLength(1);
  });
});

describe('a go-live without a matching event id', () => {
  it('sets going the event of the same creator starting within the hour', async () => {
    parti.setCalendar([entry(91040, BALTHIER, 'Within the hour', 30 * 60_000)]);
    const [event] = await expectEvents((e) => e.name === 'Within the hour', 1);
    parti.goLive(BALTHIER, { event_id: 99_001, event_title: 'Started early, new id' });
    await expect
      .poll(() => events().find((e) => e.id === event!.id)?.status, { timeout: 10_000 })
      .toBe(EventStatus.Active);
    parti.setLive(BALTHIER, null);
    await expect
      .poll(() => events().find((e) => e.id === event!.id)?.status, { timeout: 15_000 })
      .toBe(EventStatus.Completed);
  });

  it('makes an event for an unscheduled stream only where live-events is on', async () => {
    const reply = await command('alerts', 'add', { creator: String(WORLD), 'live-events': true }, 'events').reply();
    expect(reply.content).toContain('Streams they start without a schedule get an event too.');
    parti.goLive(BALTHIER, { event_id: 99_002, event_title: 'No schedule, no event' });
    parti.goLive(WORLD, { event_id: 99_003, event_title: 'Unplanned stream', viewers_count: 12 });
    const [event] = await expectEvents((e) => e.name === 'Unplanned stream', 1);
    expect(event).toMatchObject({ status: EventStatus.Active, entity_type: 3 });
    expect(events().filter((e) => e.name === 'No schedule, no event')).toHaveLength(0);
    parti.setLive(WORLD, null);
    parti.setLive(BALTHIER, null);
    await expect
      .poll(() => events().find((e) => e.id === event!.id)?.status, { timeout: 15_000 })
      .toBe(EventStatus.Completed);
  });
});

describe('planned watch parties', () => {
  it('opens at its time: the panel is posted and the event goes ACTIVE; ending the party completes it', async () => {
    const at = new Date(Date.now() + 6_000).toISOString();
    const choices = await discord.autocomplete({
      guildId: guild.id,
      channelId: general,
      user: admin,
      name: 'party',
      subcommand: 'schedule',
      options: { when: 'in 2h', source: 'x' },
      focused: 'when',
    });
    expect(choices[0]?.name).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC \(in 2 h 0 min\)$/);

    const reply = await command('party', 'schedule', {
      when: at,
      source: 'https://parti.com/video/80892',
      title: 'Movie at six',
    }).reply();
    expect(reply.ephemeral).toBe(true);
    const code = /invite code `([A-Z0-9]{6})`/.exec(reply.content)?.[1];
    expect(code).toBeDefined();
    const [event] = await expectEvents((e) => e.name === 'Movie at six', 1);
    expect(event).toMatchObject({ status: EventStatus.Scheduled, entity_type: 3 });
    expect(event!.entity_metadata?.location).toBe(`http://localhost:8080/watch-parties/${code}`);
    expect(reply.content).toContain(`https://discord.com/events/${guild.id}/${event!.id}`);
    const isPanel = (m: { embeds: Array<{ title?: string }> }) => m.embeds[0]?.title === '🎬 Movie at six';
    expect(discord.messages(general).filter(isPanel)).toHaveLength(0);

    const panel = await discord.waitForMessage(general, isPanel, 15_000);
    await expect
      .poll(() => events().find((e) => e.id === event!.id)?.status, { timeout: 5_000 })
      .toBe(EventStatus.Active);
    expect(panel.embeds[0]?.fields?.find((f) => f.name === 'Invite code')?.value).toBe(`\`${code}\``);

    await discord.button({ message: panel, customId: button(panel, 'End').custom_id, user: admin }).reply();
    await expect
      .poll(() => events().find((e) => e.id === event!.id)?.status, { timeout: 10_000 })
      .toBe(EventStatus.Completed);
  });

  it('holds the event in a voice channel, once the bot may connect there', async () => {
    const voice = guild.channel('Watch').id;
    const options = {
      when: 'in 3h',
      source: 'https://parti.com/video/80892',
      title: 'In voice',
      'voice-channel': voice,
    };
    const refused = await command('party', 'schedule', options).reply();
    expect(refused.content).toBe(
      `I cannot hold an event in <#${voice}>: I need **View Channel** and **Connect** there. Give me those, or leave the channel out for an event with the invite link.`,
    );
    discord.setBotPermissions(guild.id, WITH_EVENTS | PermissionFlagsBits.Connect);
    const reply = await command('party', 'schedule', options).reply();
    expect(reply.content).toMatch(/^Planned: the party opens <t:\d+:F>/);
    const [event] = await expectEvents((e) => e.name === 'In voice', 1);
    expect(event).toMatchObject({ entity_type: 2, channel_id: voice, entity_metadata: null });
    discord.setBotPermissions(guild.id, WITH_EVENTS);
  });

  it('is cancelled when its event is cancelled in Discord', async () => {
    const reply = await command('party', 'schedule', {
      when: 'in 1h',
      source: 'https://parti.com/video/80892',
      title: 'Cancelled later',
    }).reply();
    const code = /invite code `([A-Z0-9]{6})`/.exec(reply.content)?.[1] ?? 'none';
    const before = await command('party', 'info', { code }).reply();
    expect(before.embeds[0]?.title).toBe('🎬 Cancelled later');
    const [event] = await expectEvents((e) => e.name === 'Cancelled later', 1);
    discord.cancelScheduledEventAsUser(guild.id, event!.id);
    await bot.waitForLog('planned watch party cancelled: its event was cancelled in Discord');
    const after = await command('party', 'info', { code }).reply();
    expect(after.content).toBe('That watch party has ended, or the code is wrong.');
  });
});

describe('manners', () => {
  it('pauses when Discord refuses for want of the permission, says so in the list, and resumes once it is back', async () => {
    discord.setBotPermissions(guild.id, DEFAULT_BOT_PERMISSIONS);
    parti.setCalendar([entry(91030, BALTHIER, 'While refused', 4 * HOUR)]);
    await bot.waitForLog('scheduled events refused by Discord; pausing them for the guild');
    const list = await command('alerts', 'list', {}, 'events').reply();
    expect(list.embeds[0]?.description).toContain('⚠️ **Paused** ');
    expect(list.embeds[0]?.description).toContain('I am missing the **Create Events** / **Manage Events** permission');
    expect(events().filter((e) => e.name === 'While refused')).toHaveLength(0);

    discord.setBotPermissions(guild.id, WITH_EVENTS);
    await expectEvents((e) => e.name === 'While refused', 1);
    const resumed = await command('alerts', 'list', {}, 'events').reply();
    expect(resumed.embeds[0]?.description).not.toContain('Paused');
  });
});
