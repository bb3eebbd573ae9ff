// Benchmark: 20 members ask `/parti user` for the same creator at once, through the fake Discord,
// against the real bot process and the fake Parti. Reports upstream requests per Parti route and
// the reply latency members see, cold (empty cache) and warm (cached).
// Run: npm run bench:lookups
import { performance } from 'node:perf_hooks';
import { startBot } from '../test/support/bot.js';
import { startFakeDiscord } from '../test/support/fakeDiscord.js';
import { startFakeParti } from '../test/support/fakeParti.js';

const MEMBERS = 20;
const WARM_ROUNDS = 10;
const SINGLES = 100;
const USER_ID = '353044';

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const [discord, parti] = await Promise.all([startFakeDiscord({ globalRateLimit: 0 }), startFakeParti()]);
const guild = discord.addGuild({ name: 'bench' });
const channelId = guild.channels[0]!.id;
const members = Array.from({ length: MEMBERS }, (_, i) => discord.makeUser({ username: `member${i}` }));
const bot = await startBot({ discord, parti, env: { LOG_LEVEL: 'info' } });

async function ask(user: (typeof members)[number]): Promise<number> {
  const started = performance.now();
  const reply = await discord
    .command({ guildId: guild.id, channelId, user, name: 'parti', subcommand: 'user', options: { query: USER_ID } })
    .reply();
  if (reply.embeds[0]?.title !== 'BalthierGR') throw new Error(`unexpected reply: ${JSON.stringify(reply)}`);
  return performance.now() - started;
}

function round(): Promise<number[]> {
  return Promise.all(members.map(ask));
}

const routes = ['user_profile', 'channel_info', 'recent'] as const;
const before = Object.fromEntries(routes.map((route) => [route, parti.requestsTo(route)]));
const cold = await round();
const coldUpstream = Object.fromEntries(routes.map((route) => [route, parti.requestsTo(route) - before[route]!]));
const warm: number[] = [];
for (let i = 0; i < WARM_ROUNDS; i += 1) warm.push(...(await round()));
const warmUpstream = Object.fromEntries(
  routes.map((route) => [route, parti.requestsTo(route) - before[route]! - coldUpstream[route]!]),
);
const single: number[] = [];
for (let i = 0; i < SINGLES; i += 1) single.push(await ask(members[i % MEMBERS]!));
await bot.stop();
await Promise.all([discord.close(), parti.close()]);

const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
console.log(`| case | replies | upstream requests (profile / channel info / recent) | p50 | p99 | max |`);
console.log(`| --- | --- | --- | --- | --- | --- |`);
console.log(
  `| cold: ${MEMBERS} members at once, empty cache | ${cold.length} | ${coldUpstream.user_profile} / ${coldUpstream.channel_info} / ${coldUpstream.recent} | ${fmt(percentile(cold, 50))} | ${fmt(percentile(cold, 99))} | ${fmt(Math.max(...cold))} |`,
);
console.log(
  `| warm: ${WARM_ROUNDS} more rounds of ${MEMBERS} at once | ${warm.length} | ${warmUpstream.user_profile} / ${warmUpstream.channel_info} / ${warmUpstream.recent} | ${fmt(percentile(warm, 50))} | ${fmt(percentile(warm, 99))} | ${fmt(Math.max(...warm))} |`,
);
console.log(
  `| warm: one member at a time, ${SINGLES} times | ${single.length} | (cached) | ${fmt(percentile(single, 50))} | ${fmt(percentile(single, 99))} | ${fmt(Math.max(...single))} |`,
);
