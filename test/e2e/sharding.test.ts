// SHARD_COUNT: the real bot runs two gateway shards in one process; each guild's commands reach
// the shard that holds it and are answered once, and the Parti listener is not duplicated.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBot, type BotProcess } from '../support/bot.js';
import { guildIdOnShard, startFakeDiscord, type FakeDiscord } from '../support/fakeDiscord.js';
import { startFakeParti, type FakeParti } from '../support/fakeParti.js';

let discord: FakeDiscord;
let parti: FakeParti;
let bot: BotProcess;

beforeAll(async () => {
  [discord, parti] = await Promise.all([startFakeDiscord(), startFakeParti()]);
  bot = await startBot({ discord, parti, env: { SHARD_COUNT: '2' } });
});
afterAll(async () => {
  await bot?.stop();
  await Promise.all([discord?.close(), parti?.close()]);
});

describe('SHARD_COUNT=2', () => {
  it('identifies two shards, answers each guild once from its shard, and listens to Parti once', async () => {
    expect(discord.identifies).toBe(2);
    await parti.waitForSubscription();
    expect(parti.wsClients).toBe(1);
    for (const shard of [0, 1]) {
      const guild = discord.addGuild({ id: guildIdOnShard(shard, 2), name: `on shard ${shard}` });
      const member = discord.makeUser({ username: `member${shard}` });
      // The new guild reaches the bot on its own shard; wait until that shard knows it.
      await bot.waitForLog((line) => line.msg === 'guild available' && line.guildId === guild.id, 10_000);
      const command = discord.command({
        guildId: guild.id,
        channelId: guild.channels[0]!.id,
        user: member,
        name: 'parti',
        subcommand: 'categories',
      });
      const reply = await command.reply();
      expect(reply.embeds[0]?.title).toBe('Parti categories');
      const callbacks = discord.requests.filter((r) => r.path.startsWith(`/interactions/${command.id}/`));
      expect(callbacks).toHaveLength(1);
      expect(callbacks[0]?.status).toBe(204);
    }
    expect((await bot.healthz()).status).toBe(200);
  });
});
