// Party chat on the server (chat.ts through owner.ts and sockets.ts), and the room left for other
// clients of the reference API: unknown message types, body-less JSON posts, CORS and the socket's
// Origin check. The pages' side is test/player/chat.test.ts; the Discord thread, test/e2e/partyChat.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeParti, type FakeParti } from '../support/fakeParti.js';
import { api, connect, refusedStatus, sleep, startStack, tokenFor, type PartyClient, type Stack } from './harness.js';

const DIRECT = 'https://cdn.example/movie.m3u8';
const LISTED = 'https://watch.example.org';

let fake: FakeParti;
let stack: Stack;
const clients: PartyClient[] = [];
const track = (client: PartyClient): PartyClient => {
  clients.push(client);
  return client;
};

async function createParty(hostId: string, body: Record<string, unknown> = {}) {
  const hostToken = await tokenFor(stack, hostId, `Host ${hostId}`);
  const created = await api(stack, 'POST', '', { token: hostToken, body: { source: DIRECT, ...body } });
  expect(created.status).toBe(201);
  return { id: created.body.data.id as string, code: created.body.data.invite_code as string, hostToken };
}

async function joinAs(code: string, userId: string): Promise<string> {
  const token = await tokenFor(stack, userId, `User ${userId}`);
  expect((await api(stack, 'POST', `/${code}/join`, { token })).status).toBe(200);
  return token;
}

beforeAll(async () => {
  fake = await startFakeParti();
  stack = await startStack(fake, { graceMs: 2000, corsOrigins: [LISTED] });
});

afterAll(async () => {
  for (const client of clients) client.ws.terminate();
  await stack.close();
  await fake.close();
});

describe('party chat', () => {
  it('shows a message to everyone, keeps it for who joins later, and lets the host delete it for all', async () => {
    const { id, code, hostToken } = await createParty('chat-host');
    const host = track(await connect(stack, id, hostToken));
    const viewerToken = await joinAs(code, 'chat-viewer');
    const viewer = track(await connect(stack, id, viewerToken));
    expect(await viewer.next('chat_history')).toEqual({ type: 'chat_history', messages: [], chat: 'everyone' });

    viewer.send({ type: 'chat', message: '  hello <b>there</b>\u202e  ' });
    const seen = (await host.next('chat_message')).chat_message;
    expect(seen).toMatchObject({
      watch_party_id: id,
      user_id: 'chat-viewer',
      display_name: 'User chat-viewer',
      message: 'hello <b>there</b>',
      source: 'web',
    });
    expect((await viewer.next('chat_message')).chat_message.id).toBe(seen.id);

    // A page opened now gets what was said.
    const late = track(await connect(stack, id, await joinAs(code, 'chat-late')));
    expect((await late.next('chat_history')).messages.map((m: any) => m.message)).toEqual(['hello <b>there</b>']);

    // A viewer cannot delete someone else's message; the host can, for everyone.
    host.send({ type: 'chat', message: 'host here' });
    const hostMessage = (await late.next('chat_message', (m) => m.chat_message.message === 'host here')).chat_message;
    late.send({ type: 'chat_delete', message_id: hostMessage.id });
    expect(await late.next('error')).toMatchObject({ code: 'NOT_ALLOWED', request_type: 'chat_delete' });
    host.send({ type: 'chat_delete', message_id: seen.id });
    expect(await viewer.next('chat_deleted')).toEqual({ type: 'chat_deleted', message_id: seen.id });
    expect(await late.next('chat_deleted')).toEqual({ type: 'chat_deleted', message_id: seen.id });
    const history = await api(stack, 'GET', `/${id}/chat`, { token: viewerToken });
    expect(history.body.data.messages.map((m: any) => m.message)).toEqual(['host here']);
  });

  it('refuses empty and over-long messages, and holds a flood to a burst, then about one a second', async () => {
    const { id, hostToken } = await createParty('budget-host');
    const host = track(await connect(stack, id, hostToken));
    host.send({ type: 'chat', message: '   ' });
    expect(await host.next('error')).toMatchObject({ code: 'INVALID_INPUT', request_type: 'chat' });
    host.send({ type: 'chat', message: 'é'.repeat(501) });
    expect(await host.next('error')).toMatchObject({ code: 'INVALID_INPUT' });
    // 500 characters of emoji is 1000 UTF-16 units, and still one message.
    host.send({ type: 'chat', message: '🎉'.repeat(500) });
    await host.next('chat_message');

    for (let i = 0; i < 8; i++) host.send({ type: 'chat', message: `spam ${i}` });
    expect(await host.next('error')).toMatchObject({ code: 'CHAT_RATE_LIMITED' });
    await sleep(300);
    // The burst of five had one spent on the emoji: four more went out, the rest were refused.
    expect(host.of('chat_message')).toHaveLength(5);
    await sleep(1100);
    host.send({ type: 'chat', message: 'after a pause' });
    await host.next('chat_message', (m) => m.chat_message.message === 'after a pause');
    expect(host.closeCode).toBeNull();
  });

  it('keeps guests silent when chat is for members, and nobody talks when it is off', async () => {
    const { id, code, hostToken } = await createParty('members-host', { visibility: 'public', chat: 'members' });
    const host = track(await connect(stack, id, hostToken));
    const guest = await api(stack, 'POST', `/${code}/guest`, { body: { display_name: 'Drive-by' } });
    expect(guest.status).toBe(201);
    const guestSocket = track(await connect(stack, id, guest.body.data.token));
    expect(await guestSocket.next('chat_history')).toMatchObject({ chat: 'members' });
    guestSocket.send({ type: 'chat', message: 'can anyone hear me' });
    expect(await guestSocket.next('error')).toMatchObject({ code: 'CHAT_NOT_ALLOWED' });
    guestSocket.send({ type: 'typing', is_typing: true });
    host.send({ type: 'chat', message: 'members only' });
    await guestSocket.next('chat_message');
    expect(host.of('typing')).toHaveLength(0);

    // A viewer may not change it; the host may, and every page hears.
    const viewerToken = await joinAs(code, 'members-viewer');
    expect(
      (await api(stack, 'PATCH', `/${id}/settings`, { token: viewerToken, body: { chat: 'everyone' } })).status,
    ).toBe(403);
    const off = await api(stack, 'PATCH', `/${id}/settings`, { token: hostToken, body: { chat: 'off' } });
    expect(off.body.data.party.chat).toBe('off');
    expect(await guestSocket.next('chat_settings')).toEqual({ type: 'chat_settings', chat: 'off' });
    const refused = await api(stack, 'POST', `/${id}/chat`, { token: hostToken, body: { message: 'hello?' } });
    expect(refused).toMatchObject({ status: 403, body: { error: { code: 'CHAT_NOT_ALLOWED' } } });
  });

  it('keeps the chat across a restart of the server', async () => {
    const { id, hostToken } = await createParty('restart-host');
    const posted = await api(stack, 'POST', `/${id}/chat`, { token: hostToken, body: { message: 'remember me' } });
    expect(posted.status).toBe(201);
    const second = await startStack(fake, { storeUrl: stack.storeUrl, graceMs: 2000 });
    try {
      const history = await second.service.chatHistory(id, 'restart-host');
      expect(history.messages.map((m) => m.message)).toEqual(['remember me']);
    } finally {
      await second.close();
    }
  });
});

describe('other clients of the API', () => {
  it('answers unknown types once each and relays typing throttled, without closing the socket', async () => {
    const { id, code, hostToken } = await createParty('raw-host');
    const host = track(await connect(stack, id, hostToken));
    const raw = track(await connect(stack, id, await joinAs(code, 'raw-client')));
    // 50 typing and 20 messages of types this server does not know, over 10 s.
    for (let i = 0; i < 70; i++) {
      raw.send(i % 7 < 5 ? { type: 'typing', is_typing: true } : { type: 'poll_vote', option: i });
      await sleep(140);
    }
    raw.send({ type: 'ping', client_time: 1 });
    await raw.next('pong');
    expect(raw.closeCode).toBeNull();
    const unsupported = raw.of('error').filter((m) => m.code === 'UNSUPPORTED_TYPE');
    expect(unsupported).toHaveLength(20);
    expect(unsupported[0]).toMatchObject({ request_type: 'poll_vote' });
    expect(raw.of('error').filter((m) => m.code !== 'UNSUPPORTED_TYPE')).toEqual([]);
    // Typing: at most one `true` per 2 s per person reaches the others.
    const typing = host.of('typing');
    expect(typing.length).toBeGreaterThanOrEqual(4);
    expect(typing.length).toBeLessThanOrEqual(6);
    expect(typing[0]).toMatchObject({ user_id: 'raw-client', display_name: 'User raw-client', is_typing: true });
  });

  it('answers a flood of unknown types with a bounded number of errors, and still closes on garbage', async () => {
    const { id, code } = await createParty('flood-unknown-host');
    const raw = track(await connect(stack, id, await joinAs(code, 'flood-unknown')));
    for (let i = 0; i < 35; i++) raw.send({ type: 'hello_from_the_future' });
    raw.send({ type: 'ping', client_time: 2 });
    await raw.next('pong');
    expect(raw.of('error').filter((m) => m.code === 'UNSUPPORTED_TYPE').length).toBeLessThanOrEqual(21);
    expect(raw.closeCode).toBeNull();
    for (let i = 0; i < 12; i++) raw.send('{garbage');
    expect(await raw.closed).toBe(1008);
  });

  it('takes a reaction with the video_timestamp the reference clients send, and passes it on', async () => {
    const { id, code, hostToken } = await createParty('reaction-host');
    const host = track(await connect(stack, id, hostToken));
    const raw = track(await connect(stack, id, await joinAs(code, 'reaction-client')));
    raw.send({ type: 'reaction', emoji: '🔥', video_timestamp: 12.5 });
    expect(await host.next('reaction')).toMatchObject({
      user_id: 'reaction-client',
      emoji: '🔥',
      video_timestamp: 12.5,
    });
    raw.send({ type: 'reaction', emoji: '🔥', video_timestamp: -1 });
    expect(await raw.next('error')).toMatchObject({ code: 'INVALID_MESSAGE', request_type: 'reaction' });
  });

  it('reads a body-less POST with a JSON content type as {}', async () => {
    const { code } = await createParty('bodyless-host');
    const token = await tokenFor(stack, 'bodyless', 'Bodyless');
    const joined = await fetch(`${stack.base}/api/v1/watch-parties/${code}/join`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
    expect(joined.status).toBe(200);
    expect(((await joined.json()) as any).data.role).toBe('viewer');
    // Malformed JSON is still refused.
    const broken = await api(stack, 'POST', `/${code}/join`, { token, raw: '{"oops' });
    expect(broken.status).toBe(400);
  });

  it('answers a CORS preflight from a listed origin only, and opens sockets for the same origins', async () => {
    const preflight = (origin: string) =>
      fetch(`${stack.base}/api/v1/watch-parties/abc/join`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type',
        },
      });
    const listed = await preflight(LISTED);
    expect(listed.status).toBeLessThan(300);
    expect(listed.headers.get('access-control-allow-origin')).toBe(LISTED);
    expect(listed.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    const unlisted = await preflight('https://evil.example');
    expect(unlisted.headers.get('access-control-allow-origin')).toBeNull();

    const { id, hostToken } = await createParty('origin-host');
    expect((await refusedStatus(stack, id, hostToken, { origin: 'https://evil.example' })).status).toBe(403);
    track(await connect(stack, id, hostToken, { headers: { origin: LISTED } }));
    track(await connect(stack, id, hostToken, { headers: { origin: 'https://bot.example' } }));
  });
});
