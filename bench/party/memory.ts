// Memory of a server process under test, read the same way for every benchmark: a preload in the
// server answers SIGUSR2 with process.memoryUsage() after two full GCs, written to a file, and RSS is
// read from /proc/<pid>/status. Start the server with `--require ${probeScript}` (for the bot:
// NODE_OPTIONS) and BENCH_PROBE_FILE set to a file of its own (probeFileFor).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const probeDir = mkdtempSync(join(tmpdir(), 'party-bench-'));
export const probeScript = join(probeDir, 'probe.cjs');
writeFileSync(
  probeScript,
  `const fs = require('node:fs');
require('node:v8').setFlagsFromString('--expose-gc');
const gc = require('node:vm').runInNewContext('gc');
let n = 0;
process.on('SIGUSR2', () => {
  gc();
  gc();
  const out = process.env.BENCH_PROBE_FILE;
  fs.writeFileSync(out + '.tmp', JSON.stringify({ n: ++n, ...process.memoryUsage() }));
  fs.renameSync(out + '.tmp', out);
});
// SIGWINCH starts a CPU profile, and the next one writes it to BENCH_PROBE_FILE + '.cpuprofile'.
const inspector = require('node:inspector');
let session = null;
process.on('SIGWINCH', () => {
  if (!session) {
    session = new inspector.Session();
    session.connect();
    session.post('Profiler.enable');
    session.post('Profiler.setSamplingInterval', { interval: 200 });
    session.post('Profiler.start');
    return;
  }
  session.post('Profiler.stop', (error, result) => {
    if (!error) fs.writeFileSync(process.env.BENCH_PROBE_FILE + '.cpuprofile', JSON.stringify(result.profile));
    session.disconnect();
    session = null;
  });
});
`,
);

let probes = 0;
/** A file of its own for one server's probe. */
export const probeFileFor = (name: string): string => join(probeDir, `${name}-${++probes}.json`);

export interface Memory {
  rss: number;
  heapUsed: number;
}

function readProbe(file: string): (Memory & { n: number }) | null {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Memory & { n: number }) : null;
}

/** RSS and heap of a server process right after two full GCs there. */
export async function memoryOf(pid: number, probeFile: string): Promise<Memory> {
  const seen = readProbe(probeFile)?.n ?? 0;
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 10_000;
  let probe = readProbe(probeFile);
  while ((probe?.n ?? 0) <= seen) {
    if (Date.now() > deadline) throw new Error(`process ${pid} did not report its memory`);
    await sleep(20);
    probe = readProbe(probeFile);
  }
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? Number.NaN);
  return { rss: rssKb * 1024, heapUsed: probe!.heapUsed };
}

/** Removes the probe files when the benchmark is done. */
export const removeProbes = (): void => rmSync(probeDir, { recursive: true, force: true });
