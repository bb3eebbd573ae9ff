// The three servers bench:party compares, each its own process on 127.0.0.1, each with the memory
// probe preloaded (memory.ts):
//   - ours: the real bot process (dist/index.js via startBot, against the fake Discord and fake
//     Parti) with PARTY_SECRET set, so the benchmark signs member tokens with the same key;
//   - raw ws floor: rawServer.ts, one pre-serialized frame sent to every socket;
//   - socket.io: ioServer.ts, one room per party, `io.to(room).emit(…)`.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot, startBot } from '../../test/support/bot.js';
import { startFakeDiscord, type FakeDiscord } from '../../test/support/fakeDiscord.js';
import { startFakeParti, type FakeParti } from '../../test/support/fakeParti.js';
import { SECRET } from './common.js';
import { probeFileFor, probeScript } from './memory.js';

export type Kind = 'raw' | 'ours' | 'io';
export const LABEL: Record<Kind, string> = { raw: 'raw ws floor', ours: 'ours (bot process)', io: 'socket.io' };

export interface Server {
  kind: Kind;
  pid: number;
  httpBase: string;
  wsBase: string;
  probeFile: string;
  /** Ours: its sqlite file, to read what the bot stored. */
  storeFile?: string;
  stop(): Promise<void>;
}

let fakes: Promise<[FakeDiscord, FakeParti]> | undefined;

/** The fakes the bot talks to, started once. */
export const benchFakes = (): Promise<[FakeDiscord, FakeParti]> =>
  (fakes ??= Promise.all([startFakeDiscord(), startFakeParti()]));

export async function closeFakes(): Promise<void> {
  if (!fakes) return;
  const [discord, parti] = await fakes;
  await Promise.all([discord.close(), parti.close()]);
}

/**
 * Starts a server. `env` is added to the bot's: the limits a benchmark needs raised (its parties all
 * come from 127.0.0.1, its hosts seek faster than a person), and nothing else changed.
 */
export async function startServer(kind: Kind, env: Record<string, string> = {}): Promise<Server> {
  const probeFile = probeFileFor(kind);
  if (kind === 'ours') {
    const [discord, parti] = await benchFakes();
    const bot = await startBot({
      discord,
      parti,
      env: {
        LOG_LEVEL: 'info',
        PARTY_SECRET: SECRET,
        NODE_OPTIONS: [`--require ${probeScript}`, env.NODE_OPTIONS].filter(Boolean).join(' '),
        BENCH_PROBE_FILE: probeFile,
        ...Object.fromEntries(Object.entries(env).filter(([key]) => key !== 'NODE_OPTIONS')),
      },
    });
    return {
      kind,
      pid: bot.child.pid!,
      httpBase: bot.url,
      wsBase: bot.url.replace(/^http/, 'ws'),
      probeFile,
      storeFile: bot.storeFile,
      async stop() {
        await bot.stop();
      },
    };
  }
  const file = join(repoRoot, 'bench/party', kind === 'raw' ? 'rawServer.ts' : 'ioServer.ts');
  const child = spawn(process.execPath, ['--require', probeScript, '--import', 'tsx', file], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, BENCH_PROBE_FILE: probeFile },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${kind} server did not start`)), 20_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /^listening (\d+)$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    void exited.then(() => reject(new Error(`${kind} server exited`)));
  });
  return {
    kind,
    pid: child.pid!,
    httpBase: `http://127.0.0.1:${port}`,
    wsBase: `ws://127.0.0.1:${port}`,
    probeFile,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
