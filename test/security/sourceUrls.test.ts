// Clip URLs that do not mean what they show, against the real party server: broken percent-escapes
// (the URL parser keeps `%zz` and `%E9` as they are), hosts no DNS answers for (`a;b.example`,
// `a,b.example`: they parse), user names, other schemes. Each is refused at once, when a party is
// created with it and when a clip is added, with 400 INVALID_SOURCE; an ordinary link still works.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeParti, type FakeParti } from '../support/fakeParti.js';
import { api, startStack, tokenFor, type Stack } from '../party/harness.js';

const LEGIT = 'https://cdn.example/shows/big-buck-bunny/index.m3u8';

const REFUSED: Array<[string, string]> = [
  ['a % with no hex after it', 'https://cdn.example/a%zz/index.m3u8'],
  ['a % with one hex digit', 'https://cdn.example/a%4/index.m3u8'],
  ['a lone %', 'https://cdn.example/50%/index.m3u8'],
  ['escapes that are not UTF-8', 'https://cdn.example/%E9t%E9/index.m3u8'],
  ['escapes that are not UTF-8, in a file name', 'https://cdn.example/%C3%28.mp4'],
  ['a broken escape in the query', 'https://cdn.example/index.m3u8?sig=%zz'],
  ['an escape in the host', 'https://cdn%2Eexample/index.m3u8'],
  ['a ; in the host', 'https://a;b.example/index.m3u8'],
  ['a , in the host', 'https://a,b.example/index.m3u8'],
  ['a space in the host', 'https://a b.example/index.m3u8'],
  ['a tab in the host (the parser drops it)', 'https://cdn.exa\tmple/index.m3u8'],
  ['an empty label', 'https://a..example/index.m3u8'],
  ['a trailing dot', 'https://cdn.example./index.m3u8'],
  ['a * in the host', 'https://*.example/index.m3u8'],
  ['an underscore in the host', 'https://cdn_1.example/index.m3u8'],
  ['a backslash', 'https://cdn.example\\@evil.example/index.m3u8'],
  ['a user name', 'https://user@cdn.example/index.m3u8'],
  ['a user name and password', 'https://user:secret@cdn.example/index.m3u8'],
  ['ftp', 'ftp://cdn.example/index.m3u8'],
  ['file', 'file:///etc/passwd.m3u8'],
  ['javascript', 'javascript:alert(1)//.m3u8'],
  ['data', 'data:application/vnd.apple.mpegurl,#EXTM3U'],
];

let fake: FakeParti;
let stack: Stack;

beforeAll(async () => {
  fake = await startFakeParti();
  stack = await startStack(fake, { mediaAllowPrivate: false, limits: { createsPerHour: 1000 } });
});

afterAll(async () => {
  await stack?.close();
  await fake?.close();
});

describe('a source URL that does not mean what it shows', () => {
  it.each(REFUSED)('is refused when a party is created with it: %s', async (_what, source) => {
    const token = await tokenFor(stack, 'creator', 'Cleo');
    const answer = await api(stack, 'POST', '', { token, body: { source } });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('INVALID_SOURCE');
  });

  it.each(REFUSED)('is refused as a clip: %s', async (_what, source) => {
    const token = await tokenFor(stack, 'adder', 'Ada');
    const created = await api(stack, 'POST', '', { token, body: {} });
    expect(created.status).toBe(201);
    const answer = await api(stack, 'POST', `/${created.body.data.id}/clips`, { token, body: { source } });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('INVALID_SOURCE');
    const detail = await api(stack, 'GET', `/${created.body.data.id}`, { token });
    expect(detail.body.data.queue).toEqual([]);
  });

  it('leaves an ordinary link (and an international domain name) playable', async () => {
    const token = await tokenFor(stack, 'legit', 'Lee');
    const created = await api(stack, 'POST', '', { token, body: { source: LEGIT } });
    expect(created.status).toBe(201);
    const id = created.body.data.id;
    const idn = await api(stack, 'POST', `/${id}/clips`, {
      token,
      body: { source: 'https://bücher.example/Le%20Voyage/trailer.mp4' },
    });
    expect(idn.status).toBe(201);
    expect(idn.body.data.queue.map((clip: { source: string }) => clip.source)).toEqual([
      LEGIT,
      'https://xn--bcher-kva.example/Le%20Voyage/trailer.mp4',
    ]);
  });
});
