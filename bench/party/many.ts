// bench:party's many-parties mode: P parties, N sockets in all, each host seeking once a second, on
// the raw `ws` floor, our bot process and socket.io, one after the other in one run (at 10,000
// sockets each, three at once would measure their fight over two cores). Clients live in separate
// processes (manyClients.ts), each holding whole parties, so a delivery is timed on one clock from
// the host's send to a viewer's arrival, and the clients' work is not the server's. Reported per
// server: delivery latency (p50/p95/p99/max over every viewer of every round), memory per socket (RSS
// and heap after full GCs, before the parties and with every socket open, ÷ N), and how many
// RATE_LIMITED errors the hosts got; for ours also its event-loop delay (/metrics).
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from '../../test/support/bot.js';
import { bearerProtocols, kib, ms, partySocketUrl, percentile, pool, prepareParty, range, ratio } from './common.js';
import { roomId } from './frame.js';
import { memoryOf } from './memory.js';
import { LABEL, startServer, type Kind, type Server } from './servers.js';

export interface ManyOptions {
  parties: number;
  sockets: number;
  seconds: number;
  /** Client processes (each holds parties / clients whole parties). */
  clients: number;
  /** A directory for a CPU profile of the bot process (node --cpu-prof), when set. */
  cpuProfileDir?: string | undefined;
  progress: (text: string) => void;
}

interface Result {
  kind: Kind;
  samples: number[];
  rateLimited: number;
  sent: number;
  /** What the open sockets added, ÷ N (ours: after every REST join). */
  rssPerSocket: number;
  heapPerSocket: number;
  /** Everything a participant costs: from before the parties were made to every socket open, ÷ N. */
  rssPerParticipant: number;
  /** ours: the event-loop delay during the run, from /metrics (bucket bounds, ms). */
  eventLoop?: { p99: number; max: number; over50ms: number; count: number };
}

type SocketSpec = { url: string; protocols: string[] } | { base: string; room: string };

async function partiesOn(server: Server, options: ManyOptions, size: number): Promise<SocketSpec[][]> {
  if (server.kind === 'ours') {
    const made = await pool(range(options.parties), 5, (p) => prepareParty(server.httpBase, `many${p}`, size, 10));
    return made.map((party) =>
      party.tokens.map((token) => ({
        url: partySocketUrl(server.httpBase, party.id),
        protocols: bearerProtocols(token),
      })),
    );
  }
  return range(options.parties).map((p) =>
    range(size).map(() =>
      server.kind === 'raw'
        ? { url: `${server.wsBase}/r/${roomId(2_000_000 + p)}`, protocols: [] }
        : { base: server.httpBase, room: roomId(2_000_000 + p) },
    ),
  );
}

function clientProcess(job: unknown): { child: ChildProcess; lines: AsyncIterableIterator<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'bench/party/manyClients.ts')], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.stdin.write(`${JSON.stringify(job)}\n`);
  return { child, lines: createInterface({ input: child.stdout })[Symbol.asyncIterator]() };
}

async function line(lines: AsyncIterableIterator<string>): Promise<any> {
  const next = await lines.next();
  if (next.done) throw new Error('a client process ended early');
  return JSON.parse(next.value);
}

type Buckets = Array<{ le: number; count: number }>;

/** The event-loop delay histogram's buckets on /metrics (cumulative since the bot started). */
async function loopBuckets(server: Server): Promise<Buckets> {
  const text = await (await fetch(`${server.httpBase}/metrics`)).text();
  return [...text.matchAll(/^parti_bot_event_loop_delay_seconds_bucket\{le="([^"]+)"\} (\d+)/gm)].map((m) => ({
    le: m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]),
    count: Number(m[2]),
  }));
}

/** What the histogram gained between two reads: the p99 bucket, the largest bucket hit, samples over 50 ms. */
function loopBetween(before: Buckets, after: Buckets): Result['eventLoop'] {
  const gained = after.map((bucket, i) => ({ le: bucket.le, count: bucket.count - (before[i]?.count ?? 0) }));
  const count = gained.at(-1)?.count ?? 0;
  if (count === 0) return undefined;
  const p99 = gained.find((b) => b.count >= 0.99 * count)?.le ?? Number.NaN;
  const max = gained.find((b) => b.count === count)?.le ?? Number.NaN;
  const upTo50 = gained.find((b) => b.le >= 0.05)?.count ?? count;
  return { p99: p99 * 1000, max: max * 1000, over50ms: count - upTo50, count };
}

async function runOne(kind: Kind, options: ManyOptions, size: number): Promise<Result> {
  const profile = kind === 'ours' && options.cpuProfileDir !== undefined;
  const server = await startServer(kind, {
    PARTY_MAX_PARTICIPANTS: String(size),
    // Every party comes from 127.0.0.1: the per-address create limit is for strangers, not this.
    PARTY_CREATES_PER_IP_PER_HOUR: '100000',
  });
  const clients: Array<ReturnType<typeof clientProcess>> = [];
  try {
    await sleep(1_000);
    const before = await memoryOf(server.pid, server.probeFile);
    const parties = await partiesOn(server, options, size);
    // Ours: the parties exist and everyone has joined over REST; what the sockets add is measured apart.
    const joined = kind === 'ours' ? await memoryOf(server.pid, server.probeFile) : before;
    for (let c = 0; c < options.clients; c += 1) {
      const mine = parties.filter((_, p) => p % options.clients === c).map((sockets) => ({ sockets }));
      clients.push(clientProcess({ parties: mine, seconds: options.seconds }));
    }
    for (const client of clients) await line(client.lines);
    options.progress(`${LABEL[kind]}: ${options.sockets} sockets open`);
    await sleep(3_000);
    const after = await memoryOf(server.pid, server.probeFile);
    const loopBefore = kind === 'ours' ? await loopBuckets(server) : [];
    if (profile) process.kill(server.pid, 'SIGWINCH'); // the probe starts a CPU profile (memory.ts)
    for (const client of clients) client.child.stdin!.write('go\n');
    // Read as the last commands land, before the clients hang up (10,000 sockets closing at once is
    // work of its own, and not what this measures).
    const loopAfter = kind === 'ours' ? sleep(options.seconds * 1000 + 500).then(() => loopBuckets(server)) : undefined;
    const results = (await Promise.all(clients.map((client) => line(client.lines)))) as Array<{
      samples: number[];
      rateLimited: number;
      sent: number;
    }>;
    const result: Result = {
      kind,
      samples: results.flatMap((r) => r.samples),
      rateLimited: results.reduce((sum, r) => sum + r.rateLimited, 0),
      sent: results.reduce((sum, r) => sum + r.sent, 0),
      rssPerSocket: (after.rss - joined.rss) / options.sockets,
      heapPerSocket: (after.heapUsed - joined.heapUsed) / options.sockets,
      rssPerParticipant: (after.rss - before.rss) / options.sockets,
    };
    if (kind === 'ours') {
      const eventLoop = loopBetween(loopBefore, (await loopAfter)!);
      if (eventLoop) result.eventLoop = eventLoop;
    }
    if (profile) {
      process.kill(server.pid, 'SIGWINCH');
      const written = `${server.probeFile}.cpuprofile`;
      for (let i = 0; i < 100 && !existsSync(written); i++) await sleep(100);
      const to = join(options.cpuProfileDir!, `ours-${Date.now()}.cpuprofile`);
      copyFileSync(written, to);
      options.progress(`CPU profile of the run: ${to}`);
    }
    options.progress(
      `${LABEL[kind]}: ${result.sent} commands, ${result.samples.length} deliveries, p50 ${ms(percentile(result.samples, 50))}, p99 ${ms(percentile(result.samples, 99))}, RATE_LIMITED ${result.rateLimited}`,
    );
    return result;
  } finally {
    for (const client of clients) client.child.kill();
    await server.stop();
    await sleep(1_000);
  }
}

export async function benchMany(options: ManyOptions): Promise<void> {
  const size = Math.round(options.sockets / options.parties);
  options.progress(
    `${options.parties} parties × ${size} = ${options.parties * size} sockets, one seek per party per second for ${options.seconds} s, ${options.clients} client processes`,
  );
  const results = new Map<Kind, Result>();
  for (const kind of ['raw', 'ours', 'io'] as const) results.set(kind, await runOne(kind, options, size));
  const raw = results.get('raw')!;
  const row = (r: Result) => {
    const p = (q: number) => percentile(r.samples, q);
    const floor = (q: number) => percentile(raw.samples, q);
    return (
      `| ${LABEL[r.kind]} | ${r.samples.length} | ${ms(p(50))} | ${ms(p(95))} | ${ms(p(99))} | ${ms(r.samples.reduce((a, b) => Math.max(a, b), 0))} | ` +
      `${ratio(p(50), floor(50))} / ${ratio(p(99), floor(99))} | ${kib(r.rssPerSocket)} (${ratio(r.rssPerSocket, raw.rssPerSocket)}) | ` +
      `${kib(r.heapPerSocket)} | ${kib(r.rssPerParticipant)} | ${r.rateLimited} |`
    );
  };
  console.log(
    `\n${options.parties} parties × ${size} sockets, each host seeking once a second for ${options.seconds} s (delivery latency over every viewer of every command):\n`,
  );
  console.log(
    '| server | deliveries | p50 | p95 | p99 | max | p50 / p99 ÷ floor | RSS per socket (÷ floor) | heap per socket | RSS per participant, joins included | RATE_LIMITED |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const kind of ['raw', 'ours', 'io'] as const) console.log(row(results.get(kind)!));
  const loop = results.get('ours')!.eventLoop;
  if (loop) {
    console.log(
      `\nours, event-loop delay during the run (/metrics, parti_bot_event_loop_delay_seconds): p99 ≤ ${ms(loop.p99)}, max ≤ ${ms(loop.max)}, ${loop.over50ms} of ${loop.count} samples over 50 ms`,
    );
  }
}
