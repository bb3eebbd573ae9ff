// Wait for everyone over the real server: created by REST, a viewer's socket says it is buffering,
// the host's socket sees the room hold and play on, and the service's timer ends a hold at its cap.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverMessageSchema } from '../../src/party/protocol.js';
import { MAX_HOLD_MS } from '../../src/party/room.js';
import { startFakeParti, type FakeParti } from '../support/fakeParti.js';
import { api, connect, sleep, startStack, tokenFor, type PartyClient, type Stack } from './harness.js';

const DIRECT = 'https://cdn.example/movie.m3u8';

let fake: FakeParti;
let stack: Stack;
const clients: PartyClient[] = [];

beforeAll(async () => {
  fake = await startFakeParti();
  stack = await startStack(fake);
});

afterAll(async () => {
  for (const client of clients) client.ws.terminate();
  await stack?.close();
  await fake?.close();
});

async function party(hostId: string, body: Record<string, unknown>) {
  const hostToken = await tokenFor(stack, hostId, `Host ${hostId}`);
  const created = await api(stack, 'POST', '', { token: hostToken, body: { source: DIRECT, ...body } });
  expect(created.status).toBe(201);
  const { id, invite_code: code } = created.body.data as { id: string; invite_code: string };
  const join = async (userId: string, name: string) => {
    const token = await tokenFor(stack, userId, name);
    expect((await api(stack, 'POST', `/${code}/join`, { token })).status).toBe(200);
    const client = await connect(stack, id, token);
    clients.push(client);
    return client;
  };
  const host = await connect(stack, id, hostToken);
  clients.push(host);
  const detail = async () => (await api(stack, 'GET', `/${id}`, { token: hostToken })).body.data;
  return { host, join, detail };
}

/** Everything the server sent must be readable with the published schema. */
function expectValid(client: PartyClient): void {
  for (const message of client.messages)
    expect(serverMessageSchema.safeParse(message).success, message.type).toBe(true);
}

describe('wait for everyone', () => {
  it('is set at creation and shown in the party; a wrong type is a 400', async () => {
    const token = await tokenFor(stack, 'wfe-rest');
    const on = await api(stack, 'POST', '', { token, body: { source: DIRECT, wait_for_everyone: true } });
    expect(on.body.data.party.wait_for_everyone).toBe(true);
    expect((await api(stack, 'GET', `/${on.body.data.id}`, { token })).body.data.wait_for_everyone).toBe(true);
    const off = await api(stack, 'POST', '', { token, body: { source: DIRECT } });
    expect((await api(stack, 'GET', `/${off.body.data.id}`, { token })).body.data.wait_for_everyone).toBe(false);
    const bad = await api(stack, 'POST', '', { token, body: { wait_for_everyone: 'yes' } });
    expect(bad.status).toBe(400);
  });

  it("holds the host's player on a viewer's stall, plays on when ready, and its timer ends a hold at the cap", async () => {
    const { host, join, detail } = await party('wfe-host', { wait_for_everyone: true });
    const vera = await join('wfe-vera', 'Vera');
    const bo = await join('wfe-bo', 'Bo');
    host.send({ type: 'play' });
    await Promise.all([host.next('play'), vera.next('play')]);

    await sleep(1000);
    vera.send({ type: 'buffering', buffering: true });
    const hold = await host.next('pause');
    expect(hold).toMatchObject({
      is_playing: false,
      hold: true,
      waiting_for: [{ user_id: 'wfe-vera', display_name: 'Vera' }],
    });
    expect(hold.position).toBeGreaterThan(0.9);
    await sleep(500);
    expect(await detail()).toMatchObject({
      is_playing: false,
      current_position_seconds: hold.position,
    });

    vera.send({ type: 'buffering', buffering: false });
    const resumed = await host.next('play');
    expect(resumed).toMatchObject({ is_playing: true, hold: false, waiting_for: [], position: hold.position });
    expect(resumed.server_time_ms - hold.server_time_ms).toBeGreaterThanOrEqual(500);

    // Bo's player never recovers: the room waits for him for the cap, then plays on without him.
    bo.send({ type: 'buffering', buffering: true });
    const boHold = await host.next('pause', (m) => m.hold === true);
    const capped = await host.next('play', () => true, MAX_HOLD_MS + 2000);
    expect(capped).toMatchObject({ is_playing: true, hold: false, actor_user_id: null, position: boHold.position });
    expect(capped.server_time_ms - boHold.server_time_ms).toBeGreaterThanOrEqual(MAX_HOLD_MS - 5);
    expect(capped.server_time_ms - boHold.server_time_ms).toBeLessThan(MAX_HOLD_MS + 1000);

    // Flapping does not stop the room again.
    bo.send({ type: 'buffering', buffering: false });
    bo.send({ type: 'buffering', buffering: true });
    await sleep(500);
    expect(host.messages.filter((m) => m.type === 'pause')).toHaveLength(2);
    expect((await detail()).is_playing).toBe(true);
    for (const client of [host, vera, bo]) expectValid(client);
  }, 20_000);

  it('a party without the setting plays on: the report is accepted and sends nothing', async () => {
    const { host, join, detail } = await party('nowait-host', {});
    const vera = await join('nowait-vera', 'Vera');
    host.send({ type: 'play' });
    await vera.next('play');
    const before = host.messages.length;
    vera.send({ type: 'buffering', buffering: true });
    await sleep(500);
    expect(host.messages.slice(before)).toEqual([]);
    expect(vera.of('error')).toEqual([]);
    expect((await detail()).is_playing).toBe(true);
    expectValid(host);
  });
});
