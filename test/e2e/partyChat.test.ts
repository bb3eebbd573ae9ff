// A party's chat in Discord, end to end: the real bot opens a thread on the panel, posts what the page
// says there through a channel webhook (never pinging, escaped), shows what members write in the
// thread on the page (PARTY_CHAT_BRIDGE=thread), mirrors deletes both ways, and archives the thread
// at the end. Without the bridge, the bot never asks for the Message Content intent.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermissionFlagsBits } from 'discord.js';
import { startBot, tempStoreFile, type BotProcess } from '../support/bot.js';
import {
  button,
  DEFAULT_BOT_PERMISSIONS,
  startFakeDiscord,
  type FakeDiscord,
  type FakeGuild,
  type FakeMessage,
} from '../support/fakeDiscord.js';
import { startFakeParti, type FakeParti } from '../support/fakeParti.js';

const MESSAGE_CONTENT = 1 << 15;
const THREAD_READY =
  DEFAULT_BOT_PERMISSIONS | PermissionFlagsBits.CreatePublicThreads | PermissionFlagsBits.ManageWebhooks;

let discord: FakeDiscord;
let parti: FakeParti;
let bot: BotProcess;
let guild: FakeGuild;
let channelId: string;
let host: ReturnType<FakeDiscord['makeUser']>;
let viewer: ReturnType<FakeDiscord['makeUser']>;
const sockets: WebSocket[] = [];

interface Player {
  messages: any[];
  send(message: unknown): void;
  next(type: string, predicate?: (message: any) => boolean): Promise<any>;
}

async function connectPlayer(port: number, partyId: string, link: string): Promise<Player> {
  const token = new URLSearchParams(new URL(link).hash.slice(1)).get('token');
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/watch-parties/${partyId}/ws`, [
    'watch-party.v1',
    `bearer.${token}`,
  ]);
  sockets.push(ws);
  const messages: any[] = [];
  ws.on('message', (data) => messages.push(JSON.parse((data as Buffer).toString('utf8'))));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const taken = new Set<unknown>();
  const player: Player = {
    messages,
    send: (message) => ws.send(JSON.stringify(message)),
    async next(type, predicate = () => true) {
      let found: unknown;
      await expect
        .poll(() => (found = messages.find((m) => m.type === type && !taken.has(m) && predicate(m))), { timeout: 5000 })
        .toBeTruthy();
      taken.add(found);
      return found;
    },
  };
  await player.next('state');
  return player;
}

async function createParty(b: BotProcess, channel: string) {
  const reply = await discord
    .command({
      guildId: guild.id,
      channelId: channel,
      user: host,
      name: 'party',
      subcommand: 'create',
      options: { source: 'https://parti.com/video/80892', title: 'Chat night' },
    })
    .reply();
  const panel = await discord.waitForMessage(channel, (m) => m.embeds[0]?.title === '🎬 Chat night');
  const partyId = (button(panel, 'Play').custom_id as string).split(':')[2]!;
  const hostPlayer = await connectPlayer(b.port, partyId, button(reply, 'Open the player').url);
  const join = await discord
    .button({ message: panel, customId: button(panel, 'Join').custom_id, user: viewer })
    .reply();
  const viewerPlayer = await connectPlayer(b.port, partyId, button(join, 'Open the player').url);
  return { reply, panel, partyId, hostPlayer, viewerPlayer };
}

const threadMessages = (threadId: string): FakeMessage[] => discord.messages(threadId);

beforeAll(async () => {
  [discord, parti] = await Promise.all([startFakeDiscord(), startFakeParti()]);
  guild = discord.addGuild({ name: 'Movie night', channels: [{ name: 'watch' }, { name: 'locked' }] });
  channelId = guild.channel('watch').id;
  // What the README asks an admin to grant for party threads.
  discord.setBotPermissions(guild.id, THREAD_READY);
  host = discord.makeUser({ username: 'host' });
  viewer = discord.makeUser({ username: 'viewer', global_name: 'Vee' });
  bot = await startBot({
    discord,
    parti,
    storeFile: tempStoreFile(),
    env: { PUBLIC_URL: 'http://127.0.0.1:9', PARTY_CHAT_BRIDGE: 'thread' },
  });
}, 60_000);

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await bot?.stop();
  await Promise.all([discord?.close(), parti?.close()]);
});

describe('the party thread, bridge on', () => {
  let party: Awaited<ReturnType<typeof createParty>>;
  let threadId: string;

  it('opens a thread on the panel and posts what the page says there, by webhook, without pinging', async () => {
    party = await createParty(bot, channelId);
    const thread = discord.threads().find((t) => t.parent_id === channelId);
    expect(thread).toMatchObject({ id: party.panel.id, name: 'Chat night', type: 11 });
    threadId = thread!.id;
    expect(discord.webhooks().filter((w) => w.channel_id === channelId)).toHaveLength(1);
    expect(party.reply.content).not.toMatch(/Chat stays on the player page/);

    party.viewerPlayer.send({
      type: 'chat',
      message: 'hi @everyone <@' + host.id + '> **loud** [prize](https://evil.example)',
    });
    const shown = (await party.hostPlayer.next('chat_message')).chat_message;
    expect(shown).toMatchObject({ user_id: viewer.id, source: 'web' });
    const posted = await discord.waitForMessage(threadId, (m) => m.webhook_id !== undefined);
    expect(posted.author.username).toBe(`${shown.display_name} · web`);
    expect(posted.allowed_mentions).toEqual({ parse: [] });
    expect(posted.mention_everyone).toBe(false);
    expect(posted.mentions).toEqual([]);
    // Shown as typed: no bold, no masked link, no mention.
    expect(posted.content).toContain('\\*\\*loud\\*\\*');
    expect(posted.content).toContain('\\[prize\\]\\(https://evil.example\\)');
    expect(posted.content).toContain('@\u200beveryone');
    expect(posted.content).not.toMatch(/<@\d+>/);
  });

  it('shows what a member writes in the thread on the pages', async () => {
    const member = discord.makeUser({ username: 'threadfan' });
    const written = discord.postUserMessage({ channelId: threadId, user: member, content: 'from <Discord> & co' });
    const shown = (await party.viewerPlayer.next('chat_message', (m) => m.chat_message.source === 'discord'))
      .chat_message;
    expect(shown).toMatchObject({ user_id: member.id, display_name: 'threadfan', message: 'from <Discord> & co' });
    // Not echoed back into the thread.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(threadMessages(threadId).filter((m) => m.content.includes('from'))).toEqual([
      expect.objectContaining({ id: written.id }),
    ]);
  });

  it('removes a message on the other side when it is deleted on either side', async () => {
    // Deleted on the page by the host: its copy leaves the thread.
    const webMessage = party.hostPlayer.messages.find(
      (m) => m.type === 'chat_message' && m.chat_message.source === 'web',
    ).chat_message;
    party.hostPlayer.send({ type: 'chat_delete', message_id: webMessage.id });
    await party.viewerPlayer.next('chat_deleted', (m) => m.message_id === webMessage.id);
    await expect.poll(() => threadMessages(threadId).filter((m) => m.webhook_id !== undefined)).toEqual([]);

    // Deleted in Discord by a moderator: it leaves the pages.
    const discordCopy = threadMessages(threadId).find((m) => m.content.includes('from'))!;
    const fromDiscord = party.hostPlayer.messages.find(
      (m) => m.type === 'chat_message' && m.chat_message.source === 'discord',
    ).chat_message;
    discord.deleteMessage(threadId, discordCopy.id);
    await party.hostPlayer.next('chat_deleted', (m) => m.message_id === fromDiscord.id);
  });

  it('archives the thread with the end line when the party ends', async () => {
    const end = discord.button({ message: party.panel, customId: button(party.panel, 'End').custom_id, user: host });
    await end.reply();
    const line = await discord.waitForMessage(threadId, (m) => /The watch party has ended/.test(m.content));
    expect(line.author.id).toBe(discord.botUser.id);
    await expect.poll(() => discord.threads().find((t) => t.id === threadId)?.thread_metadata.archived).toBe(true);
  });

  it('tells the host once what to grant when it may not open a thread, and chat stays on the page', async () => {
    const locked = guild.channel('locked').id;
    discord.setChannelPermissions(locked, [
      { id: guild.botRoleId, deny: PermissionFlagsBits.ManageWebhooks | PermissionFlagsBits.CreatePublicThreads },
    ]);
    const lockedParty = await createParty(bot, locked);
    expect(lockedParty.reply.content).toMatch(
      /Chat stays on the player page: to mirror it in a thread in <#\d+>, give me \*\*Create Public Threads\*\*, \*\*Manage Webhooks\*\* there\./,
    );
    expect(discord.threads().filter((t) => t.parent_id === locked)).toEqual([]);
    lockedParty.viewerPlayer.send({ type: 'chat', message: 'still works' });
    await lockedParty.hostPlayer.next('chat_message', (m) => m.chat_message.message === 'still works');
  });
});

describe('bridge off', () => {
  it('starts without the Message Content intent and still posts the page’s chat in the thread', async () => {
    const strict = await startFakeDiscord({ allowedPrivilegedIntents: 0 });
    const strictGuild = strict.addGuild({ name: 'Strict', channels: [{ name: 'watch' }] });
    strict.setBotPermissions(strictGuild.id, THREAD_READY);
    const saved = { discord, guild };
    discord = strict;
    guild = strictGuild;
    const plain = await startBot({
      discord: strict,
      parti,
      storeFile: tempStoreFile(),
      env: { PUBLIC_URL: 'http://127.0.0.1:9' },
    });
    try {
      const identify = strict.gatewayPayloads.find((p) => p.op === 2)!;
      expect((identify.d as { intents: number }).intents & MESSAGE_CONTENT).toBe(0);
      const watch = strictGuild.channel('watch').id;
      const p = await createParty(plain, watch);
      const threadId = strict.threads()[0]!.id;
      p.viewerPlayer.send({ type: 'chat', message: 'page to thread' });
      await strict.waitForMessage(threadId, (m) => m.content === 'page to thread');
      // A member's thread message stays in Discord: without the intent the bot cannot read it.
      strict.postUserMessage({
        channelId: threadId,
        user: strict.makeUser({ username: 'quiet' }),
        content: 'hello page',
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(p.hostPlayer.messages.filter((m) => m.type === 'chat_message').map((m) => m.chat_message.message)).toEqual(
        ['page to thread'],
      );
    } finally {
      await plain.stop();
      discord = saved.discord;
      guild = saved.guild;
      await strict.close();
    }
  }, 60_000);
});
