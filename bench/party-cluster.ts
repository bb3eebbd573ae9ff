// Benchmark: watch-party fan-out when the host and the viewers are on different bot processes
// sharing one Redis, against the same party on one process. Real bot processes (dist/index.js via
// startBot, against the fake Discord and fake Parti, PARTY_SECRET set so this process signs member
// tokens) and a throwaway redis-server, all on 127.0.0.1:
//   - sqlite: one process on its sqlite file, no Redis at all (the default deployment);
//   - one instance: one process on STORE_URL=redis://… (so it is in a cluster of one: every frame
//     is also published to the party's channel, and the timeline goes to Redis on every change);
//   - two instances, A and B, on the same Redis and key prefix, one gateway shard each. The party is
//     created on A, so A owns it; the host's socket is on A and the viewers' are on B, so every frame
//     goes A → Redis → B. A second party has the host on B too: its command goes to A as a request
//     (B → Redis → A), and the frame comes back over the party's channel.
// Each party has a host and N viewers, who join over REST on the process their socket will be on.
// Each round the host sends `seek` with a new position; a sample is, per viewer, arrival − send on
// this process's clock (the host's own copy is not counted). 5 warm-up rounds, then 100 per
// placement and N; the four parties take rounds in turn (rotating order, 30 ms apart: a socket may
// send 20 messages/s), so whatever else the machine does lands on all of them alike.
// Run: npm run bench:party-cluster
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@redis/client';
import { startBot, tempStoreFile, type BotProcess } from '../test/support/bot.js';
import { startFakeDiscord } from '../test/support/fakeDiscord.js';
import { startFakeParti } from '../test/support/fakeParti.js';
import { startRedisServer } from '../test/support/redisServer.js';
import {
  bearerProtocols,
  CONNECT_CONCURRENCY,
  kib,
  loadAverage,
  ms,
  openWs,
  partySocketUrl,
  percentile,
  pool,
  prepareParty,
  progressFor,
  range,
  ratio,
  REST_CONCURRENCY,
  ROUNDS,
  Rounds,
  SECRET,
  seconds,
  takeRoundsInTurn,
  type Peer,
} from './party/common.js';

/** Viewers per party; each party also has its host. */
const SIZES = [100, 1_000];
const CLUSTER_PREFIX = 'bench-cluster';

type Placement = 'sqlite' | 'one' | 'two' | 'hostOnB';
const LABEL: Record<Placement, string> = {
  sqlite: 'one instance, sqlite (no Redis)',
  one: 'one instance, Redis',
  two: 'two instances: host on A (owner), viewers on B',
  hostOnB: 'two instances: host and viewers on B, owner A',
};
/** Which process creates (and so owns) the party, and where the host's and the viewers' sockets are. */
interface Where {
  owner: BotProcess;
  host: BotProcess;
  viewers: BotProcess;
}

const progress = progressFor('bench:party-cluster');

const redis = await startRedisServer();
const redisUrl = redis.url;
const [discord, parti] = await Promise.all([startFakeDiscord(), startFakeParti()]);
const bots: BotProcess[] = [];

const startOne = async (storeUrl: string, env: Record<string, string> = {}): Promise<BotProcess> => {
  const bot = await startBot({
    discord,
    parti,
    env: {
      LOG_LEVEL: 'info',
      STORE_URL: storeUrl,
      PARTY_SECRET: SECRET,
      PARTY_MAX_PARTICIPANTS: String(Math.max(...SIZES) + 1),
      // The hosts seek once a round, far above a person's pace; the parties all come from 127.0.0.1.
      PARTY_COMMANDS_PER_SECOND: '100',
      PARTY_CREATES_PER_IP_PER_HOUR: '1000',
      ...env,
    },
  });
  bots.push(bot);
  return bot;
};

/** The cluster member id a process logged when it joined (its value in the owner lease). */
const instanceIdOf = async (bot: BotProcess): Promise<string> =>
  String((await bot.waitForLog('joined the party cluster')).instanceId);

interface Latency {
  samples: number[];
  /** REST create and joins, then the sockets (each waiting for its `state` frame). */
  joinsMs: number;
  socketsMs: number;
}

async function fanout(places: Map<Placement, Where>, viewers: number): Promise<Map<Placement, Latency>> {
  const parties: Array<{ placement: Placement; rounds: Rounds; host: Peer; peers: Peer[]; partyId: string }> = [];
  const setup = new Map<Placement, { joinsMs: number; socketsMs: number }>();
  try {
    for (const [placement, where] of places) {
      const t0 = performance.now();
      const party = await prepareParty(
        where.owner.url,
        `${placement}${viewers}`,
        viewers + 1,
        REST_CONCURRENCY,
        where.viewers.url,
      );
      const t1 = performance.now();
      const rounds = new Rounds(viewers);
      const [hostToken, ...viewerTokens] = party.tokens;
      const host = await openWs(partySocketUrl(where.host.url, party.id), bearerProtocols(hostToken!), 0, null);
      const entry = { placement, rounds, host, peers: [host], partyId: party.id };
      parties.push(entry);
      const url = partySocketUrl(where.viewers.url, party.id);
      entry.peers.push(
        ...(await pool(viewerTokens, CONNECT_CONCURRENCY, (token, i) =>
          openWs(url, bearerProtocols(token), i, rounds),
        )),
      );
      setup.set(placement, { joinsMs: t1 - t0, socketsMs: performance.now() - t1 });
      progress(`${viewers} viewers: ${LABEL[placement]} ready`);
    }
    await takeRoundsInTurn(parties);
  } finally {
    for (const { peers } of parties) for (const peer of peers) peer.close();
  }
  recordBytes.set(viewers, await checkCluster(places, parties));
  progress(`${viewers} viewers: ${ROUNDS} rounds on each placement`);
  await sleep(1_000);
  return new Map(
    parties.map(({ placement, rounds }) => [placement, { samples: rounds.samples, ...setup.get(placement)! }]),
  );
}

/** Bytes of a two-instance party's stored record (rewritten at most every 250 ms), per N. */
const recordBytes = new Map<number, number>();

/**
 * The two-instance parties must have stayed with A throughout (a takeover would measure something
 * else). Returns the size of the stored record of the first of them.
 */
async function checkCluster(
  places: Map<Placement, Where>,
  parties: Array<{ placement: Placement; partyId: string }>,
): Promise<number> {
  const client = createClient({ url: redisUrl });
  await client.connect();
  try {
    let bytes = Number.NaN;
    for (const { placement, partyId } of parties) {
      if (placement !== 'two' && placement !== 'hostOnB') continue;
      const owner = await client.get(`${CLUSTER_PREFIX}:party-owner:${partyId}`);
      const expected = await instanceIdOf(places.get(placement)!.owner);
      if (owner !== expected) throw new Error(`${LABEL[placement]}: party owned by ${owner}, not A (${expected})`);
      const [record] = await client.keys(`${CLUSTER_PREFIX}*party:${partyId}`);
      if (record && Number.isNaN(bytes)) bytes = await client.strLen(record);
    }
    return bytes;
  } finally {
    await client.quit();
  }
}

const started = performance.now();
const loadBefore = loadAverage();
const results = new Map<number, Map<Placement, Latency>>();
try {
  const [sqlite, one, a, b] = await Promise.all([
    startOne(`sqlite://${tempStoreFile()}`),
    startOne(`${redisUrl}?prefix=bench-one`),
    startOne(`${redisUrl}?prefix=${CLUSTER_PREFIX}`, { SHARD_COUNT: '2', SHARD_IDS: '0' }),
    startOne(`${redisUrl}?prefix=${CLUSTER_PREFIX}`, { SHARD_COUNT: '2', SHARD_IDS: '1' }),
  ]);
  const [idA, idB] = await Promise.all([instanceIdOf(a), instanceIdOf(b)]);
  progress(`bots up; cluster A = ${idA}, B = ${idB}`);
  const places = new Map<Placement, Where>([
    ['sqlite', { owner: sqlite, host: sqlite, viewers: sqlite }],
    ['one', { owner: one, host: one, viewers: one }],
    ['two', { owner: a, host: a, viewers: b }],
    ['hostOnB', { owner: a, host: b, viewers: b }],
  ]);
  for (const viewers of SIZES) results.set(viewers, await fanout(places, viewers));

  console.log('host `seek` → every viewer received (over viewers × rounds; ratios to one instance on Redis):');
  console.log(
    '| viewers | placement | samples | p50 | p95 | p99 | max | first / last viewer, median round | p50 ÷ one | p99 ÷ one |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const [viewers, byPlacement] of results) {
    const base = byPlacement.get('one')!.samples;
    for (const [placement, { samples }] of byPlacement) {
      const [p50, p95, p99] = [50, 95, 99].map((p) => percentile(samples, p)) as [number, number, number];
      // A round's samples are pushed in arrival order: the first shows the path to one socket, the last the whole fan-out.
      const firsts = range(ROUNDS).map((r) => samples[r * viewers]!);
      const lasts = range(ROUNDS).map((r) => samples[(r + 1) * viewers - 1]!);
      console.log(
        `| ${viewers} | ${LABEL[placement]} | ${samples.length} | ${ms(p50)} | ${ms(p95)} | ${ms(p99)} | ` +
          `${ms(Math.max(...samples))} | ${ms(percentile(firsts, 50))} / ${ms(percentile(lasts, 50))} | ` +
          `${ratio(p50, percentile(base, 50))} | ${ratio(p99, percentile(base, 99))} |`,
      );
    }
  }
  console.log('');
  console.log('bringing the party in (host creates on the owner; viewers join over REST, then open their sockets):');
  console.log('| viewers | placement | REST create + joins | sockets |');
  console.log('| --- | --- | --- | --- |');
  for (const [viewers, byPlacement] of results) {
    for (const [placement, { joinsMs, socketsMs }] of byPlacement) {
      console.log(`| ${viewers} | ${LABEL[placement]} | ${seconds(joinsMs)} | ${seconds(socketsMs)} |`);
    }
  }
  for (const [viewers, bytes] of recordBytes) {
    console.log(`stored party record with ${viewers} viewers (rewritten at most every 250 ms): ${kib(bytes)}`);
  }
  console.log(`load average (1/5/15 min) before: ${loadBefore}, at the end: ${loadAverage()}`);
  const names = new Map<BotProcess, string>([
    [sqlite, 'sqlite'],
    [one, 'one'],
    [a, 'A'],
    [b, 'B'],
  ]);
  for (const [bot, name] of names) {
    const problems = [
      ...bot.logs.filter((line) => line.level >= 40).map((line) => JSON.stringify(line)),
      ...bot.stderr,
    ];
    if (problems.length) console.log(`${name} logged ${problems.length} warnings/errors, the first: ${problems[0]}`);
  }
  progress(`done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
} finally {
  await Promise.all(bots.map((bot) => bot.stop()));
  await Promise.all([discord.close(), parti.close()]);
  redis.stop();
}
// Client sockets closed above may still be in their closing handshakes; nothing is left to wait for.
process.exit(0);
