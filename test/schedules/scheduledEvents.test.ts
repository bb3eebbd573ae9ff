// Discord's scheduled-event rules, both sides: the fake Discord refuses what Discord refuses (so the
// e2e tests can trust it), and what the bot sends (src/schedules/scheduledEvents.ts) always fits,
// however long a Parti title or a link is. Also how /party schedule reads a time.
import { DiscordAPIError, PermissionFlagsBits, REST, Routes } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWhen } from '../../src/schedules/plans.js';
import { createScheduledEventsApi, eventFields, EVENT_RULES } from '../../src/schedules/scheduledEvents.js';
import {
  DEFAULT_BOT_PERMISSIONS,
  EventStatus,
  startFakeDiscord,
  type FakeDiscord,
  type FakeGuild,
} from '../support/fakeDiscord.js';

const HOUR = 3_600_000;

describe('the fake Discord enforces the scheduled-event rules', () => {
  let fake: FakeDiscord;
  let guild: FakeGuild;
  let rest: REST;

  const external = (over: Record<string, unknown> = {}) => ({
    name: 'Stream night',
    privacy_level: 2,
    entity_type: 3,
    entity_metadata: { location: 'https://parti.com/KickBalthierGR' },
    scheduled_start_time: new Date(Date.now() + HOUR).toISOString(),
    scheduled_end_time: new Date(Date.now() + 2 * HOUR).toISOString(),
    ...over,
  });
  const create = (body: Record<string, unknown>) =>
    rest.post(Routes.guildScheduledEvents(guild.id), { body }) as Promise<{ id: string; status: number }>;
  const patch = (id: string, body: Record<string, unknown>) =>
    rest.patch(Routes.guildScheduledEvent(guild.id, id), { body }) as Promise<{ status: number }>;
  async function refusal(promise: Promise<unknown>): Promise<{ code: unknown; errors: string }> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DiscordAPIError);
    const api = error as DiscordAPIError;
    return { code: api.code, errors: JSON.stringify(api.rawError) };
  }

  beforeAll(async () => {
    fake = await startFakeDiscord();
    guild = fake.addGuild({
      channels: [{ name: 'general' }, { name: 'Watch', type: 2 }],
      botPermissions: DEFAULT_BOT_PERMISSIONS | PermissionFlagsBits.CreateEvents,
    });
    rest = new REST({ api: fake.apiUrl, retries: 0 }).setToken(fake.token);
  });
  afterAll(async () => {
    await fake?.close();
  });

  it('refuses a name over 100, a description over 1000 and a location over 100 characters', async () => {
    expect((await refusal(create(external({ name: 'x'.repeat(101) })))).errors).toContain('name');
    expect((await refusal(create(external({ description: 'x'.repeat(1001) })))).errors).toContain('description');
    const long = await refusal(
      create(external({ entity_metadata: { location: `https://parti.com/${'x'.repeat(90)}` } })),
    );
    expect(long).toMatchObject({ code: 50035 });
    expect(long.errors).toContain('location');
    expect(fake.scheduledEvents(guild.id)).toHaveLength(0);
  });

  it('refuses a start in the past and an end before the start', async () => {
    const past = await refusal(create(external({ scheduled_start_time: new Date(Date.now() - 1000).toISOString() })));
    expect(past.errors).toContain('GUILD_SCHEDULED_EVENT_SCHEDULE_PAST');
    const backwards = await refusal(
      create(external({ scheduled_end_time: new Date(Date.now() + HOUR / 2).toISOString() })),
    );
    expect(backwards.errors).toContain('GUILD_SCHEDULED_EVENT_END_BEFORE_START');
  });

  it('moves SCHEDULED → ACTIVE → COMPLETED, and refuses anything after that', async () => {
    const event = await create(external());
    expect(event.status).toBe(EventStatus.Scheduled);
    expect((await refusal(patch(event.id, { status: EventStatus.Completed }))).code).toBe(50035);
    expect((await patch(event.id, { status: EventStatus.Active })).status).toBe(EventStatus.Active);
    expect((await refusal(patch(event.id, { status: EventStatus.Canceled }))).code).toBe(50035);
    expect((await patch(event.id, { status: EventStatus.Completed })).status).toBe(EventStatus.Completed);
    expect((await refusal(patch(event.id, { name: 'Again' }))).code).toBe(180000);
  });

  it('moves SCHEDULED → CANCELED only, and a moderator can cancel too', async () => {
    const event = await create(external());
    expect((await patch(event.id, { status: EventStatus.Canceled })).status).toBe(EventStatus.Canceled);
    expect((await refusal(patch(event.id, { status: EventStatus.Active }))).code).toBe(180000);
    const other = await create(external());
    fake.cancelScheduledEventAsUser(guild.id, other.id);
    expect(fake.scheduledEvents(guild.id).find((e) => e.id === other.id)?.status).toBe(EventStatus.Canceled);
  });

  it('needs Create Events (or Manage Events)', async () => {
    fake.setBotPermissions(guild.id, DEFAULT_BOT_PERMISSIONS);
    expect((await refusal(create(external()))).code).toBe(50013);
    fake.setBotPermissions(guild.id, DEFAULT_BOT_PERMISSIONS | PermissionFlagsBits.ManageEvents);
    expect((await create(external())).status).toBe(EventStatus.Scheduled);
    fake.setBotPermissions(guild.id, DEFAULT_BOT_PERMISSIONS | PermissionFlagsBits.CreateEvents);
  });

  it('takes what the bot sends for a title, a description and a link far over the limits', async () => {
    const api = createScheduledEventsApi(rest, Date.now);
    const event = await api.create(guild.id, {
      name: `${'🎮'.repeat(60)} the longest stream title anyone ever typed into Parti's schedule`,
      description: 'd'.repeat(5000),
      location: `https://parti.com/${'a'.repeat(200)}`,
      startMs: Date.now() - HOUR,
      endMs: Date.now() - 2 * HOUR,
    });
    const stored = fake.scheduledEvents(guild.id).find((e) => e.id === event.id)!;
    expect([...stored.name]).toHaveLength(EVENT_RULES.name);
    expect([...stored.description!].length).toBeLessThanOrEqual(EVENT_RULES.description);
    expect(stored.entity_metadata?.location).toBe('https://parti.com');
    expect(Date.parse(stored.scheduled_start_time)).toBeGreaterThan(Date.now());
    expect(Date.parse(stored.scheduled_end_time!)).toBeGreaterThan(Date.parse(stored.scheduled_start_time));
  });
});

describe('eventFields', () => {
  it('keeps a draft that fits as it is', () => {
    const now = Date.UTC(2026, 11, 6, 12);
    const fields = eventFields(
      {
        name: 'Night',
        description: 'About',
        location: 'https://parti.com/x',
        startMs: now + HOUR,
        endMs: now + 3 * HOUR,
      },
      now,
      true,
    );
    expect(fields).toMatchObject({
      name: 'Night',
      description: 'About',
      scheduled_start_time: new Date(now + HOUR).toISOString(),
      scheduled_end_time: new Date(now + 3 * HOUR).toISOString(),
      entity_metadata: { location: 'https://parti.com/x' },
    });
  });
});

describe('parseWhen', () => {
  const now = Date.UTC(2026, 11, 6, 18, 0);

  it.each([
    ['in 2h', now + 2 * HOUR],
    ['in 90 min', now + 90 * 60_000],
    ['in 1h30m', now + 90 * 60_000],
    ['in 2 hours', now + 2 * HOUR],
    ['20:30', Date.UTC(2026, 11, 6, 20, 30)],
    ['17:00', Date.UTC(2026, 11, 7, 17, 0)],
    ['20:30+02:00', Date.UTC(2026, 11, 6, 18, 30)],
    ['20:30 UTC', Date.UTC(2026, 11, 6, 20, 30)],
    ['2026-12-24T18:00Z', Date.UTC(2026, 11, 24, 18, 0)],
    ['2026-12-24 18:00', Date.UTC(2026, 11, 24, 18, 0)],
    ['2026-12-24T18:00+01:00', Date.UTC(2026, 11, 24, 17, 0)],
  ])('reads %s', (typed, expected) => {
    expect(parseWhen(typed, now)).toBe(expected);
  });

  it.each(['tomorrow-ish', 'in soon', '25:00', 'in 2 parsecs', ''])('refuses %s', (typed) => {
    expect(parseWhen(typed, now)).toBeUndefined();
  });
});
