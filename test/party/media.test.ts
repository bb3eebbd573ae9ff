// What a party shows for a direct media URL, and how it reads a source.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PartiClient } from '../../src/parti/client.js';
import { createMediaResolver, titleFromUrl } from '../../src/party/media.js';

describe('titleFromUrl', () => {
  it('names a clip by its path in words, skipping names that say nothing', () => {
    const title = (url: string) => titleFromUrl(new URL(url));
    expect(title('https://cdn.example/shows/big-buck-bunny/master.m3u8')).toBe('big buck bunny');
    expect(title('https://cdn.example/Trailer_2024.mp4')).toBe('Trailer 2024');
    expect(title('https://cdn.example/films/Le%20Voyage/720p/index.m3u8?sig=abc')).toBe('Le Voyage');
    expect(title('https://cdn.example/index.m3u8')).toBe('cdn.example');
  });

  it('keeps no reversal, zero-width or control character a path can carry', () => {
    const title = (url: string) => titleFromUrl(new URL(url));
    expect(title('https://cdn.example/%E2%80%AEgnp.exe%E2%80%8B%0A%07/video.mp4')).toBe('gnp exe');
    expect(title('https://cdn.example/%E3%85%A4%E2%80%8B/video.mp4')).toBe('cdn.example');
  });
});

describe('reading a live playlist', () => {
  const LIVE = [
    '#EXTM3U',
    '#EXT-X-TARGETDURATION:2',
    '#EXT-X-MEDIA-SEQUENCE:7',
    '#EXT-X-PROGRAM-DATE-TIME:2026-12-02T13:00:00.000Z',
    '#EXTINF:2.0,',
    'a.ts',
    '#EXTINF:2.0,',
    'b.ts',
    '',
  ].join('\n');
  let server: Server;
  let base = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/master.m3u8') res.end('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nlow/live.m3u8\n');
      else if (req.url === '/low/live.m3u8') res.end(LIVE);
      else if (req.url === '/vod.m3u8') res.end(`${LIVE}#EXT-X-ENDLIST\n`);
      else if (req.url === '/huge.m3u8') res.end(`${LIVE}${'#EXT-X-X\n'.repeat(200_000)}`);
      else if (req.url === '/moved.m3u8') res.writeHead(302, { location: '/low/live.m3u8' }).end();
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  // The playlists here are on 127.0.0.1: a LAN server as far as the resolver knows.
  const resolver = () =>
    createMediaResolver({ parti: {} as PartiClient, now: () => 1_000, outbound: { allowPrivate: true } });

  it('makes a clip of a live stream live, with positions from its window (through a master playlist)', async () => {
    const clip = await resolver().resolveNew(`${base}/master.m3u8`);
    const start = Date.parse('2026-12-02T13:00:00Z') / 1000;
    expect(clip.live).toEqual({
      clock: 'pdt',
      epoch: start,
      targetDuration: 2,
      window: { start: 0, end: 4, at: 1_000 },
    });
    expect((await resolver().resolveNew(`${base}/vod.m3u8`)).live).toBeUndefined();
  });

  it('refuses a playlist past 1 MiB, and follows no redirect, without failing the clip', async () => {
    const source = { kind: 'url', url: `${base}/huge.m3u8`, mediaType: 'hls' } as const;
    await expect(resolver().liveWindow(source)).rejects.toThrow('playlist too large');
    await expect(resolver().liveWindow({ ...source, url: `${base}/moved.m3u8` })).rejects.toThrow('HTTP 302');
    // A playlist that cannot be read is still a clip: it plays as a recording would.
    expect((await resolver().resolveNew(`${base}/huge.m3u8`)).live).toBeUndefined();
  });
});
