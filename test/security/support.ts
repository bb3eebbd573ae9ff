// What the hostile-client tests share: the real party server (test/party/harness.ts) with the limits
// a server on the internet has (the harness relaxes the per-address ones for the rest of the suite,
// whose clients are all 127.0.0.1), and a member who joins by code.
import { expect } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/party/service.js';
import type { FakeParti } from '../support/fakeParti.js';
import { api, startStack, tokenFor, type Stack, type StackOptions } from '../party/harness.js';

export const DIRECT = 'https://cdn.example/movie.m3u8';

/** The party server as the internet meets it: default limits, forwarded headers not trusted. */
export function internetStack(fake: FakeParti, options: StackOptions = {}): Promise<Stack> {
  return startStack(fake, { ...options, limits: { ...DEFAULT_LIMITS, ...options.limits } });
}

/** The same behind a reverse proxy on loopback (TRUST_PROXY=loopback): a test can be visitors at many addresses. */
export function behindProxy(fake: FakeParti, options: StackOptions = {}): Promise<Stack> {
  return internetStack(fake, { ...options, trustProxy: { kind: 'list', entries: ['loopback'] } });
}

export async function createParty(
  stack: Stack,
  hostId: string,
  body: Record<string, unknown> = { source: DIRECT },
): Promise<{ id: string; code: string; hostToken: string }> {
  const hostToken = await tokenFor(stack, hostId, `Host ${hostId}`);
  const created = await api(stack, 'POST', '', { token: hostToken, body });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return { id: created.body.data.id, code: created.body.data.invite_code, hostToken };
}

/** A Discord member's way in: a token, then a join by the invite code; returns their party-scoped token. */
export async function joinAs(stack: Stack, code: string, userId: string): Promise<string> {
  const joined = await api(stack, 'POST', `/${code}/join`, { token: await tokenFor(stack, userId, `User ${userId}`) });
  expect(joined.status, JSON.stringify(joined.body)).toBe(200);
  return joined.body.data.token as string;
}

export async function guest(
  stack: Stack,
  code: string,
  name: string,
  headers?: Record<string, string>,
): Promise<{ status: number; token?: string; userId?: string }> {
  const answer = await api(stack, 'POST', `/${code}/guest`, {
    body: { display_name: name },
    ...(headers && { headers }),
  });
  return { status: answer.status, token: answer.body?.data?.token, userId: answer.body?.data?.user?.id };
}
