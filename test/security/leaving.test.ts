// Finding: "Leaving does not end access": the token of someone who left still read a private party's
// details, participants and by-code answer, and still opened its socket. Now leaving a private party
// ends what the tokens held then can do there, and a host or co-host can remove someone (REST kick,
// the Discord panel, the player's list of people): a removed person cannot come back with that
// account, nor, for a guest, from the same address.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeParti, type FakeParti } from '../support/fakeParti.js';
import { api, connect, refusedStatus, tokenFor, type Stack } from '../party/harness.js';
import { behindProxy, createParty, guest, joinAs } from './support.js';

let fake: FakeParti;
let stack: Stack;
beforeAll(async () => {
  fake = await startFakeParti();
  // Behind a proxy on loopback, so a test can be two visitors at two addresses.
  stack = await behindProxy(fake);
});
afterAll(async () => {
  await stack?.close();
  await fake?.close();
});

describe('leaving a private party', () => {
  it('ends what the tokens held then can read or open, until the member joins by code again', async () => {
    const { id, code } = await createParty(stack, 'leave-host');
    const token = await joinAs(stack, code, 'leave-member');
    const socket = await connect(stack, id, token);
    expect((await api(stack, 'GET', `/${id}`, { token })).status).toBe(200);

    expect((await api(stack, 'DELETE', `/${id}/leave`, { token })).status).toBe(200);
    expect(await socket.closed).toBe(1000);
    for (const path of [`/${id}`, `/${id}/participants`, `/by-code/${code}`]) {
      const answer = await api(stack, 'GET', path, { token });
      expect(answer.status, path).toBe(404);
      expect(answer.body.error.code).toBe('PARTY_NOT_FOUND');
    }
    expect((await refusedStatus(stack, id, token)).status).toBe(404);

    // The invite code is still an invitation: joining again lets them in again, with a new token.
    const again = await api(stack, 'POST', `/${code}/join`, { token });
    expect(again.status).toBe(200);
    expect((await api(stack, 'GET', `/${id}`, { token: again.body.data.token })).status).toBe(200);
    (await connect(stack, id, again.body.data.token)).close();
  });

  it('lets a member whose connection only dropped back in with the same token', async () => {
    const { id, code } = await createParty(stack, 'drop-host');
    const token = await joinAs(stack, code, 'drop-member');
    (await connect(stack, id, token)).ws.terminate();
    const back = await connect(stack, id, token);
    expect(back.messages[0]?.you).toMatchObject({ user_id: 'drop-member' });
    back.close();
  });
});

describe('removing someone', () => {
  it('closes their players, keeps their account out, and tells everyone they were removed', async () => {
    const { id, code, hostToken } = await createParty(stack, 'kick-host', { visibility: 'public' });
    const trollToken = await joinAs(stack, code, 'kick-troll');
    const host = await connect(stack, id, hostToken);
    const troll = await connect(stack, id, trollToken);

    // A viewer cannot remove anyone; the host can.
    const refused = await api(stack, 'POST', `/${id}/kick`, { token: trollToken, body: { user_id: 'kick-host' } });
    expect(refused.status).toBe(403);
    const removed = await api(stack, 'POST', `/${id}/kick`, { token: hostToken, body: { user_id: 'kick-troll' } });
    expect(removed.status).toBe(200);
    expect(await troll.closed).toBe(4003);
    const left = await host.next('participant-left');
    expect(left).toMatchObject({ reason: 'removed', participant: { user_id: 'kick-troll' } });

    // Not with the same token, not with a new one, not by the invite code.
    const socketAgain = await refusedStatus(stack, id, trollToken);
    expect(socketAgain).toMatchObject({ status: 403, body: { error: { code: 'REMOVED' } } });
    const rejoin = await api(stack, 'POST', `/${code}/join`, { token: await tokenFor(stack, 'kick-troll') });
    expect(rejoin).toMatchObject({ status: 403, body: { error: { code: 'REMOVED' } } });
    // Everyone else still gets in.
    await joinAs(stack, code, 'kick-friend');
    host.close();
  });

  it('keeps a removed guest’s address out too, and only theirs', async () => {
    const { id, code, hostToken } = await createParty(stack, 'guest-kick-host', { visibility: 'public' });
    const trollAddress = { 'x-forwarded-for': '203.0.113.66' };
    const troll = await guest(stack, code, 'Troll', trollAddress);
    expect(troll.status).toBe(201);
    expect(
      (await api(stack, 'POST', `/${id}/kick`, { token: hostToken, body: { user_id: troll.userId } })).status,
    ).toBe(200);
    // A new guest name from the same address is the same person.
    const back = await api(stack, 'POST', `/${code}/guest`, {
      body: { display_name: 'Not a troll' },
      headers: trollAddress,
    });
    expect(back).toMatchObject({ status: 403, body: { error: { code: 'REMOVED' } } });
    expect((await guest(stack, code, 'Neighbour', { 'x-forwarded-for': '198.51.100.5' })).status).toBe(201);
  });

  it('lets a co-host remove viewers only, and nobody remove the host', async () => {
    const { id, code, hostToken } = await createParty(stack, 'rank-host', { visibility: 'public' });
    const cohostToken = await joinAs(stack, code, 'rank-cohost');
    await joinAs(stack, code, 'rank-cohost2');
    await joinAs(stack, code, 'rank-viewer');
    for (const user of ['rank-cohost', 'rank-cohost2']) {
      await api(stack, 'POST', `/${id}/cohosts`, { token: hostToken, body: { user_id: user } });
    }
    const kick = (token: string, user: string) => api(stack, 'POST', `/${id}/kick`, { token, body: { user_id: user } });
    expect((await kick(cohostToken, 'rank-cohost2')).status).toBe(403);
    expect((await kick(cohostToken, 'rank-host')).status).toBe(403);
    expect((await kick(hostToken, 'rank-host')).status).toBe(400);
    expect((await kick(cohostToken, 'rank-viewer')).status).toBe(200);
    expect((await kick(hostToken, 'rank-cohost2')).status).toBe(200);
  });
});
