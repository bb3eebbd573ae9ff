// The Parti push-socket listener against the fake Parti on 127.0.0.1: it subscribes with browser
// headers on every (re)connect, emits only go-lives, survives junk, drops, refusals, Cloudflare
// challenges and dead sockets with a growing backoff, tunnels through a CONNECT proxy, and stop()
// leaves nothing running. Small ping/backoff values keep the whole file fast.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import { PARTI_BROWSER_HEADERS } from '../../src/parti/client.js';
import {
  backoffDelay,
  createLiveFeed,
  type LiveFeed,
  type LiveFeedConnectedInfo,
  type LiveFeedDisconnectedInfo,
  type LiveFeedOptions,
  type LiveFeedReconnectingInfo,
} from '../../src/parti/liveFeed.js';
import { SUBSCRIBE_NEW_CHANNEL_LIVE, type GoLive } from '../../src/parti/schemas.js';
import { loadPartiFixture, startFakeParti, type FakeParti, type GoLivePayload } from '../support/fakeParti.js';
import { startConnectProxy, type ConnectProxy } from '../support/connectProxy.js';

let parti: FakeParti;
const feeds: LiveFeed[] = [];
const cleanups: Array<() => Promise<void>> = [];

interface Harness {
  feed: LiveFeed;
  goLives: GoLive[];
  connected: LiveFeedConnectedInfo[];
  disconnected: LiveFeedDisconnectedInfo[];
  reconnecting: LiveFeedReconnectingInfo[];
  logs: Array<Record<string, unknown>>;
}

function makeFeed(overrides: Partial<LiveFeedOptions> = {}): Harness {
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const feed = createLiveFeed({
    url: parti.wsUrl,
    logger: pino({ level: 'debug' }, sink),
    pingIntervalMs: 200,
    backoff: { initialMs: 20, maxMs: 160 },
    connectTimeoutMs: 1000,
    ...overrides,
  });
  feeds.push(feed);
  const harness: Harness = { feed, goLives: [], connected: [], disconnected: [], reconnecting: [], logs };
  feed.on('goLive', (event) => harness.goLives.push(event));
  feed.on('connected', (info) => harness.connected.push(info));
  feed.on('disconnected', (info) => harness.disconnected.push(info));
  feed.on('reconnecting', (info) => harness.reconnecting.push(info));
  return harness;
}

async function started(overrides: Partial<LiveFeedOptions> = {}): Promise<Harness> {
  const harness = makeFeed(overrides);
  harness.feed.start();
  await vi.waitFor(() => expect(harness.connected).toHaveLength(1), { timeout: 3000 });
  await parti.waitForSubscription();
  return harness;
}

/** How many NewChannelLiveNotify subscriptions the fake has received. */
function subscribeCount(): number {
  return parti.subscriptions.filter((m) => JSON.stringify(m) === JSON.stringify(SUBSCRIBE_NEW_CHANNEL_LIVE)).length;
}

function timeouts(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
}

async function listen(server: Server | ReturnType<typeof createNetServer>): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  parti = await startFakeParti();
});

afterAll(async () => {
  await parti.close();
});

afterEach(async () => {
  await Promise.all(feeds.splice(0).map((feed) => feed.stop()));
  for (const cleanup of cleanups.splice(0)) await cleanup();
  parti.refuseConnections(false);
  parti.respondToPings = true;
  parti.dropSockets();
  parti.subscriptions.length = 0;
  parti.wsHandshakes.length = 0;
});

describe('connect and messages', () => {
  it('connects with the browser Origin and User-Agent and subscribes', async () => {
    const { feed, connected } = await started();
    expect(connected).toEqual([{ reconnect: false, attempt: 1 }]);
    expect(feed.connected).toBe(true);
    expect(parti.subscriptions).toEqual([SUBSCRIBE_NEW_CHANNEL_LIVE]);
    expect(parti.wsHandshakes).toHaveLength(1);
    expect(parti.wsHandshakes[0]?.origin).toBe('https://parti.com');
    expect(parti.wsHandshakes[0]?.['user-agent']).toBe(PARTI_BROWSER_HEADERS['user-agent']);
  });

  it('emits one goLive per notification with the payload fields, duplicates included', async () => {
    const { goLives } = await started();
    const payload = parti.goLive(353044, { event_title: 'Speedrun night', category_name: 'Gaming' });
    await vi.waitFor(() => expect(goLives).toHaveLength(1));
    expect(goLives[0]).toMatchObject({ ...payload });
    parti.push(payload);
    await vi.waitFor(() => expect(goLives).toHaveLength(2));
  });

  it('ignores junk, other subscriptions, arrays and huge text, and keeps working', async () => {
    const { feed, goLives, reconnecting, disconnected, logs } = await started();
    const template = loadPartiFixture<GoLivePayload>('ws.new_channel_live_notify.constructed.json');
    const junk: Array<object | string> = [
      'not json at all',
      '{"user_id": 1, "event_id"',
      'null',
      '42',
      { chat_message: { user_id: 353044, post_content: 'hi' } },
      { asset_type: 'crypto', ticker: 'BTC', price: '104000.5' },
      { user_id: 353044 },
      [template],
      JSON.stringify({ padding: 'x'.repeat(300 * 1024) }),
    ];
    for (const message of junk) expect(parti.push(message)).toBe(1);
    parti.goLive(465731);
    await vi.waitFor(() => expect(goLives).toHaveLength(1));
    expect(goLives[0]?.user_id).toBe(465731);
    expect(feed.connected).toBe(true);
    expect(reconnecting).toEqual([]);
    expect(disconnected).toEqual([]);
    const ignored = logs.filter((line) => String(line.msg).includes('ignored'));
    expect(ignored).toHaveLength(junk.length);
    for (const line of ignored) {
      expect(line.level).toBe(20);
      expect(String(line.snippet).length).toBeLessThanOrEqual(121);
    }
  });

  it('ignores binary frames (a bare ws server, as the fake only sends text)', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    const template = loadPartiFixture<GoLivePayload>('ws.new_channel_live_notify.constructed.json');
    server.on('connection', (ws) => {
      ws.once('message', () => {
        ws.send(Buffer.from(JSON.stringify(template)), { binary: true });
        ws.send(Buffer.from([0, 159, 146, 150]), { binary: true });
        ws.send(JSON.stringify(template));
      });
    });
    const { goLives, logs, feed } = makeFeed({ url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/` });
    feed.start();
    await vi.waitFor(() => expect(goLives).toHaveLength(1));
    expect(goLives[0]?.user_id).toBe(template.user_id);
    expect(logs.filter((line) => String(line.msg).includes('binary'))).toHaveLength(2);
    for (const ws of server.clients) ws.terminate();
  });

  it('treats a frame over maxPayload as a broken socket: reconnects instead of buffering it', async () => {
    const { goLives, disconnected, connected } = await started();
    parti.push('x'.repeat(2 * 1024 * 1024));
    await vi.waitFor(() => expect(connected).toHaveLength(2));
    expect(disconnected[0]?.error).toBe('Max payload size exceeded');
    await vi.waitFor(() => expect(subscribeCount()).toBe(2));
    parti.goLive(353044);
    await vi.waitFor(() => expect(goLives).toHaveLength(1));
  });

  it('logs a listener that throws and keeps reading the socket', async () => {
    const { feed, logs } = await started();
    feed.prependListener('goLive', () => {
      throw new Error('listener bug');
    });
    parti.goLive(353044);
    parti.goLive(465731);
    await vi.waitFor(() => expect(logs.filter((line) => line.msg === 'live feed listener threw')).toHaveLength(2));
    expect(feed.connected).toBe(true);
  });
});

describe('reconnects', () => {
  it('reconnects after a drop and subscribes again', async () => {
    const { goLives, connected, disconnected, logs } = await started();
    parti.dropSockets();
    await vi.waitFor(() => expect(connected).toHaveLength(2));
    expect(connected[1]?.reconnect).toBe(true);
    expect(disconnected).toHaveLength(1);
    expect(disconnected[0]?.code).toBe(1006);
    await vi.waitFor(() => expect(subscribeCount()).toBe(2));
    expect(parti.wsHandshakes).toHaveLength(2);
    expect(logs.some((line) => line.level === 40 && line.msg === 'parti push socket disconnected')).toBe(true);
    parti.goLive(353044);
    await vi.waitFor(() => expect(goLives).toHaveLength(1));
  });

  it('backs off with growing, capped delays while refused, then connects and subscribes', async () => {
    parti.refuseConnections(true);
    const { feed, reconnecting, connected, logs } = makeFeed({ backoff: { initialMs: 20, maxMs: 160 } });
    feed.start();
    await vi.waitFor(() => expect(reconnecting.length).toBeGreaterThanOrEqual(7), { timeout: 5000 });
    const delays = reconnecting.map((info) => info.delayMs);
    expect(reconnecting.map((info) => info.attempt).slice(0, 7)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    // Equal jitter: [10,20], [20,40], [40,80], [80,160], then [80,160] at the cap.
    for (let i = 1; i < 4; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1]!);
    expect(delays[3]).toBeGreaterThan(delays[0]!);
    for (const delay of delays) expect(delay).toBeLessThanOrEqual(160);
    for (const delay of delays.slice(3)) expect(delay).toBeGreaterThanOrEqual(80);
    expect(reconnecting[0]?.error).toBeTruthy();
    expect(connected).toEqual([]);
    const warns = logs.filter(
      (line) => line.level === 40 && line.msg === 'parti push socket reconnecting after a delay',
    );
    expect(warns.length).toBe(reconnecting.length);
    expect(warns[0]).toMatchObject({ attempt: 2, delayMs: delays[0] });

    parti.refuseConnections(false);
    await vi.waitFor(() => expect(connected).toHaveLength(1), { timeout: 3000 });
    expect(connected[0]?.reconnect).toBe(false);
    expect(connected[0]?.attempt).toBeGreaterThanOrEqual(8);
    await parti.waitForSubscription();
  });

  it('counts a Cloudflare challenge on the upgrade as a failed attempt', async () => {
    const challenge = createServer((_req, res) => {
      res
        .writeHead(403, { 'content-type': 'text/html; charset=UTF-8', 'cf-mitigated': 'challenge' })
        .end('<!DOCTYPE html><title>Just a moment...</title>');
    });
    const port = await listen(challenge);
    cleanups.push(async () => {
      challenge.closeAllConnections();
      await new Promise((resolve) => challenge.close(resolve));
    });
    const { feed, reconnecting, connected } = makeFeed({ url: `ws://127.0.0.1:${port}/` });
    feed.start();
    await vi.waitFor(() => expect(reconnecting.length).toBeGreaterThanOrEqual(2));
    expect(reconnecting[0]?.error).toBe('upgrade answered HTTP 403 (Cloudflare challenge)');
    expect(connected).toEqual([]);
  });

  it('gives up on a handshake that hangs after connectTimeoutMs and retries', async () => {
    const held = new Set<Socket>();
    const silent = createNetServer((socket) => held.add(socket.on('error', () => undefined)));
    const port = await listen(silent);
    cleanups.push(async () => {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });
    const { feed, reconnecting } = makeFeed({ url: `ws://127.0.0.1:${port}/`, connectTimeoutMs: 100 });
    feed.start();
    await vi.waitFor(() => expect(reconnecting.length).toBeGreaterThanOrEqual(2));
    expect(reconnecting[0]?.error).toBe('handshake timed out after 100 ms');
    expect(held.size).toBeGreaterThanOrEqual(2);
  });
});

describe('liveness', () => {
  it('stays connected through silence while pongs come back', async () => {
    const { disconnected, feed } = await started({ pingIntervalMs: 50 });
    await sleep(400);
    expect(disconnected).toEqual([]);
    expect(feed.connected).toBe(true);
  });

  it('terminates a socket that stops answering pings within two intervals, then reconnects', async () => {
    const { connected, disconnected, logs } = await started({ pingIntervalMs: 100 });
    parti.respondToPings = false;
    const since = Date.now();
    await vi.waitFor(() => expect(disconnected).toHaveLength(1), { timeout: 2000, interval: 5 });
    const elapsed = Date.now() - since;
    expect(elapsed).toBeLessThan(2 * 100 + 100);
    expect(disconnected[0]?.error).toBe('no pong within 100 ms');
    expect(logs.some((line) => line.level === 40 && String(line.msg).includes('missed a pong'))).toBe(true);
    parti.respondToPings = true;
    await vi.waitFor(() => expect(connected).toHaveLength(2));
    expect(connected[1]?.reconnect).toBe(true);
    await vi.waitFor(() => expect(subscribeCount()).toBe(2));
  });
});

describe('stop', () => {
  it('closes promptly, never reconnects, leaves no timers, and can start again', async () => {
    const before = timeouts();
    const { feed, reconnecting, disconnected, connected } = await started({ pingIntervalMs: 50 });
    const since = Date.now();
    await feed.stop();
    expect(timeouts()).toBeLessThanOrEqual(before);
    expect(Date.now() - since).toBeLessThan(500);
    expect(feed.connected).toBe(false);
    expect(disconnected).toEqual([{ code: 1000, reason: 'client stopping' }]);
    await vi.waitFor(() => expect(parti.wsClients).toBe(0));
    await sleep(300);
    expect(reconnecting).toEqual([]);
    expect(parti.wsHandshakes).toHaveLength(1);
    expect(timeouts()).toBeLessThanOrEqual(before);

    feed.start();
    await vi.waitFor(() => expect(connected).toHaveLength(2));
    expect(connected[1]).toEqual({ reconnect: false, attempt: 1 });
  });

  it('cancels a pending reconnect', async () => {
    const before = timeouts();
    parti.refuseConnections(true);
    const { feed, reconnecting, connected } = makeFeed({ backoff: { initialMs: 200, maxMs: 400 } });
    feed.start();
    await vi.waitFor(() => expect(reconnecting).toHaveLength(1));
    await feed.stop();
    expect(timeouts()).toBeLessThanOrEqual(before);
    parti.refuseConnections(false);
    await sleep(500);
    expect(reconnecting).toHaveLength(1);
    expect(connected).toEqual([]);
    expect(parti.wsHandshakes).toHaveLength(0);
    expect(timeouts()).toBeLessThanOrEqual(before);
  });

  it('aborts a handshake in progress', async () => {
    const held = new Set<Socket>();
    const silent = createNetServer((socket) => held.add(socket.on('error', () => undefined)));
    const port = await listen(silent);
    cleanups.push(async () => {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });
    const { feed, reconnecting } = makeFeed({ url: `ws://127.0.0.1:${port}/`, connectTimeoutMs: 10_000 });
    feed.start();
    await vi.waitFor(() => expect(held.size).toBe(1));
    const since = Date.now();
    await feed.stop();
    expect(Date.now() - since).toBeLessThan(200);
    await sleep(100);
    expect(reconnecting).toEqual([]);
  });
});

describe('proxy', () => {
  let proxy: ConnectProxy;
  beforeAll(async () => {
    proxy = await startConnectProxy();
  });
  afterEach(() => {
    proxy.tunnels.length = 0;
    proxy.refuse = false;
  });
  afterAll(() => proxy.close());

  it('tunnels the socket through proxyUrl, again on reconnect, with proxy credentials', async () => {
    const { goLives, connected } = await started({ proxyUrl: `http://bot:p%40ss@127.0.0.1:${proxy.port}` });
    const target = `127.0.0.1:${new URL(parti.wsUrl).port}`;
    expect(proxy.tunnels.map((t) => t.target)).toEqual([target]);
    expect(proxy.tunnels[0]?.headers['proxy-authorization']).toBe(
      `Basic ${Buffer.from('bot:p@ss').toString('base64')}`,
    );
    expect(parti.wsHandshakes[0]?.origin).toBe('https://parti.com');
    parti.goLive(353044);
    await vi.waitFor(() => expect(goLives).toHaveLength(1));

    parti.dropSockets();
    await vi.waitFor(() => expect(connected).toHaveLength(2));
    expect(proxy.tunnels.map((t) => t.target)).toEqual([target, target]);
    await vi.waitFor(() => expect(subscribeCount()).toBe(2));
  });

  it('counts a proxy refusal as a failed attempt', async () => {
    proxy.refuse = true;
    const { feed, reconnecting, connected } = makeFeed({ proxyUrl: proxy.url });
    feed.start();
    await vi.waitFor(() => expect(reconnecting.length).toBeGreaterThanOrEqual(2));
    expect(reconnecting[0]?.error).toMatch(/proxy answered 407/);
    proxy.refuse = false;
    await vi.waitFor(() => expect(connected).toHaveLength(1));
    await parti.waitForSubscription();
  });
});

describe('backoffDelay', () => {
  it('doubles from initialMs, caps at maxMs, and never drops below half the step', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(n, 1000, 60_000, () => 0))).toEqual([
      500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000,
    ]);
    expect([1, 2, 7, 100].map((n) => backoffDelay(n, 1000, 60_000, () => 1))).toEqual([1000, 2000, 60_000, 60_000]);
  });
});
