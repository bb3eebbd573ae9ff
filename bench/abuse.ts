// Benchmark: one party under join/leave churn, and what everyone else feels of it.
// The real bot process (dist/index.js via startBot, against the fake Discord and fake Parti) hosts:
//   - the churned party: public, the host and 10 guests who stay; then 10,000 guests join it by its
//     invite code and leave again (bench/party/churn.ts, a process of its own, 4 at a time);
//   - a fresh party with the same people present, the reference for its stored size;
//   - 20 other parties of 25 people with their sockets open in this process, whose hosts each send a
//     seek about once a second; a sample is, per participant, arrival − send.
// Measured in one run: the churned party's stored bytes (its three keys in the sqlite file) and the
// process heap after two full GCs, before and after the churn; the other parties' delivery latency
// for 15 s without churn, then during it. Goals (the "safe to put on the internet" issue): stored
// size within 2× of the fresh party's, heap within 20 MB, others' p99 within 1.5× of the quiet one.
// Run: npm run bench:abuse
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../src/logger.js';
import { repoRoot } from '../test/support/bot.js';
import { partyKeys } from '../src/party/persistence.js';
import { createTokenSigner } from '../src/party/tokens.js';
import { openStore } from '../src/store/index.js';
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
  Rounds,
  SECRET,
  type Peer,
} from './party/common.js';
import { memoryOf, removeProbes } from './party/memory.js';
import { closeFakes, startServer } from './party/servers.js';

const CYCLES = Number(process.env.BENCH_CYCLES ?? 10_000);
const STAYERS = 10;
const OTHER_PARTIES = 20;
const OTHER_SIZE = 25;
const QUIET_MS = 15_000;
/** Between two rounds (of any party): 20 parties take turns, so each host seeks about once a second. */
const PACE_MS = 40;
const API = '/api/v1/watch-parties';

const progress = progressFor('bench:abuse');
const signer = createTokenSigner(new TextEncoder().encode(SECRET));
// Churn is what is measured, not the per-address join and create limits that would stop it first.
const bot = await startServer('ours', { PARTY_JOINS_PER_HOUR: '1000000', PARTY_CREATES_PER_IP_PER_HOUR: '1000' });
const store = await openStore(`sqlite://${bot.storeFile!}`, createLogger('silent'));

async function api(method: string, path: string, body?: unknown, token?: string): Promise<any> {
  const response = await fetch(`${bot.httpBase}${API}${path}`, {
    method,
    headers: {
      ...(token && { authorization: `Bearer ${token}` }),
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${await response.text()}`);
  return ((await response.json()) as { data: unknown }).data;
}

/** A public party with its host and STAYERS guests, who stay. */
async function publicParty(label: string): Promise<{ id: string; code: string }> {
  const host = await signer.sign({ id: `${label}-host`, name: `Host ${label}` });
  const created = await api('POST', '', { title: `Bench ${label}`, visibility: 'public' }, host.token);
  for (const i of range(STAYERS)) await api('POST', `/${created.invite_code}/guest`, { display_name: `Stayer ${i}` });
  return { id: created.id as string, code: created.invite_code as string };
}

/** The party's three keys in the store, in bytes of JSON, once the bot has written what is pending. */
async function storedBytes(partyId: string): Promise<number> {
  await sleep(600); // presence is written within 250 ms of a change
  let bytes = 0;
  for (const key of [partyKeys.record(partyId), partyKeys.members(partyId), partyKeys.timeline(partyId)]) {
    const value: unknown = await store.parties.get(key);
    if (value !== undefined) bytes += JSON.stringify(value).length;
  }
  return bytes;
}

const heap = async () => (await memoryOf(bot.pid, bot.probeFile)).heapUsed;
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

interface Other {
  rounds: Rounds;
  host: Peer;
  peers: Peer[];
}

/** Rounds of the other parties in turn, until `until` resolves (or for a fixed time); the samples. */
async function measure(others: Other[], until: Promise<unknown>): Promise<number[]> {
  let done = false;
  void until.then(() => (done = true));
  const samples: number[] = [];
  for (const other of others) other.rounds.samples.length = 0;
  for (let r = 0; !done; r += 1) {
    for (let k = 0; k < others.length && !done; k += 1) {
      const other = others[(r + k) % others.length]!;
      await other.rounds.round(other.host, Math.round(performance.now()) + k / 1000, true);
      await sleep(PACE_MS);
    }
  }
  for (const other of others) samples.push(...other.rounds.samples);
  return samples;
}

const started = performance.now();
try {
  progress(`bot ${bot.httpBase}; ${CYCLES} join/leave cycles; ${OTHER_PARTIES} other parties of ${OTHER_SIZE}`);
  const churned = await publicParty('churned');
  const fresh = await publicParty('fresh');
  const others: Other[] = [];
  for (const p of range(OTHER_PARTIES)) {
    const party = await prepareParty(bot.httpBase, `other${p}`, OTHER_SIZE, REST_CONCURRENCY);
    const rounds = new Rounds(OTHER_SIZE);
    const peers = await pool(party.tokens, CONNECT_CONCURRENCY, (token, i) =>
      openWs(partySocketUrl(bot.httpBase, party.id), bearerProtocols(token), i, rounds),
    );
    others.push({ rounds, host: peers[0]!, peers });
  }
  progress('parties ready; warming up');
  await measure(others, sleep(3_000));

  const before = { stored: await storedBytes(churned.id), fresh: await storedBytes(fresh.id), heap: await heap() };
  progress(`quiet: ${QUIET_MS / 1000} s of rounds`);
  const quiet = await measure(others, sleep(QUIET_MS));

  progress('churn');
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repoRoot, 'bench/party/churn.ts'),
      bot.httpBase,
      churned.code,
      churned.id,
      String(CYCLES),
      '4',
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let churnMs = Number.NaN;
  createInterface({ input: child.stdout }).on('line', (line) => {
    const match = /^done \d+ (\d+)$/.exec(line);
    if (match) churnMs = Number(match[1]);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const churn = await measure(others, exited);
  if ((await exited) !== 0 || Number.isNaN(churnMs)) throw new Error('the churn process failed');

  const after = { stored: await storedBytes(churned.id), fresh: await storedBytes(fresh.id), heap: await heap() };
  for (const other of others) for (const peer of other.peers) peer.close();

  const row = (name: string, values: number[]) =>
    `| ${name} | ${values.length} | ${ms(percentile(values, 50))} | ${ms(percentile(values, 95))} | ${ms(percentile(values, 99))} | ${ms(Math.max(...values))} |`;
  console.log(`\n## bench:abuse — ${CYCLES} guest join/leave cycles against one party`);
  console.log(
    `load average before: ${loadAverage()}; churn took ${(churnMs / 1000).toFixed(1)} s (${Math.round(CYCLES / (churnMs / 1000))} cycles/s)\n`,
  );
  console.log('| measure | before | after | goal | met |');
  console.log('| --- | --- | --- | --- | --- |');
  console.log(
    `| churned party's stored bytes | ${kib(before.stored)} | ${kib(after.stored)} | ≤ 2× a fresh party with the same people (${kib(after.fresh)}) | ${after.stored <= 2 * after.fresh ? 'yes' : 'NO'} (${ratio(after.stored, after.fresh)}) |`,
  );
  console.log(
    `| process heap after full GC | ${mib(before.heap)} | ${mib(after.heap)} | within 20 MiB | ${after.heap - before.heap <= 20 * 1024 * 1024 ? 'yes' : 'NO'} (${after.heap >= before.heap ? '+' : ''}${mib(after.heap - before.heap)}) |`,
  );
  const p99 = (values: number[]) => percentile(values, 99);
  console.log(
    `| other parties' broadcast p99 | ${ms(p99(quiet))} quiet | ${ms(p99(churn))} during churn | ≤ 1.5× quiet | ${p99(churn) <= 1.5 * p99(quiet) ? 'yes' : 'NO'} (${ratio(p99(churn), p99(quiet))}) |`,
  );
  console.log('\nOther parties, delivery latency (arrival − send, per participant):\n');
  console.log('| phase | samples | p50 | p95 | p99 | max |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  console.log(row('quiet', quiet));
  console.log(row('during churn', churn));
  progress(`done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
} finally {
  await bot.stop();
  await store.close();
  await closeFakes();
  removeProbes();
}
process.exit(0);
