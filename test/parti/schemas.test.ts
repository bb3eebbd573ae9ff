// Every recorded Parti answer parses, and the schemas survive the changes a backend we do not own makes:
// new fields, missing fields, numbers sent as strings. Also: what counts as a go-live on the push socket.
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  AssetPriceListSchema,
  CalendarEventListSchema,
  CategoryListSchema,
  ChannelInfoSchema,
  ChatMessageListSchema,
  ChatSettingsSchema,
  CurrencyInfoListSchema,
  FeaturedChannelListSchema,
  FeedItemListSchema,
  GoLiveSchema,
  LiveChannelListSchema,
  ModeratorListSchema,
  PinnedMessageListSchema,
  RecentStreamListSchema,
  RecentStreamSchema,
  UserIdLookupSchema,
  UserProfileSchema,
  categoryLabel,
  isChannelLive,
  parseGoLive,
} from '../../src/parti/schemas.js';
import { PARTI_FIXTURES_DIR, loadPartiFixture } from '../support/fakeParti.js';

/** Which schema reads which fixture, by file name prefix. */
const SCHEMA_BY_PREFIX: Array<[string, z.ZodType]> = [
  ['user_profile_feed.', FeedItemListSchema],
  ['user_profile_chat.', ChatMessageListSchema],
  ['user_profile.', UserProfileSchema],
  ['social.', UserIdLookupSchema],
  ['user_id_from_name.', UserIdLookupSchema],
  ['channel_info.', ChannelInfoSchema],
  ['live.', LiveChannelListSchema],
  ['recent.8', RecentStreamSchema],
  ['recent.', RecentStreamListSchema],
  ['calendar_events.', CalendarEventListSchema],
  ['categories.', CategoryListSchema],
  ['featured_channels.', FeaturedChannelListSchema],
  ['moderators.', ModeratorListSchema],
  ['global_moderators.', ModeratorListSchema],
  ['pinned_message.', PinnedMessageListSchema],
  ['chat_settings.', ChatSettingsSchema],
  ['user_currency_info.', CurrencyInfoListSchema],
  ['assets_prices.', AssetPriceListSchema],
  ['ws.new_channel_live_notify.', GoLiveSchema],
];

/**
 * Captures of routes that need a logged-in user, which the bot never calls (so no schema of its
 * own reads them): the route, and the shape the capture has.
 */
const UNCALLED_BY_PREFIX: Array<[string, { route: string; shape: z.ZodType }]> = [
  [
    'user_profile_message.',
    { route: 'user_profile_message', shape: z.strictObject({ unread_message_count: z.number().int().nonnegative() }) },
  ],
  ['user_profile_following.', { route: 'user_profile_following', shape: z.array(z.number().int().positive()).min(1) }],
  ['get_creator_passes_available.', { route: 'get_creator_passes_available', shape: z.array(z.unknown()).length(0) }],
];

const fixtures = readdirSync(PARTI_FIXTURES_DIR).filter((name) => name.endsWith('.json'));
const entryFor = <T>(table: Array<[string, T]>, name: string): T | undefined =>
  table.find(([prefix]) => name.startsWith(prefix))?.[1];
const read = fixtures.filter((name) => entryFor(SCHEMA_BY_PREFIX, name));
const uncalled = fixtures.filter((name) => entryFor(UNCALLED_BY_PREFIX, name));
const clientSource = readFileSync(new URL('../../src/parti/client.ts', import.meta.url), 'utf8');

describe('fixtures', () => {
  it('has a schema decision for every fixture file', () => {
    expect(fixtures.length).toBeGreaterThan(30);
    expect(fixtures.filter((name) => !read.includes(name) && !uncalled.includes(name))).toEqual([]);
    expect(uncalled).toHaveLength(UNCALLED_BY_PREFIX.length);
  });

  it.each(read)('%s parses', (name) => {
    const result = entryFor(SCHEMA_BY_PREFIX, name)!.safeParse(loadPartiFixture(name));
    expect(result.success, result.success ? '' : JSON.stringify(result.error.issues)).toBe(true);
  });

  // Should the bot start calling one of these routes, its answer needs a schema and a place above.
  it.each(uncalled)('%s is of a route the Parti client never calls, and has the shape captured', (name) => {
    const { route, shape } = entryFor(UNCALLED_BY_PREFIX, name)!;
    expect(clientSource).not.toContain(route);
    const result = shape.safeParse(loadPartiFixture(name));
    expect(result.success, result.success ? '' : JSON.stringify(result.error.issues)).toBe(true);
  });
});

describe('tolerance', () => {
  it('lets unknown fields through and does without optional ones', () => {
    const profile = UserProfileSchema.parse({ user_id: 1, brand_new_field: { nested: true } });
    expect(profile).toEqual({ user_id: 1, brand_new_field: { nested: true } });

    const info = ChannelInfoSchema.parse({ channel_info: { channel: { user_id: 5, future: 1 } }, extra: [] });
    expect(isChannelLive(info)).toBe(false);
    expect(ChannelInfoSchema.parse({ status: 'Public' }).channel_info).toBeUndefined();

    const stream = RecentStreamSchema.parse({ user_id: 2, event_id: 3, unknown: 'x' });
    expect(stream.livestream_recording).toBeUndefined();
  });

  it('takes null for optional fields', () => {
    const profile = UserProfileSchema.parse({
      user_id: 1,
      user_name: null,
      members: null,
      description: null,
      social_media: null,
    });
    expect(profile.user_name).toBeNull();
    const info = ChannelInfoSchema.parse({
      channel_info: { channel: null, stream: null, livestream_event_info: null },
      is_streaming_live_now: null,
    });
    expect(isChannelLive(info)).toBe(false);
  });

  it('coerces numbers and booleans sent as strings', () => {
    expect(UserProfileSchema.parse({ user_id: '353044', members: '749' })).toMatchObject({
      user_id: 353044,
      members: 749,
    });
    expect(ChannelInfoSchema.parse({ is_streaming_live_now: 'true' }).is_streaming_live_now).toBe(true);
    expect(RecentStreamListSchema.parse([{ user_id: 1, event_id: '80892', total_viewers: '776' }])[0]).toMatchObject({
      event_id: 80892,
      total_viewers: 776,
    });
    expect(UserIdLookupSchema.parse('567503')).toBe(567503);
    expect(UserIdLookupSchema.parse({ user_id: 567503 })).toBe(567503);
  });

  it('keeps prices and amounts as text, whatever Parti sends', () => {
    expect(AssetPriceListSchema.parse([{ price: 103510.5, price_diff: '0.01' }])[0]).toMatchObject({
      price: '103510.5',
      price_diff: '0.01',
    });
  });

  it('still rejects what the bot cannot use', () => {
    expect(UserProfileSchema.safeParse({ user_name: 'no id' }).success).toBe(false);
    expect(UserProfileSchema.safeParse({ user_id: 'abc' }).success).toBe(false);
    expect(UserProfileSchema.safeParse({ user_id: -4 }).success).toBe(false);
    expect(RecentStreamSchema.safeParse({ user_id: 1 }).success).toBe(false);
    expect(LiveChannelListSchema.safeParse({ user_id: 1 }).success).toBe(false);
  });

  it('names categories even when Parti leaves the name empty or out', () => {
    const [empty, noDisplay, neither] = CategoryListSchema.parse([
      { category_id: 16, name: '', display_name: 'Valorant' },
      { category_id: 7, name: 'Gaming' },
      { category_id: 99 },
    ]);
    expect(empty && categoryLabel(empty)).toBe('Valorant');
    expect(noDisplay && categoryLabel(noDisplay)).toBe('Gaming');
    expect(neither && categoryLabel(neither)).toBe('#99');
  });
});

describe('parseGoLive', () => {
  const template = loadPartiFixture<Record<string, unknown>>('ws.new_channel_live_notify.constructed.json');

  it('reads the flat go-live payload, from text or parsed JSON', () => {
    expect(parseGoLive(JSON.stringify(template))).toMatchObject({ user_id: 567503, event_id: 80695, user_name: 'DBR' });
    expect(parseGoLive(Buffer.from(JSON.stringify(template)))?.livestream_id).toBe(76436);
    expect(parseGoLive({ user_id: 1, livestream_id: 2 })).toMatchObject({ user_id: 1, livestream_id: 2 });
    expect(parseGoLive({ user_id: '1', event_id: '2', new_field: true })).toMatchObject({
      user_id: 1,
      event_id: 2,
      new_field: true,
    });
  });

  it.each([
    ['junk text', 'not json'],
    ['a number', '42'],
    ['an array', [template]],
    ['null', null],
    ['an asset price update', { asset_type: 'Crypto', ticker: 'bitcoin', price: '1' }],
    ['a chat message', { chat_id: 1, user_id: 353044, post_content: 'hi' }],
    ['no user', { event_id: 1, livestream_id: 2 }],
    ['a subscription echo', { subscribe_options: { NewChannelLiveNotify: {} } }],
  ])('ignores %s', (_what, message) => {
    expect(parseGoLive(message)).toBeNull();
  });
});
