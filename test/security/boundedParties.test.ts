// Finding: "A party's record only grows": a member who left was only marked not present, so 10,000
// guest joins and leaves grew one party's stored record from 1 KB to 2.2 MB (and every coalesced write
// rewrote all of it). Now a viewer who leaves is forgotten, and the host and co-hosts keep their role
// for their return: a party's stored size follows who is there, not how many came and went.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partyKeys } from '../../src/party/persistence.js';
import { startFakeParti, type FakeParti } from '../support/fakeParti.js';
import { api, connect, sleep, type Stack } from '../party/harness.js';
import { createParty, guest, internetStack, joinAs } from './support.js';

let fake: FakeParti;
let stack: Stack;
beforeAll(async () => {
  fake = await startFakeParti();
  // Churn is the point here, not the per-address join limit (test/security/clientAddress.test.ts).
  stack = await internetStack(fake, { limits: { joinsPerHour: 1_000_000 }, graceMs: 200 });
});
afterAll(async () => {
  await stack?.close();
  await fake?.close();
});

/** What the store holds for a party, in bytes of JSON, once everything pending is written. */
async function storedBytes(partyId: string): Promise<number> {
  await stack.service.flush();
  let bytes = 0;
  for (const key of [partyKeys.record(partyId), partyKeys.members(partyId), partyKeys.timeline(partyId)]) {
    const value: unknown = await stack.store.parties.get(key);
    if (value !== undefined) bytes += JSON.stringify(value).length;
  }
  return bytes;
}

describe('join/leave churn', () => {
  it('leaves a party the size of a fresh one with the same people present', async () => {
    // The same ten people are present in both parties: the reference is fresh, the other sees 2,000 come and go.
    const fresh = await createParty(stack, 'fresh-host', {
      visibility: 'public',
      source: 'https://cdn.example/a.m3u8',
    });
    const churned = await createParty(stack, 'churn-host', {
      visibility: 'public',
      source: 'https://cdn.example/a.m3u8',
    });
    for (let i = 0; i < 10; i++) {
      expect((await guest(stack, fresh.code, `Stayer ${i}`)).status).toBe(201);
      expect((await guest(stack, churned.code, `Stayer ${i}`)).status).toBe(201);
    }
    const before = await storedBytes(churned.id);
    for (let i = 0; i < 2000; i++) {
      const { token } = await guest(stack, churned.code, `Passer-by number ${i} with a long name`);
      expect((await api(stack, 'DELETE', `/${churned.id}/leave`, { token: token! })).status).toBe(200);
    }
    // People who come with a player and go away (the socket closes; forgotten after the grace period).
    for (let i = 0; i < 30; i++) {
      const { token } = await guest(stack, churned.code, `Socket ${i}`);
      const client = await connect(stack, churned.id, token!);
      client.ws.terminate();
      const left = await api(stack, 'DELETE', `/${churned.id}/leave`, { token: token! });
      expect([200, 403]).toContain(left.status);
    }
    await sleep(400);
    const after = await storedBytes(churned.id);
    const reference = await storedBytes(fresh.id);
    expect(after).toBeLessThanOrEqual(2 * reference);
    expect(after).toBeLessThan(before * 1.5);
    const members = (await stack.store.parties.get<unknown[]>(partyKeys.members(churned.id))) ?? [];
    expect(members).toHaveLength(11); // the host and the ten who stayed
    // The people who stayed are still served.
    const detail = await api(stack, 'GET', `/${churned.id}/participants`);
    expect(detail.body.data.count).toBe(11);
    // 4,000 requests: well within the default on an idle machine, not on a loaded one.
  }, 90_000);

  it('keeps a co-host’s role for their return, and forgets a viewer who left', async () => {
    const { id, code, hostToken } = await createParty(stack, 'role-host', { visibility: 'public' });
    const cohostToken = await joinAs(stack, code, 'role-cohost');
    const viewerToken = await joinAs(stack, code, 'role-viewer');
    expect(
      (await api(stack, 'POST', `/${id}/cohosts`, { token: hostToken, body: { user_id: 'role-cohost' } })).status,
    ).toBe(200);
    for (const token of [cohostToken, viewerToken]) {
      expect((await api(stack, 'DELETE', `/${id}/leave`, { token })).status).toBe(200);
    }
    await stack.service.flush(); // presence is written within 250 ms; roles before their answer
    const stored = JSON.stringify(await stack.store.parties.get(partyKeys.members(id)));
    expect(stored).toContain('role-cohost');
    expect(stored).not.toContain('role-viewer');
    const back = await api(stack, 'POST', `/${code}/join`, { token: cohostToken });
    expect(back.body.data.role).toBe('co-host');
  });
});
