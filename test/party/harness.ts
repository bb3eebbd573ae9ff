// Test harness for the watch-party server: the real Fastify app with the party routes and service
// on a loopback port, its own sqlite file, a fake Parti, captured logs, and a ws client that
// collects server messages and can wait for one.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'vitest';
import WebSocket from 'ws';
import type { TrustProxy } from '../../src/http/clientAddress.js';
import { createHttpServer } from '../../src/http/server.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { createPartiClient, type PartiClient } from '../../src/parti/client.js';
import { connectPartyCluster, type PartyCluster } from '../../src/party/cluster.js';
import type { ServerMessage } from '../../src/party/protocol.js';
import { registerPlayerRoutes } from '../../src/party/player/routes.js';
import { registerPartyRoutes } from '../../src/party/server.js';
import { createPartyService, type PartyService, type PartyServiceOptions } from '../../src/party/service.js';
import { openStore, type Store } from '../../src/store/index.js';
import type { FakeParti } from '../support/fakeParti.js';

export const API = '/api/v1/watch-parties';

export interface Stack {
  service: PartyService;
  store: Store;
  storeUrl: string;
  base: string;
  wsBase: string;
  logs: string[];
  parti: PartiClient;
  /** The stack's link to the other processes, when it joined the party cluster. */
  cluster: PartyCluster | undefined;
  close(): Promise<void>;
}

export type StackOptions = Omit<PartyServiceOptions, 'store' | 'parti' | 'config' | 'logger' | 'cluster'> & {
  storeUrl?: string;
  maxParticipants?: number;
  /** Default true: the fake Parti and the tests' media servers are on 127.0.0.1. */
  mediaAllowPrivate?: boolean;
  proxyUrl?: string;
  /** Join the party cluster on the store's Redis (storeUrl must be redis://), as src/index.ts does. */
  cluster?: boolean;
  /** TRUST_PROXY as parsed (default off: the TCP peer is the client). */
  trustProxy?: TrustProxy;
  /** Serve the player page too (its bundle need not be built: the page's headers are what is asked). */
  player?: boolean;
  /** PARTY_CORS_ORIGINS as parsed. */
  corsOrigins?: string[];
};

export function tempStoreUrl(): string {
  return `sqlite://${join(mkdtempSync(join(tmpdir(), 'party-test-')), 'store.sqlite')}`;
}

/** A Parti client on the fake's newest API host and first media host, failing fast, as party tests want it. */
export function partiClientFor(fake: FakeParti, store: Pick<Store, 'cache'>, logger: Logger): PartiClient {
  return createPartiClient({
    baseUrls: [fake.apiUrl],
    mediaBaseUrls: [fake.mediaUrl],
    cache: store.cache,
    logger,
    timeoutMs: 2000,
    retries: 0,
  });
}

export async function startStack(fake: FakeParti, options: StackOptions = {}): Promise<Stack> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(chunk.toString());
      callback();
    },
  });
  const logger = createLogger('debug', sink);
  const {
    storeUrl: givenStoreUrl,
    maxParticipants,
    cluster: clustered,
    mediaAllowPrivate,
    proxyUrl,
    limits,
    trustProxy,
    player,
    corsOrigins,
    ...serviceOptions
  } = options;
  const storeUrl = givenStoreUrl ?? tempStoreUrl();
  const store = await openStore(storeUrl, logger);
  const cluster = clustered ? await connectPartyCluster(storeUrl, logger) : undefined;
  const parti = partiClientFor(fake, store, logger);
  const service = await createPartyService({
    store,
    parti,
    logger,
    config: {
      PUBLIC_URL: 'https://bot.example',
      PARTY_MAX_PARTICIPANTS: maxParticipants ?? 1000,
      MEDIA_ALLOW_PRIVATE: mediaAllowPrivate ?? true,
      PARTI_PROXY_URL: proxyUrl,
    },
    cluster,
    // Every test client is 127.0.0.1: per-address limits would count the whole suite as one stranger.
    // The hostile tests (test/security/) set them back to what the internet gets.
    limits: { createsPerAddressPerHour: 10_000, codeMisses: 10_000, badUpgradesPerMinute: 10_000, ...limits },
    ...serviceOptions,
  });
  const app = createHttpServer(
    logger,
    { discordReady: () => true, storeOpen: () => true, shuttingDown: () => false },
    undefined,
    trustProxy,
  );
  registerPartyRoutes(app, service, { publicUrl: 'https://bot.example', ...(corsOrigins && { corsOrigins }) });
  if (player) registerPlayerRoutes(app, service, { PARTI_MEDIA_URL: [fake.mediaUrl] });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    service,
    store,
    storeUrl,
    parti,
    cluster,
    logs,
    base: `http://127.0.0.1:${port}`,
    wsBase: `ws://127.0.0.1:${port}`,
    async close() {
      await service.close();
      await cluster?.close();
      await app.close();
      await parti.close();
      await store.close();
    },
  };
}

export interface ApiAnswer {
  status: number;
  headers: Headers;
  body: any;
}

export async function api(
  stack: Stack,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<ApiAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.raw !== undefined) {
    headers['content-type'] = 'application/json';
    body = options.raw;
  } else if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const response = await fetch(`${stack.base}${API}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

export async function tokenFor(stack: Stack, id: string, name = id, partyId?: string): Promise<string> {
  return (await stack.service.issueToken({ id, name }, partyId)).token;
}

type Msg = ServerMessage & Record<string, any>;

/** A ws client that keeps every message and can wait for the next one matching a predicate. */
export class PartyClient {
  readonly messages: Msg[] = [];
  private consumed = new Set<number>();
  private waiters: Array<() => void> = [];
  closeCode: number | null = null;
  readonly closed: Promise<number>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.messages.push(JSON.parse((data as Buffer).toString('utf8')) as Msg);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code) => {
        this.closeCode = code;
        for (const wake of this.waiters.splice(0)) wake();
        resolve(code);
      });
    });
  }

  /** Resolves with the first not-yet-taken message of this type (and predicate), waiting if needed. */
  async next(type: string, predicate: (message: Msg) => boolean = () => true, timeoutMs = 3000): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.messages.findIndex((m, i) => !this.consumed.has(i) && m.type === type && predicate(m));
      if (index >= 0) {
        this.consumed.add(index);
        return this.messages[index]!;
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.closeCode !== null) {
        throw new Error(`no ${type} message within ${timeoutMs} ms; got ${this.messages.map((m) => m.type).join(',')}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  of(type: string): Msg[] {
    return this.messages.filter((m) => m.type === type);
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  close(): void {
    this.ws.close();
  }
}

/** Opens a party socket the way a browser does (token as a subprotocol) unless `header` is set. */
export async function connect(
  stack: Stack,
  partyId: string,
  token: string | null,
  options: { header?: boolean; autoPong?: boolean; headers?: Record<string, string> } = {},
): Promise<PartyClient> {
  const url = `${stack.wsBase}${API}/${partyId}/ws`;
  const protocols = token && !options.header ? ['watch-party.v1', `bearer.${token}`] : ['watch-party.v1'];
  const ws = new WebSocket(url, protocols, {
    headers: { ...options.headers, ...(token && options.header ? { authorization: `Bearer ${token}` } : {}) },
    autoPong: options.autoPong ?? true,
  });
  const client = new PartyClient(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const error = new Error(`HTTP ${res.statusCode}`) as Error & { status?: number | undefined; body?: any };
        error.status = res.statusCode;
        error.body = JSON.parse(Buffer.concat(chunks).toString() || 'null');
        reject(error);
      });
    });
    ws.once('error', reject);
  });
  await client.next('state');
  return client;
}

/** The HTTP status a refused socket got. */
export async function refusedStatus(
  stack: Stack,
  partyId: string,
  token: string | null,
  headers?: Record<string, string>,
): Promise<{ status: number; body: any }> {
  try {
    await connect(stack, partyId, token, headers ? { headers } : {});
  } catch (error) {
    const e = error as { status?: number; body?: any };
    if (e.status) return { status: e.status, body: e.body };
    throw error;
  }
  throw new Error('the socket opened');
}

/**
 * No jump across a takeover: a pause applied by the new owner stops where the timeline the old owner
 * anchored (`before`, its last play) had got to by then, to the hundredth of a second.
 */
export function expectContinuedTimeline(before: Msg, paused: Msg): void {
  const expected = before.anchor_position + (paused.anchor_server_time_ms - before.anchor_server_time_ms) / 1000;
  expect(Math.abs(paused.position - expected)).toBeLessThan(0.01);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
