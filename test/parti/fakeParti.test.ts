// The fake Parti's hosts, push socket and media servers behave as end-to-end tests rely on.
import { once } from 'node:events';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { WebSocket } from 'ws';
import { parseGoLive, SUBSCRIBE_NEW_CHANNEL_LIVE } from '../../src/parti/schemas.js';
import { rawText, startFakeParti, type FakeParti } from '../support/fakeParti.js';

let parti: FakeParti;
const sockets: WebSocket[] = [];

async function connectClient(subscribe: boolean): Promise<{ ws: WebSocket; messages: string[] }> {
  const ws = new WebSocket(parti.wsUrl);
  sockets.push(ws);
  const messages: string[] = [];
  ws.on('message', (data) => messages.push(rawText(data)));
  await once(ws, 'open');
  if (subscribe) ws.send(JSON.stringify(SUBSCRIBE_NEW_CHANNEL_LIVE));
  return { ws, messages };
}

async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

beforeAll(async () => {
  parti = await startFakeParti();
});

afterAll(async () => {
  await parti.close();
});

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await until(() => parti.wsClients === 0);
  parti.respondToPings = true;
  parti.refuseConnections(false);
});

describe('push socket', () => {
  it('waits for a subscription, and knows an existing one', async () => {
    await expect(parti.waitForSubscription(50)).rejects.toThrow(/no NewChannelLiveNotify/);
    const waiting = parti.waitForSubscription(2000);
    await connectClient(true);
    await waiting;
    await parti.waitForSubscription(10);
    expect(parti.wsClients).toBe(1);
    expect(parti.subscriptions.at(-1)).toEqual({ subscribe_options: { NewChannelLiveNotify: {} } });
  });

  it('goLive pushes a full go-live and updates the HTTP state', async () => {
    const { messages } = await connectClient(true);
    await parti.waitForSubscription();
    const payload = parti.goLive(353044, { event_title: 'Games and music', category_name: 'Gaming' });
    await until(() => messages.length === 1);
    const received = parseGoLive(messages[0]);
    expect(received).toMatchObject({
      user_id: 353044,
      user_name: 'BalthierGR',
      event_title: 'Games and music',
      social_media: 'twitter',
    });
    for (const field of [
      'livestream_id',
      'user_avatar_id',
      'avatar_link',
      'event_id',
      'event_file',
      'viewers_count',
      'social_username',
      'channel_arn',
    ]) {
      expect(payload, field).toHaveProperty(field);
    }
    expect(parti.isLive(353044)).toBe(true);

    const info = (await (await fetch(`${parti.apiUrl}/profile/get_livestream_channel_info/353044`)).json()) as {
      channel_info: { channel: { current_event_id: number }; livestream_event_info: { event_name: string } };
    };
    expect(info.channel_info.channel.current_event_id).toBe(payload.event_id);
    expect(info.channel_info.livestream_event_info.event_name).toBe('Games and music');
    const gaming = (await (
      await fetch(`${parti.apiUrl}/profile/get_livestream_channel_info/live?categories=7`)
    ).json()) as Array<{
      user_id: number;
    }>;
    expect(gaming.map((c) => c.user_id)).toEqual([353044]);
    parti.setLive(353044, null);
  });

  it('sends raw strings as they are', async () => {
    const { messages } = await connectClient(false);
    expect(parti.push('not json {')).toBe(1);
    await until(() => messages.length === 1);
    expect(messages[0]).toBe('not json {');
  });

  it('answers protocol pings unless told not to', async () => {
    const { ws } = await connectClient(false);
    let pongs = 0;
    ws.on('pong', () => pongs++);
    ws.ping();
    await until(() => pongs === 1);
    parti.respondToPings = false;
    ws.ping();
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(pongs).toBe(1);
  });

  it('drops sockets and refuses new ones', async () => {
    const { ws } = await connectClient(true);
    const closed = once(ws, 'close');
    parti.dropSockets();
    const [code] = (await closed) as [number];
    expect(code).toBe(1006);

    parti.refuseConnections(true);
    const refused = new WebSocket(parti.wsUrl);
    sockets.push(refused);
    const errored = new Promise((resolve) => refused.on('error', resolve));
    await new Promise((resolve) => refused.on('close', resolve));
    await expect(errored).resolves.toBeInstanceOf(Error);
    expect(parti.wsClients).toBe(0);
  });
});

describe('media', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'fake-parti-media-'));
    await mkdir(path.join(dir, 'ivs'), { recursive: true });
    await writeFile(path.join(dir, 'ivs', 'master.m3u8'), '#EXTM3U\n');
    await writeFile(path.join(dir, 'ivs', '0.ts'), Buffer.from('0123456789'));
  });

  afterAll(async () => {
    parti.setMediaDir(null);
    await rm(dir, { recursive: true, force: true });
  });

  it('serves files from the media directory, with ranges, and nothing outside it', async () => {
    expect((await fetch(`${parti.mediaUrl}/ivs/master.m3u8`)).status).toBe(404);
    parti.setMediaDir(dir);
    const playlist = await fetch(`${parti.mediaUrl}/ivs/master.m3u8`);
    expect(playlist.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(await playlist.text()).toBe('#EXTM3U\n');
    const part = await fetch(`${parti.mediaUrl}/ivs/0.ts`, { headers: { range: 'bytes=2-4' } });
    expect(part.status).toBe(206);
    expect(await part.text()).toBe('234');
    expect((await fetch(`${parti.mediaUrl}/..%2F..%2Fetc%2Fpasswd`)).status).toBe(403);
    expect(parti.requestsTo('media')).toBeGreaterThanOrEqual(4);
  });

  it('serves the same files on both media hosts, or on one', async () => {
    parti.setMediaDir(dir);
    for (const base of parti.mediaUrls) expect((await fetch(`${base}/ivs/master.m3u8`)).status).toBe(200);
    parti.setMediaDir(null, 'media');
    expect((await fetch(`${parti.hostUrl('media')}/ivs/master.m3u8`)).status).toBe(404);
    expect((await fetch(`${parti.hostUrl('watch')}/ivs/master.m3u8`)).status).toBe(200);
  });
});

describe('hosts', () => {
  afterEach(async () => {
    await parti.setOnline('prod-api', true);
  });

  it('serves user_id_from_name on the newer API hosts only, and everything else on all three', async () => {
    const [prodApi, api, apiBackend] = parti.apiUrls;
    const byName = (base: string | undefined) => fetch(`${base}/profile/user_id_from_name/247CryptoTracker`);
    expect(await (await byName(prodApi)).json()).toEqual({ user_id: 881001 });
    expect(await (await byName(api)).json()).toEqual({ user_id: 881001 });
    expect((await byName(apiBackend)).status).toBe(404);
    for (const base of parti.apiUrls) {
      expect((await fetch(`${base}/profile/user_profile/881001`)).status).toBe(200);
    }
    expect(parti.requests.filter((r) => r.route === 'user_id_from_name').map((r) => r.host)).toEqual([
      'prod-api',
      'api',
      'api-backend',
    ]);
  });

  it('takes one host offline, refusing connections, and brings it back on the same port', async () => {
    // A new connection each time, as a client whose pooled connection the host closed would make.
    const status = async (base: string | undefined) => {
      const dispatcher = new Agent();
      try {
        const response = await request(`${base}/profile/featured_channels`, { dispatcher });
        await response.body.dump();
        return response.statusCode;
      } catch (error) {
        return (error as { code?: string }).code;
      } finally {
        await dispatcher.close();
      }
    };
    await parti.setOnline('prod-api', false);
    expect(await status(parti.apiUrl)).toBe('ECONNREFUSED');
    expect(await status(parti.hostUrl('api'))).toBe(200);
    await parti.setOnline('prod-api', true);
    expect(await status(parti.apiUrl)).toBe(200);
  });
});
