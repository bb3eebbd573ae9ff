// The churn of bench/abuse.ts, in a process of its own so its work does not slow the clients whose
// latency is measured: CYCLES guests join a public party by its invite code and leave it again, a
// few at a time, as fast as the server answers. Prints one line, `done <cycles> <ms>`.
// Run by bench/abuse.ts: tsx bench/party/churn.ts <httpBase> <code> <partyId> <cycles> <concurrency>
import { performance } from 'node:perf_hooks';
import { pool, range } from './common.js';

const [base, code, partyId, cyclesText, concurrencyText] = process.argv.slice(2);
if (!base || !code || !partyId) throw new Error('usage: churn.ts <httpBase> <code> <partyId> <cycles> <concurrency>');
const API = `${base}/api/v1/watch-parties`;
const started = performance.now();

await pool(range(Number(cyclesText ?? 10_000)), Number(concurrencyText ?? 4), async (i) => {
  const joined = await fetch(`${API}/${code}/guest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ display_name: `Passer-by ${i} with a name of some length` }),
  });
  if (joined.status !== 201) throw new Error(`guest join ${i}: HTTP ${joined.status} ${await joined.text()}`);
  const { data } = (await joined.json()) as { data: { token: string } };
  const left = await fetch(`${API}/${partyId}/leave`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${data.token}` },
  });
  if (left.status !== 200) throw new Error(`leave ${i}: HTTP ${left.status} ${await left.text()}`);
});
console.log(`done ${cyclesText ?? 10_000} ${Math.round(performance.now() - started)}`);
