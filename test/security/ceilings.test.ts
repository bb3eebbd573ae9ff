// Finding: "No ceiling per person": one token opened 500 of 500 sockets; REST /commands took 300 seeks
// at about 1,500 a second and broadcast each one; six users created 60 parties from one address; and
// in a wait-for-everyone party one viewer toggling `buffering` made the room broadcast 134 holds and
// 134 plays in 15 s. Now each of those has a ceiling, and the person within it is still served.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PartyError } from '../../src/party/service.js';
import { startFakeParti, type FakeParti } from '../support/fakeParti.js';
import { api, connect, sleep, tokenFor, type PartyClient, type Stack } from '../party/harness.js';
import { createParty, DIRECT, internetStack, joinAs } from './support.js';

let fake: FakeParti;
let stack: Stack;
const clients: PartyClient[] = [];
const track = (client: PartyClient) => (clients.push(client), client);

beforeAll(async () => {
  fake = await startFakeParti();
  // The tests here create many parties from 127.0.0.1; the per-address create limit has its own test below.
  stack = await internetStack(fake, { limits: { joinsPerHour: 1000, createsPerAddressPerHour: 1000 } });
});
afterAll(async () => {
  for (const client of clients) client.ws.terminate();
  await stack?.close();
  await fake?.close();
});

describe('sockets per person', () => {
  it('closes the ninth player of one person with a reason, and serves everyone else', async () => {
    const { id, code } = await createParty(stack, 'tabs-host', { source: DIRECT, visibility: 'public' });
    const token = await joinAs(stack, code, 'tabs-hoarder');
    for (let i = 0; i < 8; i++) track(await connect(stack, id, token));
    const ws = (await import('ws')).default;
    const ninth = new ws(`${stack.wsBase}/api/v1/watch-parties/${id}/ws`, ['watch-party.v1', `bearer.${token}`]);
    const closed = await new Promise<{ code: number; reason: string }>((resolve) =>
      ninth.on('close', (closeCode, reason) => resolve({ code: closeCode, reason: reason.toString() })),
    );
    expect(closed).toEqual({ code: 1008, reason: 'too many players open: at most 8 per person in a party' });
    track(await connect(stack, id, await joinAs(stack, code, 'tabs-friend')));
  });
});

describe('one command budget per person', () => {
  it('refuses a REST flood of seeks past the budget, and broadcasts only what it took', async () => {
    const { id, code, hostToken } = await createParty(stack, 'flood-host', { source: DIRECT, visibility: 'public' });
    const watcher = track(await connect(stack, id, await joinAs(stack, code, 'flood-watcher')));
    const started = Date.now();
    const statuses: number[] = [];
    for (let i = 0; i < 300; i++) {
      const answer = await api(stack, 'POST', `/${id}/commands`, {
        token: hostToken,
        body: { type: 'seek', position: i },
      });
      statuses.push(answer.status);
    }
    const seconds = (Date.now() - started) / 1000;
    const taken = statuses.filter((status) => status === 200).length;
    expect(statuses.filter((status) => status === 429).length).toBe(300 - taken);
    // A burst of 10, then 2 a second.
    expect(taken).toBeLessThanOrEqual(10 + Math.ceil(seconds * 2) + 1);
    await sleep(200);
    expect(watcher.of('seek').length).toBe(taken);
    // A second later, the host moves the party again.
    await sleep(1000);
    expect(
      (await api(stack, 'POST', `/${id}/commands`, { token: hostToken, body: { type: 'seek', position: 7 } })).status,
    ).toBe(200);
  });

  it('is one budget for the player, the REST API and Discord’s buttons', async () => {
    const { id, hostToken } = await createParty(stack, 'shared-host', { source: DIRECT, visibility: 'public' });
    const host = track(await connect(stack, id, hostToken));
    for (let i = 0; i < 10; i++) host.send({ type: 'seek', position: i });
    await host.next('seek', (m) => m.position === 9);
    const rest = await api(stack, 'POST', `/${id}/commands`, { token: hostToken, body: { type: 'pause' } });
    expect(rest.status).toBe(429);
    // What a panel button calls:
    await expect(stack.service.command(id, 'shared-host', { type: 'play' })).rejects.toMatchObject({
      code: 'RATE_LIMITED',
    } satisfies Partial<PartyError>);
  });
});

describe('creates', () => {
  it('are limited per person and per address, and a refused source costs no slot', async () => {
    const person = await tokenFor(stack, 'maker');
    for (let i = 0; i < 12; i++) {
      const refused = await api(stack, 'POST', '', {
        token: person,
        body: { source: 'https://bad host.example/a.mp4' },
      });
      expect(refused.status).toBe(400);
    }
    for (let i = 0; i < 10; i++) expect((await api(stack, 'POST', '', { token: person, body: {} })).status).toBe(201);
    expect((await api(stack, 'POST', '', { token: person, body: {} })).status).toBe(429);
  });

  it('from one address stop at ten an hour, however many people sign in there', async () => {
    const spread = await internetStack(fake, {});
    try {
      const statuses: number[] = [];
      for (let user = 0; user < 6; user++) {
        const token = await tokenFor(spread, `sock-puppet-${user}`);
        for (let i = 0; i < 10; i++) statuses.push((await api(spread, 'POST', '', { token, body: {} })).status);
      }
      expect(statuses.filter((status) => status === 201)).toHaveLength(10);
      // Discord's own creates carry no address: a member there still starts parties.
      await expect(
        spread.service.createParty({ host: { id: 'discord-member', name: 'Member' } }),
      ).resolves.toMatchObject({
        invite_code: expect.any(String),
      });
    } finally {
      await spread.close();
    }
  });
});

describe('wait for everyone', () => {
  it('runs a flapping player out of holds quickly, and still waits for someone who truly buffers', async () => {
    const { id, code, hostToken } = await createParty(stack, 'flap-host', {
      source: DIRECT,
      visibility: 'public',
      wait_for_everyone: true,
    });
    const host = track(await connect(stack, id, hostToken));
    const flapper = track(await connect(stack, id, await joinAs(stack, code, 'flapper')));
    const steady = track(await connect(stack, id, await joinAs(stack, code, 'steady')));
    host.send({ type: 'play' });
    await host.next('play');
    // 10 true/false pairs a second for 6 s: within the socket's message rate.
    for (let i = 0; i < 60; i++) {
      flapper.send({ type: 'buffering', buffering: true });
      flapper.send({ type: 'buffering', buffering: false });
      await sleep(100);
    }
    await sleep(300);
    const holds = host.of('pause').filter((m) => m.hold === true);
    expect(holds.length).toBeGreaterThan(0);
    expect(holds.length).toBeLessThanOrEqual(8);
    // Someone else's real stall is still waited for.
    steady.send({ type: 'buffering', buffering: true });
    const held = await host.next(
      'pause',
      (m) => m.hold === true && m.waiting_for.some((w: any) => w.user_id === 'steady'),
    );
    expect(held.is_playing).toBe(false);
    steady.send({ type: 'buffering', buffering: false });
    await host.next('play', (m) => m.seq > held.seq);
  });
});
