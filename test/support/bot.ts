// Starts the real bot process (dist/index.js, the entry `npm start` runs) against the local fakes,
// with its own temporary sqlite file, and reads its structured logs.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const botEntry = join(repoRoot, 'dist/index.js');

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface BotProcess {
  child: ChildProcess;
  /** base URL of the bot's HTTP server */
  url: string;
  port: number;
  storeFile: string;
  logs: LogLine[];
  stderr: string[];
  waitForLog(match: string | RegExp | ((line: LogLine) => boolean), timeoutMs?: number): Promise<LogLine>;
  healthz(): Promise<{ status: number; body: Record<string, unknown> }>;
  /** A sample's value from GET /metrics (0 when absent), e.g. metric('x_total', { route: 'live' }). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** SIGTERM (or another signal) and the exit code */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export interface StartBotOptions {
  discord?: { apiUrl: string; token: string };
  /** Every base is handed to the bot, in order, as PARTI_API_URL and PARTI_MEDIA_URL lists. */
  parti?: { apiUrls: readonly string[]; wsUrl: string; mediaUrls: readonly string[] };
  /** reuse a store file (restart tests); defaults to a fresh temporary one */
  storeFile?: string;
  env?: Record<string, string | undefined>;
  /** wait until /healthz is 200 and slash commands are settled (default true) */
  waitReady?: boolean;
  entry?: string;
}

/**
 * The STORE_URL a bot started with `storeFile` uses: that sqlite file, or, when the suite runs
 * against Redis (TEST_STORE=redis, see test/support/redisServer.ts), a key prefix derived from it,
 * so a restart on the same `storeFile` finds the same state.
 */
export function storeUrlFor(storeFile: string): string {
  if (process.env.TEST_STORE === 'redis') {
    const redis = process.env.TEST_REDIS_URL;
    if (!redis) throw new Error('TEST_STORE=redis needs TEST_REDIS_URL (set by test/support/redisServer.ts)');
    return `${redis}?prefix=${createHash('sha256').update(storeFile).digest('hex').slice(0, 16)}`;
  }
  return `sqlite://${storeFile}`;
}

export function tempStoreFile(): string {
  return join(mkdtempSync(join(tmpdir(), 'parti-bot-')), 'store.sqlite');
}

/** Env for a bot process: nothing from the developer's shell leaks in but PATH and HOME. */
export function botEnv(options: StartBotOptions, storeFile: string): Record<string, string> {
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DISCORD_TOKEN: options.discord?.token,
    DISCORD_API_URL: options.discord?.apiUrl,
    PARTI_API_URL: options.parti?.apiUrls.join(','),
    PARTI_WS_URL: options.parti?.wsUrl,
    PARTI_MEDIA_URL: options.parti?.mediaUrls.join(','),
    STORE_URL: storeUrlFor(storeFile),
    HTTP_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: 'debug',
    // The fake Parti and the tests' media servers are on 127.0.0.1.
    MEDIA_ALLOW_PRIVATE: 'true',
    ...options.env,
  };
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

function matcher(match: string | RegExp | ((line: LogLine) => boolean)): (line: LogLine) => boolean {
  if (typeof match === 'function') return match;
  if (typeof match === 'string') return (line) => line.msg === match;
  return (line) => match.test(line.msg);
}

export async function startBot(options: StartBotOptions = {}): Promise<BotProcess> {
  const storeFile = options.storeFile ?? tempStoreFile();
  const child = spawn(process.execPath, [options.entry ?? botEntry], {
    cwd: repoRoot,
    env: botEnv(options, storeFile),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const stderr: string[] = [];
  const waiters = new Set<{ test: (line: LogLine) => boolean; resolve: (line: LogLine) => void }>();
  createInterface({ input: child.stdout }).on('line', (text) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      line = { level: 30, msg: text };
    }
    logs.push(line);
    if (process.env.BOT_LOGS) console.log('[bot]', text);
    for (const waiter of waiters) if (waiter.test(line)) waiter.resolve(line);
  });
  createInterface({ input: child.stderr }).on('line', (text) => {
    stderr.push(text);
    if (process.env.BOT_LOGS) console.error('[bot stderr]', text);
  });
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));

  const waitForLog: BotProcess['waitForLog'] = (match, timeoutMs = 15_000) => {
    const test = matcher(match);
    const found = logs.find(test);
    if (found) return Promise.resolve(found);
    return new Promise((resolveLine, reject) => {
      const waiter = {
        test,
        resolve: (line: LogLine) => {
          clearTimeout(timer);
          waiters.delete(waiter);
          resolveLine(line);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(
          new Error(
            `bot did not log ${String(match)} within ${timeoutMs} ms; last lines:\n` +
              logs
                .slice(-15)
                .map((line) => JSON.stringify(line))
                .join('\n') +
              (stderr.length ? `\nstderr:\n${stderr.slice(-10).join('\n')}` : ''),
          ),
        );
      }, timeoutMs);
      waiters.add(waiter);
      void exited.then(() => {
        if (waiters.has(waiter)) {
          clearTimeout(timer);
          waiters.delete(waiter);
          reject(new Error(`bot exited before logging ${String(match)}; stderr:\n${stderr.join('\n')}`));
        }
      });
    });
  };

  const listening = await waitForLog('http server listening');
  const port = Number(listening.port);
  const url = `http://127.0.0.1:${port}`;
  const bot: BotProcess = {
    child,
    url,
    port,
    storeFile,
    logs,
    stderr,
    waitForLog,
    exited,
    async healthz() {
      const response = await fetch(`${url}/healthz`);
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
    async metric(name, labels = {}) {
      const text = await (await fetch(`${url}/metrics`)).text();
      const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
      let total = 0;
      for (const line of text.split('\n')) {
        const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
        if (!match || match[1] !== name) continue;
        const have = match[2] ?? '';
        if (wanted.every((pair) => have.split(',').includes(pair))) total += Number(match[3]);
      }
      return total;
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  if (options.waitReady ?? true) {
    await waitForLog(/^slash commands (registered|unchanged)/, 20_000);
    const deadline = Date.now() + 10_000;
    while ((await bot.healthz()).status !== 200) {
      if (Date.now() > deadline) throw new Error('bot never became healthy');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return bot;
}
