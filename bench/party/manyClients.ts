// One client process of bench:party's many-parties mode (bench/party/many.ts): it holds whole parties,
// host and viewers, so a delivery is timed on one clock (performance.now() here) from the host's send
// to each viewer's arrival. Every host sends a seek with a new position once a second, the hosts'
// phases spread over the second. Talks to its parent on stdin/stdout, one JSON line each way:
//   in  { kind, parties: [{ url, protocols[] per socket, io?: { base, room } }], seconds }
//   out { ready: sockets } once every socket has its state; then, after `go` on stdin and the run,
//   { samples: number[], rateLimited: number, sent: number }
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { io as ioClient, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { pool } from './common.js';

interface PartySpec {
  /** One entry per socket, the host first: a ws URL and its subprotocols, or a socket.io room. */
  sockets: Array<{ url: string; protocols: string[] } | { base: string; room: string }>;
}
interface Job {
  parties: PartySpec[];
  seconds: number;
}

interface Client {
  send(position: number): void;
  close(): void;
}

const lines = createInterface({ input: process.stdin });
const next = (): Promise<string> => new Promise((resolve) => lines.once('line', resolve));
const job = JSON.parse(await next()) as Job;

const samples: number[] = [];
let rateLimited = 0;
let sent = 0;

/** Per party: when each position was sent (by its host, in this process). */
function open(spec: PartySpec['sockets'][number], sentAt: Map<number, number>, isHost: boolean): Promise<Client> {
  return new Promise((resolve, reject) => {
    const arrived = (message: { type?: string; position?: unknown; code?: string }) => {
      if (message.type === 'seek' && !isHost) {
        const at = sentAt.get(message.position as number);
        if (at !== undefined) samples.push(performance.now() - at);
      } else if (message.type === 'error' && message.code === 'RATE_LIMITED') rateLimited += 1;
    };
    const timer = setTimeout(() => reject(new Error('no state within 60 s')), 60_000);
    if ('room' in spec) {
      const socket: Socket = ioClient(spec.base, {
        transports: ['websocket'],
        forceNew: true,
        reconnection: false,
        timeout: 60_000,
        auth: { room: spec.room },
      });
      socket.on('seek', arrived);
      socket.once('state', () => {
        clearTimeout(timer);
        resolve({
          send: (position) => socket.emit('seek', { type: 'seek', position }),
          close: () => socket.disconnect(),
        });
      });
      socket.once('connect_error', reject);
      return;
    }
    const ws = new WebSocket(spec.url, spec.protocols, { perMessageDeflate: false });
    let ready = false;
    ws.on('message', (data) => {
      const message = JSON.parse((data as Buffer).toString('utf8')) as { type?: string };
      if (!ready && message.type === 'state') {
        ready = true;
        clearTimeout(timer);
        resolve({
          send: (position) => ws.send(JSON.stringify({ type: 'seek', position })),
          close: () => ws.terminate(),
        });
        return;
      }
      arrived(message);
    });
    ws.on('error', reject);
    ws.on('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
  });
}

const parties = job.parties.map((spec) => ({ spec, sentAt: new Map<number, number>(), clients: [] as Client[] }));
const all = parties.flatMap((party) => party.spec.sockets.map((socket, i) => ({ party, socket, isHost: i === 0 })));
await pool(all, 100, async ({ party, socket, isHost }) => {
  const client = await open(socket, party.sentAt, isHost);
  if (isHost) party.clients.unshift(client);
  else party.clients.push(client);
});
console.log(JSON.stringify({ ready: all.length }));
await next();

// Each host once a second, their phases spread evenly over the second.
let position = 1;
await new Promise<void>((resolve) => {
  const timers = parties.map((party, i) =>
    setTimeout(
      () => {
        const tick = () => {
          const p = position++;
          party.sentAt.set(p, performance.now());
          sent += 1;
          party.clients[0]!.send(p);
        };
        tick();
        timers.push(setInterval(tick, 1000));
      },
      (i * 1000) / parties.length,
    ),
  );
  setTimeout(() => {
    for (const timer of timers) clearTimeout(timer);
    resolve();
  }, job.seconds * 1000);
});
// Late arrivals of the last round.
await new Promise((resolve) => setTimeout(resolve, 1000));
for (const party of parties) for (const client of party.clients) client.close();
// A pipe takes a large write in pieces: exit only once all of it is out.
const report = JSON.stringify({ samples: samples.map((value) => Math.round(value * 1000) / 1000), rateLimited, sent });
process.stdout.write(`${report}\n`, () => process.exit(0));
