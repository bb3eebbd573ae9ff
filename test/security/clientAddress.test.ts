// Finding: "Anyone can fill a public party": the server believed X-Forwarded-For from every peer, so a
// client writing a new address there each time got past the per-address guest limit (69 guests in,
// then a real member was refused PARTY_FULL). Now forwarded addresses are believed only from the
// proxies TRUST_PROXY names, and every per-address limit counts what that yields.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressKey, parseTrustProxy } from '../../src/http/clientAddress.js';
import { startFakeParti, type FakeParti } from '../support/fakeParti.js';
import { api, refusedStatus, tokenFor, type Stack } from '../party/harness.js';
import { behindProxy, createParty, guest, internetStack, joinAs } from './support.js';

let fake: FakeParti;
beforeAll(async () => {
  fake = await startFakeParti();
});
afterAll(() => fake?.close());

const forged = (i: number) => ({ 'x-forwarded-for': `203.0.113.${i % 250}, 198.51.100.${i % 250}` });

describe('a client forging X-Forwarded-For (TRUST_PROXY off, the default)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await internetStack(fake, { maxParticipants: 1000 });
  });
  afterAll(() => stack?.close());

  it('is counted by its real address: 30 guests, then 429, and a member still gets in', async () => {
    const { code } = await createParty(stack, 'fill-host', {
      source: 'https://cdn.example/movie.m3u8',
      visibility: 'public',
      max_participants: 40,
    });
    const statuses: number[] = [];
    for (let i = 0; i < 45; i++) statuses.push((await guest(stack, code, `Bot ${i}`, forged(i))).status);
    expect(statuses.filter((status) => status === 201)).toHaveLength(30);
    expect(statuses.slice(30).every((status) => status === 429)).toBe(true);
    // The seats the attacker could not take are there for the community.
    const member = await api(stack, 'POST', `/${code}/join`, { token: await tokenFor(stack, 'real-member') });
    expect(member.status).toBe(200);
  });

  it('cannot spread refused socket upgrades over forged addresses either', async () => {
    const { id, code } = await createParty(stack, 'knock-host', { visibility: 'public' });
    for (let i = 0; i < 30; i++) expect((await refusedStatus(stack, id, 'garbage', forged(i))).status).toBe(401);
    // Past the budget, even a good token from that address waits; the budget is per address, not per token.
    const token = await joinAs(stack, code, 'knocker');
    expect((await refusedStatus(stack, id, token, forged(99))).status).toBe(429);
  });
});

describe('behind a trusted reverse proxy (TRUST_PROXY=loopback)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await behindProxy(fake);
  });
  afterAll(() => stack?.close());

  it('counts each client the proxy names, so one noisy client does not lock out the others', async () => {
    const { code } = await createParty(stack, 'proxy-host', { visibility: 'public' });
    const noisy = { 'x-forwarded-for': '203.0.113.7' };
    let status = 0;
    for (let i = 0; i < 31; i++) status = (await guest(stack, code, `Noisy ${i}`, noisy)).status;
    expect(status).toBe(429);
    // Another visitor behind the same proxy is another address.
    expect((await guest(stack, code, 'Neighbour', { 'x-forwarded-for': '198.51.100.20' })).status).toBe(201);
    // What a client writes in front of the proxy's own entry is not believed past the proxy's word:
    // the proxy appends the real peer last, and that is who is counted.
    expect((await guest(stack, code, 'Sneaky', { 'x-forwarded-for': '198.51.100.21, 203.0.113.7' })).status).toBe(429);
  });
});

describe('TRUST_PROXY and address keys', () => {
  it('reads off, a hop count, and addresses/CIDRs, and refuses trusting everyone', () => {
    expect(parseTrustProxy(undefined)).toEqual({ kind: 'off' });
    expect(parseTrustProxy('off')).toEqual({ kind: 'off' });
    expect(parseTrustProxy('2')).toEqual({ kind: 'hops', hops: 2 });
    expect(parseTrustProxy('loopback, 10.0.0.0/8, fd00::/8')).toEqual({
      kind: 'list',
      entries: ['loopback', '10.0.0.0/8', 'fd00::/8'],
    });
    expect(parseTrustProxy('true')).toMatch(/would believe any client/);
    expect(parseTrustProxy('10.0.0.0/33')).toMatch(/not an address/);
    expect(parseTrustProxy('proxy.example')).toMatch(/not an address/);
  });

  it('counts an IPv6 client by its /64, which one subscriber can fill with addresses', () => {
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe(addressKey('2001:db8:1:2:ffff:1:2:3'));
    expect(addressKey('2001:db8:1:2::1')).not.toBe(addressKey('2001:db8:1:3::1'));
    expect(addressKey('::ffff:203.0.113.5')).toBe('203.0.113.5');
    expect(addressKey('203.0.113.5')).toBe('203.0.113.5');
  });
});
