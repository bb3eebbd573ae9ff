// The Parti client against the fake Parti on 127.0.0.1: every route parses its recorded answer,
// failures become the right PartiError kind, and the cache / in-flight sharing saves requests.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { Keyv } from 'keyv';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPartiClient, type PartiClient, type PartiClientOptions } from '../../src/parti/client.js';
import { PartiError, type PartiErrorKind } from '../../src/parti/errors.js';
import { categoryLabel, isChannelLive } from '../../src/parti/schemas.js';
import { liveHlsUrl, recordingUrl } from '../../src/parti/urls.js';
import { FAKE_PARTI_API_HOSTS, FAKE_PARTI_MEDIA_HOSTS, startFakeParti, type FakeParti } from '../support/fakeParti.js';
import { startConnectProxy, type ConnectProxy } from '../support/connectProxy.js';

let parti: FakeParti;
let clients: PartiClient[] = [];
let logLines: Array<Record<string, unknown>> = [];

function makeClient(overrides: Partial<PartiClientOptions> = {}): PartiClient {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n'))
        if (line) logLines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const client = createPartiClient({
    baseUrls: [parti.apiUrl],
    mediaBaseUrls: parti.mediaUrls,
    cache: new Keyv(),
    logger: pino({ level: 'debug' }, sink),
    timeoutMs: 2000,
    ...overrides,
  });
  clients.push(client);
  return client;
}

async function failure(promise: Promise<unknown>): Promise<PartiError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(PartiError);
  return error as PartiError;
}

async function expectKind(promise: Promise<unknown>, kind: PartiErrorKind): Promise<PartiError> {
  const error = await failure(promise);
  expect(error.kind, error.message).toBe(kind);
  return error;
}

beforeAll(async () => {
  parti = await startFakeParti();
});

afterAll(async () => {
  await parti.close();
});

beforeEach(() => {
  logLines = [];
});

afterEach(async () => {
  parti.clearFaults();
  parti.refuseConnections(false);
  parti.setMediaDir(null);
  await Promise.all([...FAKE_PARTI_API_HOSTS, ...FAKE_PARTI_MEDIA_HOSTS].map((host) => parti.setOnline(host, true)));
  parti.requests.length = 0;
  await Promise.all(clients.map((client) => client.close()));
  clients = [];
});

describe('routes', () => {
  it('reads a profile, with and without the optional fields', async () => {
    const client = makeClient();
    const balthier = await client.getUserProfile(353044);
    expect(balthier.user_name).toBe('BalthierGR');
    expect(balthier.members).toBe(749);
    expect(balthier.description).toContain('PARTI PARTNER');
    expect(balthier.social_media).toBe('twitter');
    expect(balthier.avatar_link).toMatch(/^https:\/\/assets\.parti\.com\//);

    const shirts = await client.getUserProfile(465731);
    expect(shirts.user_name).toBe('worldoftshirts2001');
    expect(shirts.social_media).toBeUndefined();
    expect(shirts.avatar_link).toBeUndefined();
  });

  it('resolves social accounts, sending the Discord handle percent-encoded', async () => {
    const client = makeClient();
    expect(await client.getUserIdBySocialMedia('twitter', 'KickBalthierGR')).toBe(353044);
    expect(await client.getUserIdBySocialMedia('discord', 'drb666#0')).toBe(567503);
    expect(await client.getUserIdBySocialMedia('discord', 'drb666', { fresh: true })).toBe(567503);
    expect(parti.requests.map((r) => r.path)).toEqual([
      '/parti_v2/profile/get_user_by_social_media/twitter/KickBalthierGR',
      '/parti_v2/profile/get_user_by_social_media/discord/drb666%230',
      '/parti_v2/profile/get_user_by_social_media/discord/drb666%230',
    ]);
  });

  it('accepts a social lookup answered as plain text', async () => {
    parti.setRaw('/parti_v2/profile/get_user_by_social_media/telegram/plain', ' 123456\n', 200, {
      'content-type': 'text/plain',
    });
    expect(await makeClient().getUserIdBySocialMedia('telegram', 'plain')).toBe(123456);
  });

  it('tells an offline channel from a live one, with a playable URL for the live one', async () => {
    const client = makeClient();
    const offline = await client.getChannelInfo(353044);
    expect(isChannelLive(offline)).toBe(false);
    expect(offline.channel_info?.channel?.livestream_id).toBe(7862);

    const live = await client.getChannelInfo(567503);
    expect(isChannelLive(live)).toBe(true);
    expect(live.channel_info?.stream?.viewer_count).toBe(470);
    expect(live.channel_info?.livestream_event_info?.event_name).toBe("I'm Live on Parti");
    expect(live.channel_info?.channel?.current_event_id).toBe(80695);
    const hls = liveHlsUrl(live.channel_info?.channel?.playback_url, live.channel_info?.channel?.playback_auth_token);
    expect(hls).toMatch(/^https:\/\/.+\.m3u8\?token=eyJ[^&]+&player_version=1\.17\.0$/);
  });

  it('follows setLive in channel info and the live list', async () => {
    const client = makeClient();
    parti.setLive(123456, { event_title: 'Mink hour', category_name: 'Music', viewers_count: 5 });
    const info = await client.getChannelInfo(123456);
    expect(isChannelLive(info)).toBe(true);
    expect(info.channel_info?.livestream_event_info?.event_name).toBe('Mink hour');
    expect(info.channel_info?.channel?.playback_url).toBe(`${parti.mediaUrl}/live/123456/master.m3u8`);
    const music = await client.getLiveChannels({ categoryId: 10 });
    expect(music.map((c) => c.user_id)).toEqual([123456]);
    expect(parti.requests.at(-1)?.url).toBe(
      '/parti_v2/profile/get_livestream_channel_info/live?limit=100&offset=0&categories=10',
    );
    parti.setLive(123456, null);
    expect(isChannelLive(await client.getChannelInfo(123456, { fresh: true }))).toBe(false);
  });

  it('lists live channels and pages through all of them', async () => {
    const client = makeClient();
    const first = await client.getLiveChannels();
    expect(first.find((c) => c.user_id === 465731)).toMatchObject({
      user_name: 'worldoftshirts2001',
      viewers_count: 2360,
    });

    for (let i = 0; i < 230; i++) parti.setLive(900000 + i, { viewers_count: i });
    try {
      parti.requests.length = 0;
      const all = await client.getAllLiveChannels({}, { fresh: true });
      expect(all).toHaveLength(232);
      expect(new Set(all.map((c) => c.user_id)).size).toBe(232);
      expect(parti.requests.map((r) => r.query.get('offset'))).toEqual(['0', '100', '200']);
    } finally {
      for (let i = 0; i < 230; i++) parti.setLive(900000 + i, null);
    }
  });

  it('lists recent streams with the query the web app sends', async () => {
    const client = makeClient();
    const recent = await client.getRecentStreams();
    expect(recent.length).toBeGreaterThan(3);
    expect(parti.requests.at(-1)?.url).toBe(
      '/parti_v2/profile/get_livestream_channel_info/recent?sort_by_date_desc=true&offset=0&limit=15',
    );

    const top = await client.getRecentStreams({
      topViewsSort: true,
      fromTs: 1627948800,
      toTs: 2229292800,
      followedOnly: false,
    });
    expect(top[0]).toMatchObject({ user_name: 'Jack Doherty', total_viewers: 93260 });
    expect(parti.requests.at(-1)?.url).toBe(
      '/parti_v2/profile/get_livestream_channel_info/recent?sort_by_date_desc=true&from_ts=1627948800&to_ts=2229292800&followed_only=false&offset=0&limit=15&top_views_sort=true',
    );

    const gamingAndMusic = await client.getRecentStreams({ categories: [7, 10] });
    expect(parti.requests.at(-1)?.query.getAll('categories')).toEqual(['7', '10']);
    expect(new Set(gamingAndMusic.map((s) => s.category_name))).toEqual(new Set(['Gaming', 'Music']));

    const byUser = await client.getRecentStreams({ byUserId: 465731, limit: 10 });
    expect(byUser.map((s) => s.event_id).sort()).toEqual([80892, 80894]);
  });

  it('reads one recorded stream with a playable recording', async () => {
    const video = await makeClient().getRecentStream(80892);
    expect(video).toMatchObject({
      user_name: 'worldoftshirts2001',
      event_title: "I'm Live on Parti",
      total_viewers: 776,
    });
    expect(recordingUrl(parti.mediaUrl, video.livestream_recording)).toBe(
      `${parti.mediaUrl}/ivs/v1/455030909228/he8vhFE098Ge/2025/5/17/7/19/9saEZCu7T6dG/media/hls/master.m3u8`,
    );
  });

  it('reads the calendar, categories and featured channels', async () => {
    const client = makeClient();
    const calendar = await client.getCalendarEvents();
    expect(calendar[0]).toMatchObject({
      event_title: 'CSRTRS-18 MAY 25raw',
      event_start_ts: 1747603500,
      category_name: 'AfterParti',
    });
    expect(parti.requests.at(-1)?.url).toBe('/parti_v2/profile/livestream_calendar/events?offset=0&limit=100');

    const categories = await client.getCategories();
    expect(categories).toHaveLength(21);
    const valorant = categories.find((c) => c.category_id === 16);
    expect(valorant && categoryLabel(valorant)).toBe('Valorant');

    const featured = await client.getFeaturedChannels();
    expect(featured.map((c) => c.user_name)).toEqual(['SNEAKO', 'Jack Doherty', 'DigitalNas']);
  });

  it('reads moderators, feed, pinned message, chat, chat settings, currency and prices', async () => {
    const client = makeClient();
    expect((await client.getModerators(353044)).map((m) => m.user_name)).toEqual([
      'officialsupercal',
      'ApolloGR',
      'JennyM',
    ]);
    expect((await client.getGlobalModerators()).find((m) => m.user_id === 33)?.social_media).toBe('discord');

    const feed = await client.getUserFeed(353044);
    expect(parti.requests.at(-1)?.url).toBe('/parti_v2/profile/user_profile_feed/353044?limit=5');
    expect(feed[0]?.post_content).toBe('Games and music');
    expect(recordingUrl('https://watch.parti.com', feed[0]?.livestream_recording)).toMatch(
      /^https:\/\/watch\.parti\.com\/ivs\/v1\/.+\/master\.m3u8$/,
    );

    expect(await client.getPinnedMessage(353044)).toEqual([]);
    const pinned = await client.getPinnedMessage(567503);
    expect(pinned[0]?.[0]).toBe('DBR');
    expect(pinned[0]?.[1].post_content).toContain('TTS');

    expect((await client.getPublicChat(353044))[0]?.post_content).toBe('i will be on later ');
    expect((await client.getChatSettings(465731)).username_color).toBe('#FAC94C');
    expect((await client.getCurrencyInfo(353044))[0]).toMatchObject({ amount: '10000000', pass_name: 'AvP' });
    const prices = await client.getAssetPrices();
    expect(prices.find((p) => p.display_symbol === 'BTC')).toMatchObject({ price: '103510', direction: 'up' });
  });

  it('sends the browser headers the web app sends, and no Accept-Encoding', async () => {
    await makeClient().getCategories();
    const headers = parti.requests.at(-1)?.headers;
    expect(headers?.origin).toBe('https://parti.com');
    expect(headers?.referer).toBe('https://parti.com/');
    expect(headers?.accept).toBe('application/json, text/plain, */*');
    expect(headers?.['user-agent']).toMatch(/Chrome\/\d+/);
    expect(headers?.['accept-encoding']).toBeUndefined();
  });

  it('logs one debug line per upstream request', async () => {
    await makeClient().getUserProfile(353044);
    const line = logLines.find((l) => l.msg === 'parti request');
    expect(line).toMatchObject({ level: 20, route: 'user_profile', status: 200, attempt: 1 });
    expect(typeof line?.ms).toBe('number');
  });
});

describe('failures', () => {
  it('reports a Cloudflare challenge as such, without retrying', async () => {
    parti.fault('user_profile', { kind: 'challenge' });
    const error = await expectKind(makeClient().getUserProfile(353044), 'challenge');
    expect(error.status).toBe(403);
    expect(error.route).toBe('user_profile');
    expect(parti.requestsTo('user_profile')).toBe(1);
  });

  it('knows a challenge by its cf-mitigated header alone', async () => {
    parti.setRaw('/parti_v2/profile/user_profile/31337', '{}', 503, { 'cf-mitigated': 'challenge' });
    const error = await expectKind(makeClient().getUserProfile(31337), 'challenge');
    expect(error.status).toBe(503);
    expect(parti.requestsTo('user_profile')).toBe(1);
  });

  it('takes an HTML page on a JSON route for a challenge, not a parse failure', async () => {
    parti.fault('live', {
      kind: 'status',
      status: 503,
      body: '<!DOCTYPE html><html><title>Just a moment...</title></html>',
    });
    await expectKind(makeClient().getLiveChannels(), 'challenge');
    expect(parti.requestsTo('live')).toBe(1);
  });

  it('waits out a 429 with Retry-After and then succeeds', async () => {
    parti.fault('categories', { kind: 'rate_limit', retryAfterSeconds: 1 }, { times: 1 });
    const started = Date.now();
    const categories = await makeClient().getCategories();
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(categories).toHaveLength(21);
    expect(parti.requestsTo('categories')).toBe(2);
  });

  it('fails fast when Retry-After is longer than it will wait', async () => {
    parti.fault('categories', { kind: 'rate_limit', retryAfterSeconds: 30 });
    const error = await expectKind(makeClient().getCategories(), 'rate_limited');
    expect(error.retryAfterMs).toBe(30_000);
    expect(parti.requestsTo('categories')).toBe(1);
  });

  it('gives up on 429 after the retries', async () => {
    parti.fault('categories', { kind: 'rate_limit', retryAfterSeconds: 0 });
    await expectKind(makeClient({ retries: 1 }).getCategories(), 'rate_limited');
    expect(parti.requestsTo('categories')).toBe(2);
  });

  it('retries a 500 and succeeds', async () => {
    parti.fault('user_profile', { kind: 'status', status: 500 }, { times: 1 });
    expect((await makeClient().getUserProfile(353044)).user_name).toBe('BalthierGR');
    expect(parti.requestsTo('user_profile')).toBe(2);
  });

  it('retries a reset connection and succeeds', async () => {
    parti.fault('featured', { kind: 'reset' }, { times: 1 });
    expect(await makeClient().getFeaturedChannels()).toHaveLength(3);
    expect(parti.requestsTo('featured')).toBe(2);
  });

  it('reports a server that keeps failing as unavailable after the retries', async () => {
    parti.fault('user_profile', { kind: 'status', status: 502 });
    const error = await expectKind(makeClient().getUserProfile(353044), 'unavailable');
    expect(error.status).toBe(502);
    expect(parti.requestsTo('user_profile')).toBe(3);
  });

  it('does not retry other 4xx', async () => {
    parti.fault('user_profile', { kind: 'status', status: 403 });
    const error = await expectKind(makeClient().getUserProfile(353044), 'http');
    expect(error.status).toBe(403);
    expect(parti.requestsTo('user_profile')).toBe(1);
  });

  it('reports unparseable JSON as malformed, without the body in the message', async () => {
    parti.fault('user_profile', { kind: 'malformed' });
    const error = await expectKind(makeClient().getUserProfile(353044), 'malformed');
    expect(error.message).not.toContain('Balth');
  });

  it('reports a schema mismatch as malformed, naming the field', async () => {
    parti.setRaw('/parti_v2/profile/user_profile/424242', JSON.stringify({ user_id: 'not a number', user_name: 'x' }));
    const error = await expectKind(makeClient().getUserProfile(424242), 'malformed');
    expect(error.message).toContain('user_id');
    expect(error.message).not.toContain('not a number');
  });

  it('times out a slow answer, retrying a timeout once at most', async () => {
    parti.fault('channel_info', { kind: 'slow', ms: 1500 });
    const started = Date.now();
    await expectKind(makeClient({ timeoutMs: 250, retries: 2 }).getChannelInfo(353044), 'timeout');
    expect(Date.now() - started).toBeLessThan(1500);
    // On a loaded machine the fake may read the retry only after the client gave up on it: wait for
    // it (so it cannot land in the next test), then make sure no third attempt follows.
    await expect.poll(() => parti.requestsTo('channel_info')).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(parti.requestsTo('channel_info')).toBe(2);
  });

  it('answers not_found for an unknown user, at once', async () => {
    await expectKind(makeClient().getUserProfile(999999), 'not_found');
    await expectKind(makeClient().getChannelInfo(999999), 'not_found');
    await expectKind(makeClient().getUserIdBySocialMedia('discord', 'nobody#0'), 'not_found');
    await expectKind(makeClient().getRecentStream(1), 'not_found');
    expect(parti.requests).toHaveLength(4);
  });

  it('answers not_found for a null or empty answer to a lookup', async () => {
    parti.setRaw('/parti_v2/profile/user_profile/777', 'null');
    parti.setRaw('/parti_v2/profile/get_livestream_channel_info/recent/778', '');
    await expectKind(makeClient().getUserProfile(777), 'not_found');
    await expectKind(makeClient().getRecentStream(778), 'not_found');
  });

  it('refuses ids that are not ids without asking Parti', async () => {
    await expectKind(makeClient().getUserProfile(-1), 'not_found');
    await expectKind(makeClient().getUserProfile(1.5), 'not_found');
    expect(parti.requests).toHaveLength(0);
  });

  it('reports a closed port as unavailable', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const client = makeClient({ baseUrls: [`http://127.0.0.1:${port}/parti_v2`], retries: 1 });
    const error = await expectKind(client.getCategories(), 'unavailable');
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('reports connections dropped on open as unavailable', async () => {
    parti.refuseConnections(true);
    await expectKind(makeClient({ retries: 1 }).getCategories(), 'unavailable');
  });

  it('fails calls after close()', async () => {
    const client = makeClient();
    await client.close();
    await expectKind(client.getCategories(), 'unavailable');
  });
});

describe('several API bases', () => {
  const [PROD_API, API, API_BACKEND] = FAKE_PARTI_API_HOSTS;
  const hostsAsked = (route: string): string[] => parti.requests.filter((r) => r.route === route).map((r) => r.host);

  it('answers from the next base at once when the first refuses connections, and remembers the skip', async () => {
    const inUse: Array<[string, string, string | undefined]> = [];
    const client = makeClient({
      baseUrls: parti.apiUrls,
      onBaseInUse: (kind, base, replaced) => inUse.push([kind, base, replaced]),
    });
    await parti.setOnline(PROD_API, false);
    expect((await client.getUserProfile(353044)).user_name).toBe('BalthierGR');
    // Within the first attempt: no retry, so no backoff spent on the dead base.
    expect(logLines.some((l) => l.msg === 'parti request failed; retrying')).toBe(false);
    expect(hostsAsked('user_profile')).toEqual([API]);
    expect(inUse).toEqual([
      ['api', parti.hostUrl(PROD_API), undefined],
      ['media', parti.mediaUrls[0], undefined],
      ['api', parti.hostUrl(API), parti.hostUrl(PROD_API)],
    ]);
    expect(logLines.find((l) => l.msg === 'parti api base switched')).toMatchObject({
      level: 40,
      from: parti.hostUrl(PROD_API),
      to: parti.hostUrl(API),
      reason: 'unreachable (ECONNREFUSED)',
    });

    // Every later request goes straight to the base that answers.
    await client.getCategories();
    await client.getLiveChannels();
    expect(logLines.filter((l) => l.msg === 'parti request failed' && l.base === parti.hostUrl(PROD_API))).toHaveLength(
      1,
    );
    expect(hostsAsked('categories')).toEqual([API]);
    expect(hostsAsked('live')).toEqual([API]);
  });

  it('goes through every base to the one that is up, the captured layout included', async () => {
    const client = makeClient({ baseUrls: parti.apiUrls, retries: 0 });
    await Promise.all([parti.setOnline(PROD_API, false), parti.setOnline(API, false)]);
    expect(await client.getAllLiveChannels()).not.toHaveLength(0);
    expect(await client.getUserIdBySocialMedia('twitter', 'KickBalthierGR')).toBe(353044);
    expect(new Set(parti.requests.map((r) => r.host))).toEqual(new Set([API_BACKEND]));
  });

  it('fails as unavailable when no base can be reached, after its retries', async () => {
    const client = makeClient({ baseUrls: parti.apiUrls, retries: 1 });
    await Promise.all(FAKE_PARTI_API_HOSTS.map((host) => parti.setOnline(host, false)));
    const error = await expectKind(client.getCategories(), 'unavailable');
    expect(error.message).toContain('ECONNREFUSED');
    // Two attempts, each asking all three bases.
    expect(logLines.filter((l) => l.msg === 'parti request failed' && l.unreachable)).toHaveLength(6);
  });

  it('calls a 404 from every base not found, then believes the base that serves the route', async () => {
    const client = makeClient({ baseUrls: parti.apiUrls });
    await expectKind(client.getUserProfile(999999), 'not_found');
    expect(hostsAsked('user_profile')).toEqual([PROD_API, API, API_BACKEND]);
    parti.requests.length = 0;
    await client.getUserProfile(353044);
    await expectKind(client.getUserProfile(999998), 'not_found');
    // Once it served the route, its 404 is an answer: one request for a missing id.
    expect(hostsAsked('user_profile')).toEqual([PROD_API, PROD_API]);
    expect(logLines.some((l) => l.msg === 'parti api base switched')).toBe(false);
  });

  it('skips a base for a route it lacks once another base serves that route', async () => {
    // The captured layout first: it has no user_id_from_name.
    const client = makeClient({ baseUrls: [parti.hostUrl(API_BACKEND), parti.hostUrl(PROD_API)] });
    expect(await client.getUserIdByName('247CryptoTracker')).toBe(881001);
    expect(await client.getUserIdByName('KickBalthierGR')).toBe(353044);
    expect(hostsAsked('user_id_from_name')).toEqual([API_BACKEND, PROD_API, PROD_API]);
    // Other routes still go to the first base: a route detour is no switch.
    await client.getCategories();
    expect(hostsAsked('categories')).toEqual([API_BACKEND]);
    expect(logLines.some((l) => l.msg === 'parti api base switched')).toBe(false);
  });

  it('does not switch for a Cloudflare challenge or a 429: those are answered as with one base', async () => {
    const client = makeClient({ baseUrls: parti.apiUrls });
    parti.fault('featured', { kind: 'challenge' }, { times: 1 });
    await expectKind(client.getFeaturedChannels(), 'challenge');
    parti.fault('categories', { kind: 'rate_limit', retryAfterSeconds: 30 }, { times: 1 });
    await expectKind(client.getCategories(), 'rate_limited');
    expect(new Set(parti.requests.map((r) => r.host))).toEqual(new Set([PROD_API]));
    expect(parti.requests).toHaveLength(2);
  });

  it('retries a 500 on the same base rather than switching', async () => {
    const client = makeClient({ baseUrls: parti.apiUrls });
    parti.fault('user_profile', { kind: 'status', status: 500 }, { times: 1 });
    expect((await client.getUserProfile(353044)).user_name).toBe('BalthierGR');
    expect(hostsAsked('user_profile')).toEqual([PROD_API, PROD_API]);
  });
});

describe('names', () => {
  it('resolves a page slug through user_id_from_name on the newer hosts', async () => {
    const client = makeClient();
    expect(await client.getUserIdByName('247CryptoTracker')).toBe(881001);
    expect(await client.getUserIdByName('drb666/0')).toBe(567503);
    expect(parti.requests.map((r) => r.path)).toEqual([
      '/parti_v2/profile/user_id_from_name/247CryptoTracker',
      // A "/" in the slug is sent as "#", percent-encoded.
      '/parti_v2/profile/user_id_from_name/drb666%230',
    ]);
  });

  it('falls back to the social route where user_id_from_name has no answer', async () => {
    const client = makeClient({ baseUrls: [parti.hostUrl('api-backend')] });
    expect(await client.getUserIdByName('247CryptoTracker')).toBe(881001);
    expect(await client.getUserIdByName('drb666/0')).toBe(567503);
    expect(parti.requests.map((r) => r.path)).toEqual([
      '/parti_v2/profile/user_id_from_name/247CryptoTracker',
      '/parti_v2/profile/get_user_by_social_media/parti/247CryptoTracker',
      '/parti_v2/profile/user_id_from_name/drb666%230',
      '/parti_v2/profile/get_user_by_social_media/discord/drb666%230',
    ]);
    await expectKind(client.getUserIdByName('nobody-here'), 'not_found');
  });
});

describe('recordings on several media hosts', () => {
  const recording = '/ivs/v1/455030909228/he8vhFE098Ge/2025/5/17/7/19/9saEZCu7T6dG/media/hls/master.m3u8';
  const [MEDIA, WATCH] = FAKE_PARTI_MEDIA_HOSTS;
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'parti-media-'));
    mkdirSync(dirname(join(dir, recording)), { recursive: true });
    writeFileSync(join(dir, recording), '#EXTM3U\n');
  });
  const probes = (): string[] => parti.requests.filter((r) => r.route === 'media').map((r) => r.host);

  it('hands out the recording on the first media host that has it, checked with a small range request', async () => {
    const client = makeClient();
    parti.setMediaDir(dir);
    expect(await client.getRecordingUrl(recording)).toBe(`${parti.hostUrl(MEDIA)}${recording}`);
    expect(probes()).toEqual([MEDIA]);
    expect(parti.requests[0]?.headers.range).toBe('bytes=0-1023');
  });

  it('moves to the next media host when the first refuses connections or lacks the file', async () => {
    parti.setMediaDir(dir, WATCH);
    const client = makeClient();
    expect(await client.getRecordingUrl(recording)).toBe(`${parti.hostUrl(WATCH)}${recording}`);
    expect(probes()).toEqual([MEDIA, WATCH]);

    parti.requests.length = 0;
    parti.setMediaDir(dir);
    await parti.setOnline(MEDIA, false);
    const offline = makeClient();
    expect(await offline.getRecordingUrl(recording)).toBe(`${parti.hostUrl(WATCH)}${recording}`);
    // Remembered: the dead host is not asked again for a while.
    expect(await offline.getRecordingUrl(recording)).toBe(`${parti.hostUrl(WATCH)}${recording}`);
    expect(probes()).toEqual([WATCH, WATCH]);
  });

  it('finds each recording on the host that has it, older ones on the older host', async () => {
    const older = '/ivs/v1/old/master.m3u8';
    const olderDir = mkdtempSync(join(tmpdir(), 'parti-media-old-'));
    mkdirSync(dirname(join(olderDir, older)), { recursive: true });
    writeFileSync(join(olderDir, older), '#EXTM3U\n');
    parti.setMediaDir(dir, MEDIA);
    parti.setMediaDir(olderDir, WATCH);
    const client = makeClient();
    expect(await client.getRecordingUrl(recording)).toBe(`${parti.hostUrl(MEDIA)}${recording}`);
    expect(await client.getRecordingUrl(older)).toBe(`${parti.hostUrl(WATCH)}${older}`);
    expect(await client.getRecordingUrl(recording)).toBe(`${parti.hostUrl(MEDIA)}${recording}`);
    // The older one is looked for where it was found first, next time.
    expect(await client.getRecordingUrl(older)).toBe(`${parti.hostUrl(WATCH)}${older}`);
    expect(probes()).toEqual([MEDIA, MEDIA, WATCH, MEDIA, WATCH]);
  });

  it('keeps the first host when none has the file, and leaves absolute URLs alone', async () => {
    const client = makeClient();
    expect(await client.getRecordingUrl(recording.slice(1))).toBe(`${parti.hostUrl(MEDIA)}${recording}`);
    expect(logLines.some((l) => l.msg === 'no parti media base has this recording; using the one in use')).toBe(true);
    parti.requests.length = 0;
    expect(await client.getRecordingUrl('https://cdn.example/x.m3u8')).toBe('https://cdn.example/x.m3u8');
    expect(await client.getRecordingUrl(null)).toBeNull();
    expect(parti.requests).toHaveLength(0);
  });
});

describe('cache and shared requests', () => {
  it('makes one upstream request for 20 concurrent identical calls, then answers from the cache', async () => {
    const client = makeClient();
    parti.fault('user_profile', { kind: 'slow', ms: 50 }, { times: 1 });
    const answers = await Promise.all(Array.from({ length: 20 }, () => client.getUserProfile(353044)));
    expect(answers.every((a) => a.user_name === 'BalthierGR')).toBe(true);
    expect(parti.requestsTo('user_profile')).toBe(1);

    await client.getUserProfile(353044);
    expect(parti.requestsTo('user_profile')).toBe(1);

    await client.getUserProfile(353044, { fresh: true });
    expect(parti.requestsTo('user_profile')).toBe(2);
  });

  it('shares a failure between concurrent calls and does not cache it', async () => {
    const client = makeClient();
    parti.fault('categories', { kind: 'challenge' }, { times: 1 });
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => client.getCategories()));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(parti.requestsTo('categories')).toBe(1);
    expect(await client.getCategories()).toHaveLength(21);
    expect(parti.requestsTo('categories')).toBe(2);
  });

  it('keys the cache by path and query', async () => {
    const client = makeClient();
    await client.getLiveChannels({ categoryId: 7 });
    await client.getLiveChannels({ categoryId: 10 });
    await client.getLiveChannels({ categoryId: 7 });
    expect(parti.requestsTo('live')).toBe(2);
  });

  it('keeps the cache in the keyv it is given', async () => {
    const cache = new Keyv();
    await makeClient({ cache }).getFeaturedChannels();
    await makeClient({ cache }).getFeaturedChannels();
    expect(parti.requestsTo('featured')).toBe(1);
    expect(await cache.has('GET /profile/featured_channels')).toBe(true);
  });

  it('ignores a cached entry that no longer matches the schema', async () => {
    const cache = new Keyv();
    await cache.set('GET /profile/user_profile/353044', { body: { user_name: 'no id' }, at: 0 });
    expect((await makeClient({ cache }).getUserProfile(353044)).user_id).toBe(353044);
    expect(parti.requestsTo('user_profile')).toBe(1);
  });
});

describe('proxy', () => {
  let proxy: ConnectProxy;
  beforeAll(async () => {
    // undici's ProxyAgent tunnels with CONNECT even to plain-HTTP targets.
    proxy = await startConnectProxy();
  });
  afterAll(() => proxy.close());

  it('sends every request through proxyUrl', async () => {
    const client = makeClient({ proxyUrl: proxy.url });
    expect((await client.getUserProfile(353044)).user_name).toBe('BalthierGR');
    expect(await client.getCategories()).toHaveLength(21);
    const port = new URL(parti.apiUrl).port;
    expect(proxy.tunnels.map((t) => t.target)).toContain(`127.0.0.1:${port}`);
    expect(parti.requests).toHaveLength(2);
    expect(parti.requests[0]?.headers.origin).toBe('https://parti.com');
  });
});
