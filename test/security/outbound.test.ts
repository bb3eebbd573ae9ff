// The server reads the playlists of clip URLs a host pastes (to tell live from recorded). Pointed
// inside its own network, that read is a request nobody outside could make: the loopback interface,
// a private or link-local address (169.254.169.254 answers cloud credentials). Against the real party
// server with MEDIA_ALLOW_PRIVATE off, each is refused with 400 INVALID_SOURCE, and a local server
// standing in for the internal service sees no request at all. A name that answers a public address
// to a check and a private one when the connection opens (DNS rebinding) is refused as it connects.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOutbound, OutboundRefusal } from '../../src/net/outbound.js';
import { startConnectProxy, type ConnectProxy } from '../support/connectProxy.js';
import { startFakeParti, type FakeParti } from '../support/fakeParti.js';
import { api, startStack, tokenFor, type Stack, type StackOptions } from '../party/harness.js';

/** A live playlist: a clip made of it is live, so an accepted read shows in the answer too. */
const LIVE = [
  '#EXTM3U',
  '#EXT-X-TARGETDURATION:2',
  '#EXT-X-MEDIA-SEQUENCE:1',
  '#EXTINF:2.0,',
  'a.ts',
  '#EXTINF:2.0,',
  'b.ts',
  '',
].join('\n');

/** The internal service: on 127.0.0.1 and ::1, answering every request with a playlist. */
const seen: string[] = [];
const servers: Server[] = [];
let port = 0;
let port6 = 0;

async function listen(host: string): Promise<number> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push(`${req.headers.host ?? ''}${req.url ?? ''}`);
    res.end(LIVE);
  });
  server.listen(0, host);
  await once(server, 'listening');
  servers.push(server);
  return (server.address() as AddressInfo).port;
}

let fake: FakeParti;
let proxy: ConnectProxy;
const stacks: Stack[] = [];

async function stack(options: StackOptions = {}): Promise<Stack> {
  const started = await startStack(fake, { limits: { createsPerHour: 1000 }, ...options });
  stacks.push(started);
  return started;
}

/** A new party of `hostId` on `s`, and its clip route answering `source`. */
async function addClip(s: Stack, hostId: string, source: string) {
  const token = await tokenFor(s, hostId, hostId);
  const created = await api(s, 'POST', '', { token, body: {} });
  expect(created.status).toBe(201);
  return api(s, 'POST', `/${created.body.data.id}/clips`, { token, body: { source } });
}

beforeAll(async () => {
  [fake, proxy, port, port6] = await Promise.all([
    startFakeParti(),
    startConnectProxy(),
    listen('127.0.0.1'),
    listen('::1'),
  ]);
});

beforeEach(() => {
  seen.length = 0;
  proxy.tunnels.length = 0;
});

afterAll(async () => {
  for (const s of stacks) await s.close();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  await proxy?.close();
  await fake?.close();
});

describe('with MEDIA_ALLOW_PRIVATE off', () => {
  const targets = (): Array<[string, string]> => [
    ['loopback', `http://127.0.0.1:${port}/live.m3u8`],
    ['localhost', `http://localhost:${port}/live.m3u8`],
    ['loopback as an IPv4-mapped IPv6 address', `http://[::ffff:127.0.0.1]:${port}/live.m3u8`],
    ['IPv6 loopback', `http://[::1]:${port6}/live.m3u8`],
    ['loopback written as one number', `http://2130706433:${port}/live.m3u8`],
    ['loopback written in hex', `http://0x7f.1:${port}/live.m3u8`],
    ['the cloud metadata address', 'http://169.254.169.254/latest/meta-data/live.m3u8'],
    ['a private address', 'http://10.0.0.1/live.m3u8'],
    ['a unique-local IPv6 address', 'http://[fd00::1]/live.m3u8'],
    ['loopback, in a link the server never reads (viewers would)', `http://127.0.0.1:${port}/movie.mp4`],
  ];

  it('refuses a clip at each internal address with 400 INVALID_SOURCE, and nothing there is asked', async () => {
    const s = await stack({ mediaAllowPrivate: false });
    const answers: Record<string, unknown> = {};
    for (const [what, source] of targets()) {
      const answer = await addClip(s, 'host', source);
      answers[what] = { status: answer.status, code: answer.body.error?.code, message: answer.body.error?.message };
    }
    const refused = { status: 400, code: 'INVALID_SOURCE', message: 'that address is not allowed' };
    expect(answers).toEqual(Object.fromEntries(targets().map(([what]) => [what, refused])));
    expect(seen).toEqual([]);
  });

  it('refuses a party created with one, and its playlist is not read either', async () => {
    const s = await stack({ mediaAllowPrivate: false });
    const token = await tokenFor(s, 'creator', 'Cleo');
    const answer = await api(s, 'POST', '', { token, body: { source: `http://localhost:${port}/live.m3u8` } });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('INVALID_SOURCE');
    expect(seen).toEqual([]);
  });

  it('checks through a proxy too, before the proxy is asked', async () => {
    const s = await stack({ mediaAllowPrivate: false, proxyUrl: proxy.url });
    const answer = await addClip(s, 'host', `http://127.0.0.1:${port}/live.m3u8`);
    expect(answer.status).toBe(400);
    expect(proxy.tunnels).toEqual([]);
    expect(seen).toEqual([]);
  });
});

describe('DNS rebinding', () => {
  it('refuses the connection when the name answers a public address first and loopback as it connects', async () => {
    const answers: string[] = [];
    const outbound = createOutbound({
      resolve() {
        // The first question is the check before the request; the next is the connection's own.
        const address = answers.length === 0 ? '93.184.215.14' : '127.0.0.1';
        answers.push(address);
        return Promise.resolve([{ address, family: 4 }]);
      },
    });
    // `localhost`: were the connection to ask the system instead, it would reach the internal service.
    const reading = outbound.request(new URL(`http://localhost:${port}/live.m3u8`), { method: 'GET' });
    await expect(reading).rejects.toThrow(OutboundRefusal);
    expect(answers).toEqual(['93.184.215.14', '127.0.0.1']);
    expect(seen).toEqual([]);
  });
});

describe('the legitimate cases', () => {
  it('with MEDIA_ALLOW_PRIVATE=true, plays media from the LAN (the same URL, read and live)', async () => {
    const s = await stack({ mediaAllowPrivate: true });
    const source = `http://127.0.0.1:${port}/lan/live.m3u8`;
    const answer = await addClip(s, 'host', source);
    expect(answer.status).toBe(201);
    expect(answer.body.data.clip).toMatchObject({ source, live: { clock: 'sequence' } });
    expect(seen).toEqual([`127.0.0.1:${port}/lan/live.m3u8`]);
  });

  it('with PARTI_PROXY_URL set, reads the playlist through the proxy', async () => {
    const s = await stack({ mediaAllowPrivate: true, proxyUrl: proxy.url });
    const source = `http://127.0.0.1:${port}/proxied/live.m3u8`;
    const answer = await addClip(s, 'host', source);
    expect(answer.status).toBe(201);
    expect(answer.body.data.clip).toMatchObject({ source, live: { clock: 'sequence' } });
    expect(proxy.tunnels.map((tunnel) => tunnel.target)).toEqual([`127.0.0.1:${port}`]);
    expect(seen).toEqual([`127.0.0.1:${port}/proxied/live.m3u8`]);
  });
});
