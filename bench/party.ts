// Benchmark: watch-party fan-out and memory per connection.
// Three servers, each in its own child process, on 127.0.0.1:
//   - ours: the real bot process (dist/index.js via startBot, against the fake Discord and fake
//     Parti) with PARTY_SECRET set, so this process signs member tokens with the same key;
//   - raw ws floor: bench/party/rawServer.ts, one pre-serialized frame sent to every socket;
//   - socket.io: bench/party/ioServer.ts, one room per party, `io.to(room).emit(…)`.
// Every client lives in this process and does the same work for all three (parse the JSON frame,
// compare the position). 1. Fan-out: on each server a party of N (host included) whose host sends
// `seek` with a new position each round; a sample is, per participant, arrival − send on this
// process's clock. A round waits for every participant; rounds go round-robin over the three
// servers (running at once), 30 ms apart, so background load on the machine hits all three alike.
// 2. Memory: 10,000 sockets across 100 parties of 100, one server at a time, each freshly started
// (ours: the host creates the party, 99 viewers join it over REST with their own tokens, then
// everyone opens the socket); RSS (/proc/<pid>/status) and V8 heap used (a preload in the server
// answering SIGUSR2 after a full GC) before and after, idle.
// Run: npm run bench:party
// npm run bench:party -- --parties 100 --sockets 10000 runs the many-parties mode instead (party/many.ts).
// BENCH_BUSY_CORES=1 npm run bench:party runs the fan-out with that many other processes each keeping
// a core busy (a busy loop), as a machine shared with other work would be.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { io as ioClient } from 'socket.io-client';
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
  seconds,
  takeRoundsInTurn,
  type Peer,
} from './party/common.js';
import { roomId } from './party/frame.js';
import { benchMany } from './party/many.js';
import { memoryOf, removeProbes, type Memory } from './party/memory.js';
import { closeFakes, LABEL, startServer as startAnyServer, type Kind, type Server } from './party/servers.js';

const SIZES = [100, 1_000];
const MEM_PARTIES = 100;
const MEM_PER_PARTY = 100;
const SETTLE_MS = 3_000;

const progress = progressFor('bench:party');

/**
 * The fan-out's hosts seek once a round, every 90 ms or so (rounds go round-robin over three servers),
 * far above what a person does: the command budget is raised, as are the per-address limits that would
 * count the benchmark's 100 parties from 127.0.0.1 as one stranger's.
 */
const startServer = (kind: Kind): Promise<Server> =>
  startAnyServer(kind, {
    PARTY_MAX_PARTICIPANTS: String(Math.max(...SIZES)),
    PARTY_COMMANDS_PER_SECOND: '100',
    PARTY_CREATES_PER_IP_PER_HOUR: '1000',
  });

/** RSS and heap of a server process right after two full GCs there. */
const snapshot = (server: Server): Promise<Memory> => memoryOf(server.pid, server.probeFile);

// ---------------------------------------------------------------------------------------------
// Clients: the same for all three servers (the `ws` client is in ./party/common.ts).

/** A socket.io client over its WebSocket transport: ready once the server's `state` event arrives. */
function openIo(base: string, room: string, index: number, rounds: Rounds | null): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const socket = ioClient(base, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      timeout: 20_000,
      auth: { room },
    });
    const peer: Peer = {
      command: (position) => socket.emit('seek', { type: 'seek', position }),
      close: () => socket.disconnect(),
    };
    const timer = setTimeout(() => {
      socket.disconnect();
      reject(new Error(`no state event from ${base} within 20 s`));
    }, 20_000);
    socket.on('seek', (message: { position?: unknown }) => rounds?.arrived(index, message.position));
    socket.once('state', () => {
      clearTimeout(timer);
      resolve(peer);
    });
    socket.once('connect_error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// 1. Fan-out latency

async function fleet(server: Server, size: number, rounds: Rounds): Promise<Peer[]> {
  if (server.kind === 'ours') {
    const t0 = performance.now();
    const party = await prepareParty(server.httpBase, `lat${size}`, size, REST_CONCURRENCY);
    const t1 = performance.now();
    const url = partySocketUrl(server.httpBase, party.id);
    let largestState = 0;
    const peers = await pool(party.tokens, CONNECT_CONCURRENCY, (token, i) =>
      openWs(url, bearerProtocols(token), i, rounds, (bytes) => (largestState = Math.max(largestState, bytes))),
    );
    oursSetup.set(size, {
      joinsMs: t1 - t0,
      socketsMs: performance.now() - t1,
      lastJoinAnswerBytes: party.lastJoinAnswerBytes,
      largestStateFrameBytes: largestState,
    });
    return peers;
  }
  const room = roomId(size);
  return pool(range(size), CONNECT_CONCURRENCY, (i) =>
    server.kind === 'raw'
      ? openWs(`${server.wsBase}/r/${room}`, [], i, rounds)
      : openIo(server.httpBase, room, i, rounds),
  );
}

interface Latency {
  p50: number;
  p99: number;
  samples: number;
}

/** What bringing a party of `size` in cost on our server (REST joins, then sockets). */
interface Setup {
  joinsMs: number;
  socketsMs: number;
  lastJoinAnswerBytes: number;
  largestStateFrameBytes: number;
}
const oursSetup = new Map<number, Setup>();
/** Time to bring a party of `size` in (ours: joins and sockets), per server. */
const setupMs = new Map<string, number>();

/**
 * All three servers run at once, each with its own party of `size`; rounds go round-robin (the
 * order rotating), so whatever else the machine is doing falls on the three alike.
 */
async function fanout(servers: Map<Kind, Server>, size: number): Promise<Map<Kind, Latency>> {
  const parties: Array<{ kind: Kind; rounds: Rounds; peers: Peer[] }> = [];
  try {
    for (const [kind, server] of servers) {
      const rounds = new Rounds(size);
      parties.push({ kind, rounds, peers: [] });
      const t0 = performance.now();
      parties.at(-1)!.peers = await fleet(server, size, rounds);
      setupMs.set(`${kind}:${size}`, performance.now() - t0);
    }
    await takeRoundsInTurn(parties.map(({ rounds, peers }) => ({ rounds, host: peers[0]! })));
  } finally {
    for (const { peers } of parties) for (const peer of peers) peer.close();
  }
  const results = new Map<Kind, Latency>();
  for (const { kind, rounds } of parties) {
    const { samples } = rounds;
    results.set(kind, { p50: percentile(samples, 50), p99: percentile(samples, 99), samples: samples.length });
  }
  progress(`${size} participants: ${ROUNDS} rounds on each server`);
  await sleep(1_000);
  return results;
}

// ---------------------------------------------------------------------------------------------
// 2. Memory per connection

interface MemoryRow {
  before: Memory;
  /** ours only: after the REST joins, before any socket */
  joined?: Memory;
  after: Memory;
  connections: number;
}

async function memory(kind: Kind): Promise<MemoryRow> {
  const server = await startServer(kind);
  const peers: Peer[] = [];
  try {
    await sleep(1_000);
    const before = await snapshot(server);
    let joined: Memory | undefined;
    if (kind === 'ours') {
      const parties = await pool(range(MEM_PARTIES), 5, (p) =>
        prepareParty(server.httpBase, `mem${p}`, MEM_PER_PARTY, 10),
      );
      joined = await snapshot(server);
      progress(`${LABEL[kind]}: ${MEM_PARTIES} parties created, ${MEM_PARTIES * (MEM_PER_PARTY - 1)} joins`);
      const sockets = parties.flatMap((party) => party.tokens.map((token) => ({ party, token })));
      peers.push(
        ...(await pool(sockets, CONNECT_CONCURRENCY, ({ party, token }) =>
          openWs(partySocketUrl(server.httpBase, party.id), bearerProtocols(token), 0, null),
        )),
      );
    } else {
      const slots = range(MEM_PARTIES * MEM_PER_PARTY).map((i) => roomId(1_000_000 + Math.floor(i / MEM_PER_PARTY)));
      peers.push(
        ...(await pool(slots, CONNECT_CONCURRENCY, (room) =>
          kind === 'raw' ? openWs(`${server.wsBase}/r/${room}`, [], 0, null) : openIo(server.httpBase, room, 0, null),
        )),
      );
    }
    progress(`${LABEL[kind]}: ${peers.length} sockets open`);
    await sleep(SETTLE_MS);
    const after = await snapshot(server);
    return { before, ...(joined ? { joined } : {}), after, connections: peers.length };
  } finally {
    await server.stop();
    for (const peer of peers) peer.close();
    await sleep(500);
  }
}

// ---------------------------------------------------------------------------------------------

// The many-parties mode: npm run bench:party -- --parties 100 --sockets 10000 [--seconds 20] [--clients 2]
const argv = process.argv.slice(2);
const flag = (name: string): number | undefined => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? Number(argv[at + 1]) : undefined;
};
const manyParties = flag('parties');
if (manyParties !== undefined) {
  try {
    await benchMany({
      parties: manyParties,
      sockets: flag('sockets') ?? manyParties * 100,
      seconds: flag('seconds') ?? 20,
      clients: flag('clients') ?? 2,
      cpuProfileDir: process.env.BENCH_CPU_PROFILE,
      progress,
    });
  } finally {
    await closeFakes();
    removeProbes();
  }
  process.exit(0);
}

const busyCores = Number(process.env.BENCH_BUSY_CORES ?? 0);
const busy = Array.from({ length: busyCores }, () =>
  spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }),
);
if (busyCores) progress(`${busyCores} busy-loop process(es) keep a core busy during the fan-out`);
const started = performance.now();
const loadBefore = loadAverage();
const latency = new Map<number, Map<Kind, Latency>>();
try {
  const servers = new Map<Kind, Server>();
  try {
    for (const kind of ['raw', 'ours', 'io'] as const) servers.set(kind, await startServer(kind));
    for (const size of SIZES) latency.set(size, await fanout(servers, size));
  } finally {
    for (const server of servers.values()) await server.stop();
    for (const loop of busy) loop.kill('SIGKILL');
  }
  const loadAfterFanout = loadAverage();
  const memoryRows = new Map<Kind, MemoryRow>();
  for (const kind of ['ours', 'raw', 'io'] as const) memoryRows.set(kind, await memory(kind));

  const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

  console.log(
    `host command → every participant received (p50 / p99 over participants × rounds)${busyCores ? `, with ${busyCores} core(s) kept busy by another process` : ''}:`,
  );
  console.log(
    '| participants | samples | raw ws floor | ours (bot process) | socket.io | ours ÷ floor | socket.io ÷ floor |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const size of SIZES) {
    const raw = latency.get(size)!.get('raw')!;
    const ours = latency.get(size)!.get('ours')!;
    const io = latency.get(size)!.get('io')!;
    console.log(
      `| ${size} | ${ours.samples} | ${ms(raw.p50)} / ${ms(raw.p99)} | ${ms(ours.p50)} / ${ms(ours.p99)} | ` +
        `${ms(io.p50)} / ${ms(io.p99)} | ${ratio(ours.p50, raw.p50)} / ${ratio(ours.p99, raw.p99)} | ` +
        `${ratio(io.p50, raw.p50)} / ${ratio(io.p99, raw.p99)} |`,
    );
  }
  console.log('');
  console.log('bringing a party in (before the rounds):');
  console.log(
    '| participants | raw ws floor: sockets | socket.io: sockets | ours: REST joins + sockets | ours: last join answer | ours: largest first `state` frame |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const [size, setup] of oursSetup) {
    console.log(
      `| ${size} | ${seconds(setupMs.get(`raw:${size}`))} | ${seconds(setupMs.get(`io:${size}`))} | ` +
        `${seconds(setup.joinsMs)} + ${seconds(setup.socketsMs)} | ${kib(setup.lastJoinAnswerBytes)} | ${kib(setup.largestStateFrameBytes)} |`,
    );
  }
  console.log(
    `load average (1/5/15 min) before: ${loadBefore}, after the fan-out: ${loadAfterFanout}, at the end: ${loadAverage()}`,
  );
  console.log('');
  console.log(
    `memory of the server process, ${MEM_PARTIES} parties × ${MEM_PER_PARTY} sockets, idle, after a full GC:`,
  );
  console.log(
    '| server | sockets | RSS before → after | RSS per connection | heap used before → after | heap per connection |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const [kind, row] of memoryRows) {
    const n = row.connections;
    console.log(
      `| ${LABEL[kind]} | ${n} | ${mib(row.before.rss)} → ${mib(row.after.rss)} | ${kib((row.after.rss - row.before.rss) / n)} | ` +
        `${mib(row.before.heapUsed)} → ${mib(row.after.heapUsed)} | ${kib((row.after.heapUsed - row.before.heapUsed) / n)} |`,
    );
  }
  const ours = memoryRows.get('ours');
  if (ours?.joined) {
    const n = ours.connections;
    console.log('');
    console.log(
      `ours, split: after the REST joins (no socket yet) RSS ${mib(ours.joined.rss)}, heap ${mib(ours.joined.heapUsed)}: ` +
        `joins ${kib((ours.joined.rss - ours.before.rss) / n)} RSS / ${kib((ours.joined.heapUsed - ours.before.heapUsed) / n)} heap, ` +
        `sockets ${kib((ours.after.rss - ours.joined.rss) / n)} RSS / ${kib((ours.after.heapUsed - ours.joined.heapUsed) / n)} heap per participant`,
    );
  }
  progress(`done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
} finally {
  await closeFakes();
  removeProbes();
}
// Client sockets closed above may still be in their closing handshakes; nothing is left to wait for.
process.exit(0);
