// The foundation, end to end: the real bot process (dist/index.js, what `npm start` runs) with the
// real discord.js, against the local fake Discord and fake Parti.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { openStore } from '../../src/store/index.js';
import { botEntry, botEnv, repoRoot, startBot, storeUrlFor, tempStoreFile } from '../support/bot.js';
import { startFakeDiscord, type FakeDiscord } from '../support/fakeDiscord.js';
import { startFakeParti, type FakeParti } from '../support/fakeParti.js';

const commandNames = ['alerts', 'help', 'parti', 'party'];

let discord: FakeDiscord;
let parti: FakeParti;

beforeAll(async () => {
  [discord, parti] = await Promise.all([startFakeDiscord(), startFakeParti()]);
  discord.addGuild({ name: 'Parti fans' });
});
afterAll(async () => {
  await Promise.all([discord?.close(), parti?.close()]);
});

function run(
  entry: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [entry], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stderr, stdout }));
  });
}

/** Opens the store the bot used, after it stopped: proof it was left readable. */
async function readCommandsHash(storeFile: string, applicationId: string): Promise<unknown> {
  const store = await openStore(storeUrlFor(storeFile), createLogger('silent'));
  try {
    return await store.meta.get(`commands:${applicationId}:global`);
  } finally {
    await store.close();
  }
}

describe('starting and stopping the bot', () => {
  it('refuses to start without DISCORD_TOKEN, with one line saying what to set', async () => {
    const env = botEnv({ parti }, tempStoreFile());
    delete env.DISCORD_TOKEN;
    const { code, stderr, stdout } = await run(botEntry, env);
    expect(code).not.toBe(0);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/DISCORD_TOKEN is not set: set DISCORD_TOKEN in \.env or the environment/);
    expect(stdout).toBe('');
  });

  it('logs in, turns healthy, registers commands once, and exits 0 on SIGTERM with a readable store', async () => {
    const storeFile = tempStoreFile();
    const putsBefore = discord.commandPuts();
    // Hold the gateway handshake so the health check can be seen before Discord is ready.
    const release = discord.holdIdentify();
    const bot = await startBot({ discord, parti, storeFile, waitReady: false });
    const before = await bot.healthz();
    expect(before.status).toBe(503);
    expect(before.body).toMatchObject({ status: 'starting', discord: 'connecting', store: 'open' });
    release();
    await bot.waitForLog('slash commands registered');
    await expect.poll(async () => (await bot.healthz()).status).toBe(200);
    expect((await bot.healthz()).body).toMatchObject({ status: 'ok', discord: 'ready', store: 'open' });
    expect(discord.commandPuts()).toBe(putsBefore + 1);
    expect(
      discord
        .commands()
        .map((command: { name: string }) => command.name)
        .sort(),
    ).toEqual(commandNames);

    expect(await bot.stop('SIGTERM')).toBe(0);
    expect(bot.logs.some((line) => line.msg === 'stopped')).toBe(true);
    expect(await readCommandsHash(storeFile, discord.applicationId)).toMatch(/^[0-9a-f]{64}$/);

    // Same store, same commands: the restart registers nothing.
    const again = await startBot({ discord, parti, storeFile });
    expect(again.logs.some((line) => line.msg === 'slash commands unchanged, not registering')).toBe(true);
    expect(discord.commandPuts()).toBe(putsBefore + 1);
    expect(await again.stop('SIGINT')).toBe(0);
  });

  it('on SIGTERM lets a running command answer, turns a new one away, and exits 0 within 10 s', async () => {
    const guild = discord.addGuild({ name: 'Night shift' });
    const channelId = guild.channels[0]!.id;
    const member = discord.makeUser({ username: 'asker' });
    const user = (query: string) =>
      discord.command({
        guildId: guild.id,
        channelId,
        user: member,
        name: 'parti',
        subcommand: 'user',
        options: { query },
      });
    const bot = await startBot({ discord, parti });
    // Parti takes 2.5 s to answer the profile: the command is still running when the signal comes.
    parti.fault('user_profile', { kind: 'slow', ms: 2_500 }, { times: 1 });
    const running = user('353044');
    await expect.poll(() => parti.requests.some((r) => r.path.endsWith('/user_profile/353044'))).toBe(true);
    const signalledAt = Date.now();
    bot.child.kill('SIGTERM');
    await bot.waitForLog('shutting down');

    const late = user('123456');
    const refused = await late.reply();
    expect(refused.ephemeral).toBe(true);
    expect(refused.content).toBe('The bot is restarting. Please try again in a few seconds.');
    const answer = await running.reply(10_000);
    expect(answer.ephemeral).toBe(false);
    expect(answer.embeds[0]?.title).toBe('BalthierGR');
    expect(answer.embeds[0]?.url).toBe('https://parti.com/KickBalthierGR');

    expect(await bot.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(10_000);
    // The command that came after the signal was not started: it never asked Parti anything.
    expect(parti.requests.some((r) => r.path.includes('123456'))).toBe(false);
  });

  it('`npm run deploy` registers the commands even when they did not change', async () => {
    const storeFile = tempStoreFile();
    const bot = await startBot({ discord, parti, storeFile });
    expect(await bot.stop()).toBe(0);
    const putsBefore = discord.commandPuts();
    const { code, stderr } = await run(`${repoRoot}/dist/deploy.js`, botEnv({ discord, parti }, storeFile));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(discord.commandPuts()).toBe(putsBefore + 1);
  });

  it('registers to one guild when DISCORD_GUILD_ID is set', async () => {
    const guild = discord.addGuild({ name: 'Dev server' });
    const bot = await startBot({ discord, parti, env: { DISCORD_GUILD_ID: guild.id } });
    expect(
      discord
        .commands(guild.id)
        .map((command: { name: string }) => command.name)
        .sort(),
    ).toEqual(commandNames);
    expect(await bot.stop()).toBe(0);
  });

  it('answers /help, and stays up when a member runs a command it does not know', async () => {
    const bot = await startBot({ discord, parti });
    const guild = discord.addGuild({ name: 'Help desk' });
    const member = discord.makeUser({ username: 'newcomer' });
    const channelId = guild.channels[0]!.id;
    const help = await discord.command({ guildId: guild.id, channelId, user: member, name: 'help' }).reply();
    expect(help.ephemeral).toBe(true);
    expect(help.embeds[0]?.title).toBe('Parti bot');
    expect(help.embeds[0]?.description).toContain('`/parti user query` — ');
    expect(help.embeds[0]?.description).toContain('`/parti live [category]` — Who is live now, most viewers first');

    const stale = await discord.command({ guildId: guild.id, channelId, user: member, name: 'retired' }).reply();
    expect(stale.ephemeral).toBe(true);
    expect((await bot.healthz()).status).toBe(200);
    expect(await bot.stop()).toBe(0);
  });
});
