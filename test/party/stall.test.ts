// A host within the documented command rate is never refused because the server was slow: messages
// read together after a stall of the server's own arrived spread over it (stallClock.ts). The host is
// a process of its own, so its messages keep coming while this process, the server, is held up.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeParti, type FakeParti } from '../support/fakeParti.js';
import { api, startStack, tokenFor, type Stack } from './harness.js';

let fake: FakeParti;
let stack: Stack;
beforeAll(async () => {
  fake = await startFakeParti();
  stack = await startStack(fake);
});
afterAll(async () => {
  await stack?.close();
  await fake?.close();
});

// Seeks every 500 ms (the default budget is 2 a second) for 8 s; prints what came back, as JSON.
const HOST = `
const WebSocket = require('ws');
const [url, token] = process.argv.slice(1);
const ws = new WebSocket(url, ['watch-party.v1', 'bearer.' + token]);
const got = { seeks: 0, refused: [] };
ws.on('message', (data) => {
  const m = JSON.parse(String(data));
  if (m.type === 'seek') got.seeks++;
  if (m.type === 'error') got.refused.push(m.code);
});
ws.on('open', () => {
  let n = 0;
  const timer = setInterval(() => {
    ws.send(JSON.stringify({ type: 'seek', position: ++n }));
    if (n === 16) {
      clearInterval(timer);
      setTimeout(() => { console.log(JSON.stringify(got)); process.exit(0); }, 1500);
    }
  }, 500);
});
`;

describe('a stall of the server', () => {
  it('does not cost a host sending at the documented rate a single command', async () => {
    const hostToken = await tokenFor(stack, 'steady-host', 'Host');
    const created = await api(stack, 'POST', '', {
      token: hostToken,
      body: { source: 'https://cdn.example/movie.m3u8' },
    });
    const { id, token } = created.body.data as { id: string; token: string };
    const child = spawn(process.execPath, ['-e', HOST, `${stack.wsBase}/api/v1/watch-parties/${id}/ws`, token], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // The server is held up for 6 s: twelve seeks queue up, more than the burst of ten.
    const until = Date.now() + 6000;
    while (Date.now() < until) {
      // a stall: a long synchronous job, a huge GC, a frozen VM
    }
    await exited;
    const got = JSON.parse(out) as { seeks: number; refused: string[] };
    expect(got.refused).toEqual([]);
    expect(got.seeks).toBe(16);
  }, 20_000);
});
