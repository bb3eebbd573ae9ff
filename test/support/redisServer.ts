// vitest global setup for the Redis project: a throwaway redis-server on a free loopback port,
// no persistence, stopped when the run ends. The same end-to-end suites then run with
// STORE_URL=redis://… (see storeUrlFor in test/support/bot.ts).
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './freePort.js';

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A throwaway redis-server on a free loopback port, without persistence. */
export async function startRedisServer(): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  let failure: Error | undefined;
  child.once('error', (error) => {
    failure = new Error(`cannot start redis-server (apt-get install -y redis-server): ${error.message}`);
  });
  child.once('exit', (code) => {
    failure ??= new Error(`redis-server exited with code ${code}`);
  });
  for (let attempt = 0; !(await accepts(port)); attempt += 1) {
    if (failure) throw failure;
    if (attempt > 100) throw new Error('redis-server did not start listening within 5 s');
    await sleep(50);
  }
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

export default async function setup(): Promise<() => void> {
  const server = await startRedisServer();
  // Test workers are forked after global setup and inherit this.
  process.env.TEST_REDIS_URL = server.url;
  return server.stop;
}
