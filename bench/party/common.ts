// What the watch-party benchmarks share (bench/party.ts, bench/party-cluster.ts): the fan-out
// rounds and their latency samples, a `ws` client, our parties set up over REST like real clients
// (member tokens signed with the bench's PARTY_SECRET), and the statistics and formatting.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { createTokenSigner } from '../../src/party/tokens.js';

/** The PARTY_SECRET the bot processes get, so this process signs member tokens they accept. */
export const SECRET = 'bench-party-secret-0123456789abcdef-0123456789abcdef';
const API = '/api/v1/watch-parties';
const SOURCE = 'https://cdn.example/bench/movie.m3u8';
const ROUND_TIMEOUT_MS = 15_000;
/** Fan-out rounds per party: these first are not recorded, then ROUNDS are. */
export const WARMUP_ROUNDS = 5;
export const ROUNDS = 100;
/** Between two rounds (of any party): a socket may send 20 messages/s, so each host stays well under. */
const PACE_MS = 30;
/** Sockets opened, and REST joins made, at once while bringing a party in. */
export const CONNECT_CONCURRENCY = 100;
export const REST_CONCURRENCY = 50;

export const progressFor =
  (name: string) =>
  (text: string): void =>
    console.error(`[${name} ${new Date().toISOString().slice(11, 19)}] ${text}`);

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export async function pool<T, R>(
  items: T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index]!, index);
      }
    }),
  );
  return results;
}

export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** The 1, 5 and 15 minute load averages, as /proc/loadavg has them. */
export const loadAverage = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
export const ms = (value: number): string => `${value.toFixed(value < 10 ? 2 : 1)} ms`;
export const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;
export const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
export const seconds = (value: number | undefined): string => `${((value ?? Number.NaN) / 1000).toFixed(1)} s`;

// ---------------------------------------------------------------------------------------------
// Clients

export interface Peer {
  /** The host's command: seek to `position`. */
  command(position: number): void;
  close(): void;
}

/** One party's rounds: who has seen the current position, and the latency samples. */
export class Rounds {
  readonly samples: number[] = [];
  private readonly got: Uint8Array;
  private expected = Number.NaN;
  private sentAt = 0;
  private count = 0;
  private recording = false;
  private wake: (() => void) | null = null;

  constructor(readonly size: number) {
    this.got = new Uint8Array(size);
  }

  arrived(index: number, position: unknown): void {
    if (position !== this.expected || this.got[index] === 1) return;
    const at = performance.now();
    this.got[index] = 1;
    if (this.recording) this.samples.push(at - this.sentAt);
    this.count += 1;
    if (this.count === this.size) this.wake?.();
  }

  async round(host: Peer, position: number, record: boolean): Promise<void> {
    this.expected = position;
    this.got.fill(0);
    this.count = 0;
    this.recording = record;
    const everyone = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`round ${position}: ${this.count}/${this.size} received in ${ROUND_TIMEOUT_MS} ms`)),
        ROUND_TIMEOUT_MS,
      );
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.sentAt = performance.now();
    host.command(position);
    await everyone;
  }
}

/**
 * The fan-out rounds of several parties at once: they take rounds in turn (the order rotating, PACE_MS
 * apart), so whatever else the machine is doing falls on all of them alike.
 */
export async function takeRoundsInTurn(parties: Array<{ rounds: Rounds; host: Peer }>): Promise<void> {
  await sleep(1_000);
  for (let r = 0; r < WARMUP_ROUNDS + ROUNDS; r += 1) {
    for (let k = 0; k < parties.length; k += 1) {
      const { rounds, host } = parties[(r + k) % parties.length]!;
      await rounds.round(host, r + 1, r >= WARMUP_ROUNDS);
      await sleep(PACE_MS);
    }
  }
}

/** A `ws` client: ready once the server's `state` frame arrives; each `seek` it gets counts for `rounds`. */
export function openWs(
  url: string,
  protocols: string[],
  index: number,
  rounds: Rounds | null,
  stateBytes?: (bytes: number) => void,
): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { perMessageDeflate: false });
    const peer: Peer = {
      command: (position) => ws.send(JSON.stringify({ type: 'seek', position })),
      close: () => ws.terminate(),
    };
    let ready = false;
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no state frame from ${url} within 20 s`));
    }, 20_000);
    ws.on('message', (data) => {
      const message = JSON.parse((data as Buffer).toString('utf8')) as { type?: string; position?: unknown };
      if (message.type === 'seek') rounds?.arrived(index, message.position);
      else if (!ready && message.type === 'state') {
        ready = true;
        stateBytes?.((data as Buffer).length);
        clearTimeout(timer);
        resolve(peer);
      }
    });
    ws.on('unexpected-response', (_request, response) => {
      clearTimeout(timer);
      reject(new Error(`HTTP ${response.statusCode} from ${url}`));
    });
    ws.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Our parties, set up over REST like real clients.

const signer = createTokenSigner(new TextEncoder().encode(SECRET));

async function rest(
  httpBase: string,
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<{ data: any; bytes: number }> {
  const response = await fetch(`${httpBase}${API}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  const answer = JSON.parse(text) as { data?: unknown; error?: unknown };
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(answer.error)}`);
  return { data: answer.data, bytes: Buffer.byteLength(text) };
}

export interface OurParty {
  id: string;
  /** Scoped tokens the server handed out: the host's first, then each viewer's. */
  tokens: string[];
  lastJoinAnswerBytes: number;
}

/**
 * A host creates the party on `httpBase` with a member token; size − 1 distinct viewers join it by
 * invite code, on `joinBase` (another bot process of the same cluster) when given.
 */
export async function prepareParty(
  httpBase: string,
  label: string,
  size: number,
  concurrency: number,
  joinBase = httpBase,
): Promise<OurParty> {
  const host = await signer.sign({ id: `${label}-host`, name: `Host ${label}` });
  const { data: created } = await rest(httpBase, 'POST', '', host.token, {
    title: `Bench ${label}`,
    visibility: 'private',
    max_participants: size,
    source: SOURCE,
  });
  let lastJoinAnswerBytes = 0;
  const viewers = await pool(range(size - 1), concurrency, async (i) => {
    const member = await signer.sign({ id: `${label}-v${i}`, name: `Viewer ${i}` });
    const joined = await rest(joinBase, 'POST', `/${created.invite_code}/join`, member.token);
    lastJoinAnswerBytes = joined.bytes;
    return joined.data.token as string;
  });
  return { id: created.id as string, tokens: [created.token as string, ...viewers], lastJoinAnswerBytes };
}

/** The party's socket URL on the bot process serving `httpBase`. */
export const partySocketUrl = (httpBase: string, partyId: string): string =>
  `${httpBase.replace(/^http/, 'ws')}${API}/${partyId}/ws`;
export const bearerProtocols = (token: string): string[] => ['watch-party.v1', `bearer.${token}`];
