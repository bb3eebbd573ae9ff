// Benchmark: go-live alert delivery through the real bot process.
// 1. push → Discord POST latency for one subscription (a category subscription, so each of many
//    distinct creators going live is one alert), measured in this process on one clock: from the
//    fake Parti pushing to the fake Discord receiving the POST.
// 2. fan-out of one go-live to 2,000 subscribed channels against the fake Discord enforcing
//    Discord's global 50 requests/s: the achieved rate ÷ 50, and how many 429s the bot caused.
// Run: npm run bench:alerts
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { SubscriptionStore } from '../src/alerts/subscriptions.js';
import { createLogger } from '../src/logger.js';
import { openStore } from '../src/store/index.js';
import { startBot, tempStoreFile } from '../test/support/bot.js';
import { startFakeDiscord } from '../test/support/fakeDiscord.js';
import { startFakeParti } from '../test/support/fakeParti.js';

const LATENCY_ALERTS = 200;
const FANOUT_CHANNELS = 2_000;
const CHANNELS_PER_GUILD = 50;
const CREATOR = 353044;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const [discord, parti] = await Promise.all([startFakeDiscord(), startFakeParti()]);
parti.clearLive();

// Seed the subscriptions straight into the store file the bot will open, as /alerts add would.
const storeFile = tempStoreFile();
const seedStore = await openStore(`sqlite://${storeFile}`, createLogger('silent'));
const subscriptions = new SubscriptionStore(seedStore.guilds);
const latencyGuild = discord.addGuild({ name: 'latency', channels: [{ name: 'alerts' }] });
const latencyChannel = latencyGuild.channel('alerts').id;
await subscriptions.upsert(
  {
    guildId: latencyGuild.id,
    channelId: latencyChannel,
    target: { kind: 'category', categoryId: 10, name: 'Music' },
    createdBy: 'bench',
  },
  50,
);
const fanoutChannels: string[] = [];
for (let g = 0; g < FANOUT_CHANNELS / CHANNELS_PER_GUILD; g += 1) {
  const guild = discord.addGuild({
    name: `fanout-${g}`,
    channels: Array.from({ length: CHANNELS_PER_GUILD }, (_, c) => ({ name: `alerts-${c}` })),
  });
  for (const channel of guild.channels) {
    fanoutChannels.push(channel.id);
    await subscriptions.upsert(
      {
        guildId: guild.id,
        channelId: channel.id,
        target: { kind: 'creator', userId: CREATOR, name: 'BalthierGR' },
        createdBy: 'bench',
      },
      CHANNELS_PER_GUILD,
    );
  }
}
await seedStore.close();

const bot = await startBot({
  discord,
  parti,
  storeFile,
  env: { LOG_LEVEL: 'info', ALERT_POLL_SECONDS: '3600', ALERT_CATEGORY_CAP_PER_HOUR: '1000' },
});
await parti.waitForSubscription();

// 1. Latency, one alert at a time.
const latencies: number[] = [];
for (let i = 0; i < LATENCY_ALERTS; i += 1) {
  const userId = 900_000 + i;
  const posted = discord.waitForRequest(
    (r) =>
      r.method === 'POST' &&
      r.path === `/channels/${latencyChannel}/messages` &&
      JSON.stringify(r.body).includes(`Song ${i}"`),
    10_000,
  );
  const started = performance.now();
  parti.goLive(userId, { user_name: `Singer${i}`, category_name: 'Music', event_title: `Song ${i}` });
  await posted;
  latencies.push(performance.now() - started);
  // One at a time, well under the rate limit: this row is about latency, not throughput.
  await sleep(50);
}

// 2. Fan-out of one go-live to every channel.
const postTimes: number[] = [];
const fanoutSet = new Set(fanoutChannels);
const before429 = discord.rateLimited429s;
const started = performance.now();
parti.goLive(CREATOR, { event_title: 'Fan-out', category_name: 'Gaming' });
const deadline = Date.now() + 180_000;
let delivered = 0;
let lastSeen = 0;
while (delivered < FANOUT_CHANNELS && Date.now() < deadline) {
  await sleep(100);
  const posts = discord.requests.filter(
    (r) => r.method === 'POST' && r.status === 200 && fanoutSet.has(r.path.split('/')[2] ?? ''),
  );
  delivered = posts.length;
  if (posts.length > lastSeen) {
    for (const post of posts.slice(lastSeen)) postTimes.push(post.at);
    lastSeen = posts.length;
  }
}
const elapsedS = (performance.now() - started) / 1000;
const spanS = postTimes.length > 1 ? (Math.max(...postTimes) - Math.min(...postTimes)) / 1000 : Number.NaN;
const rate = (delivered - 1) / spanS;
const extra = discord.requests.filter((r) => r.method === 'POST' && fanoutSet.has(r.path.split('/')[2] ?? '')).length;
await bot.stop();
await Promise.all([discord.close(), parti.close()]);

const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
console.log('push → Discord POST, one subscription:');
console.log('| alerts | p50 | p99 | max |');
console.log('| --- | --- | --- | --- |');
console.log(
  `| ${latencies.length} | ${fmt(percentile(latencies, 50))} | ${fmt(percentile(latencies, 99))} | ${fmt(Math.max(...latencies))} |`,
);
console.log('');
console.log(`fan-out of one go-live to ${FANOUT_CHANNELS} channels, fake Discord enforcing 50 requests/s:`);
console.log(
  '| channels alerted | POSTs sent | first → last post | achieved rate | rate ÷ 50 | 429s | push → last post |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
console.log(
  `| ${delivered} | ${extra} | ${spanS.toFixed(1)} s | ${rate.toFixed(1)} /s | ${(rate / 50).toFixed(3)} | ${discord.rateLimited429s - before429} | ${elapsedS.toFixed(1)} s |`,
);
