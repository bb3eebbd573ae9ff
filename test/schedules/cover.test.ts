// An event's cover is read as an image or not at all: a page that is not an image, one too big, or a
// host that does not answer gives the event no cover, and nothing else.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoverFetcher } from '../../src/schedules/cover.js';

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);
let server: Server;
let base: string;
let hits = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    hits++;
    if (req.url === '/a.png') res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
    else if (req.url === '/page') res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>challenge</h1>');
    else if (req.url === '/huge.png')
      res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.alloc(3 * 1024 * 1024));
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('event covers', () => {
  const logger = pino({ level: 'silent' });

  it('reads an image as a data URI, once per URL for a while', async () => {
    const cover = createCoverFetcher({ outbound: { allowPrivate: true }, logger });
    const before = hits;
    expect(await cover(`${base}/a.png`)).toBe(`data:image/png;base64,${PNG.toString('base64')}`);
    expect(await cover(`${base}/a.png`)).toBe(`data:image/png;base64,${PNG.toString('base64')}`);
    expect(hits - before).toBe(1);
  });

  it('gives no cover for a page that is not an image, one too big, a 404 or a non-http URL', async () => {
    const cover = createCoverFetcher({ outbound: { allowPrivate: true }, logger });
    expect(await cover(`${base}/page`)).toBeUndefined();
    expect(await cover(`${base}/huge.png`)).toBeUndefined();
    expect(await cover(`${base}/missing.png`)).toBeUndefined();
    expect(await cover('javascript:alert(1)')).toBeUndefined();
  });

  it('reads nothing from this machine unless private addresses are allowed', async () => {
    const cover = createCoverFetcher({ outbound: {}, logger });
    const before = hits;
    expect(await cover(`${base}/a.png`)).toBeUndefined();
    expect(hits).toBe(before);
  });
});
