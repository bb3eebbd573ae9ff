// Proves the fake Discord against the real discord.js Client, in-process: if discord.js accepts every
// payload and the fake records what discord.js sent, end-to-end tests of the bot can trust both sides.
import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  Client,
  DiscordAPIError,
  EmbedBuilder,
  Events,
  GatewayIntentBits,
  MessageFlags,
  PermissionFlagsBits,
  Routes,
  SlashCommandBuilder,
  type Interaction,
  type TextChannel,
} from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeDiscord, type FakeDiscord, type FakeGuild, type FakeUser } from './fakeDiscord.js';

const creatorCommand = new SlashCommandBuilder()
  .setName('creator')
  .setDescription('Parti creators')
  .addSubcommand((s) =>
    s
      .setName('lookup')
      .setDescription('Look a creator up')
      .addStringOption((o) => o.setName('name').setDescription('Creator name').setRequired(true).setAutocomplete(true))
      .addUserOption((o) => o.setName('member').setDescription('Discord member')),
  );
const pingCommand = new SlashCommandBuilder().setName('ping').setDescription('Ping');
const reportCommand = new SlashCommandBuilder().setName('report').setDescription('Deferred report');

/** Starts a discord.js client against a fake and resolves once it is ready. */
async function connect(
  fake: FakeDiscord,
  onInteraction: (i: Interaction) => Promise<void>,
  errors: unknown[],
): Promise<Client> {
  const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake.apiUrl } });
  client.on(Events.InteractionCreate, (i) => {
    onInteraction(i).catch((e: unknown) => errors.push(e));
  });
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  await client.login(fake.token);
  await ready;
  return client;
}

describe('fake Discord with a real discord.js client', () => {
  let fake: FakeDiscord;
  let client: Client;
  let guild: FakeGuild;
  let channelId: string;
  let alice: FakeUser;
  let bob: FakeUser;
  const handlerErrors: unknown[] = [];
  // Each test installs the bot behaviour it needs.
  let onInteraction: (i: Interaction) => Promise<void> = () => Promise.resolve();

  beforeAll(async () => {
    fake = await startFakeDiscord();
    alice = fake.makeUser({ username: 'alice', global_name: 'Alice' });
    bob = fake.makeUser({ username: 'bob' });
    guild = fake.addGuild({ name: 'Parti Fans', channels: [{ name: 'general' }, { name: 'alerts' }] });
    channelId = guild.channel('general').id;
    client = await connect(fake, (i) => onInteraction(i), handlerErrors);
  });

  afterAll(async () => {
    await client?.destroy();
    await fake?.close();
  });

  const textChannel = (id = channelId): TextChannel => client.channels.cache.get(id) as TextChannel;

  it('gets ready with the guild, its channels and the bot member cached', () => {
    const cached = client.guilds.cache.get(guild.id);
    expect(cached?.name).toBe('Parti Fans');
    expect(cached?.channels.cache.map((c) => c.name).sort()).toEqual(['alerts', 'general']);
    expect(cached?.members.me?.id).toBe(fake.botUser.id);
    expect(client.user?.id).toBe(fake.botUser.id);
    expect(client.application?.id).toBe(fake.applicationId);
    expect(fake.identifies).toBe(1);
    expect(fake.requests.some((r) => r.path === '/gateway/bot' && r.status === 200)).toBe(true);
    // Snowflakes are real ones: 17–20 digits, time-based.
    expect(guild.id).toMatch(/^\d{17,20}$/);
    expect(Math.abs(cached!.createdTimestamp - Date.now())).toBeLessThan(60_000);
  });

  it('stores bulk-overwritten commands with ids and serves them back', async () => {
    await client.application!.commands.set([creatorCommand.toJSON(), pingCommand.toJSON()]);
    await client.guilds.cache.get(guild.id)!.commands.set([reportCommand.toJSON()]);
    expect(fake.commandPuts()).toBe(2);
    expect(fake.commands().map((c) => c.name)).toEqual(['creator', 'ping']);
    expect(fake.commands(guild.id).map((c) => c.name)).toEqual(['report']);
    const fetched = await client.application!.commands.fetch();
    expect([...fetched.values()].map((c) => c.name).sort()).toEqual(['creator', 'ping']);
    // Overwriting again keeps ids of commands that survive (Discord does too).
    const before = fake.commands().find((c) => c.name === 'ping')!.id;
    await client.application!.commands.set([pingCommand.toJSON(), creatorCommand.toJSON()]);
    expect(fake.commands().find((c) => c.name === 'ping')!.id).toBe(before);
  });

  it('rejects command definitions Discord would reject', async () => {
    const bad = { name: 'Bad Name', description: 'x' };
    await expect(client.application!.commands.create(bad)).rejects.toMatchObject({ code: 50035, status: 400 });
  });

  it('delivers a slash command with subcommand and options; an ephemeral reply is seen as such', async () => {
    const seen: Record<string, unknown> = {};
    onInteraction = async (i) => {
      if (!i.isChatInputCommand()) return;
      seen['command'] = i.commandName;
      seen['commandId'] = i.commandId;
      seen['sub'] = i.options.getSubcommand();
      seen['name'] = i.options.getString('name', true);
      seen['user'] = i.options.getUser('member')?.username;
      const member = i.options.getMember('member');
      seen['memberIsGuildMember'] = member !== null && 'guild' in member;
      seen['invoker'] = i.user.id;
      seen['channel'] = i.channelId;
      seen['canManage'] = i.memberPermissions?.has(PermissionFlagsBits.ManageGuild);
      seen['appCanSend'] = i.appPermissions.has(PermissionFlagsBits.SendMessages);
      await i.reply({ content: `Found ${i.options.getString('name')}`, flags: MessageFlags.Ephemeral });
    };
    const handle = fake.command({
      guildId: guild.id,
      channelId,
      user: alice,
      name: 'creator',
      subcommand: 'lookup',
      options: { name: 'streamer42', member: { user: bob } },
    });
    const reply = await handle.reply();
    expect(reply.content).toBe('Found streamer42');
    expect(reply.ephemeral).toBe(true);
    expect(handle.ephemeral).toBe(true);
    expect(handle.callbackType).toBe(4);
    expect(seen).toEqual({
      command: 'creator',
      commandId: fake.commands().find((c) => c.name === 'creator')!.id,
      sub: 'lookup',
      name: 'streamer42',
      user: 'bob',
      memberIsGuildMember: true,
      invoker: alice.id,
      channel: channelId,
      canManage: false,
      appCanSend: true,
    });
    // Ephemeral replies are not channel messages.
    expect(fake.messages(channelId).some((m) => m.content === 'Found streamer42')).toBe(false);
    const callback = fake.requests.find((r) => r.path === `/interactions/${handle.id}/${handle.token}/callback`);
    expect(callback?.headers['authorization']).toBeUndefined();
    expect(callback?.status).toBe(204);
  });

  it('gives members the permissions a test asks for', async () => {
    let canManage: boolean | undefined;
    onInteraction = async (i) => {
      if (!i.isChatInputCommand()) return;
      canManage = i.inCachedGuild() ? i.member.permissions.has(PermissionFlagsBits.ManageGuild) : undefined;
      await i.reply({ content: 'ok', withResponse: true }).then((r) => expect(r.resource?.message?.content).toBe('ok'));
    };
    const handle = fake.command({
      guildId: guild.id,
      channelId,
      user: bob,
      name: 'ping',
      permissions: PermissionFlagsBits.ManageGuild,
    });
    expect((await handle.reply()).content).toBe('ok');
    expect(canManage).toBe(true);
    // A public reply is a channel message of type 20 authored by the bot, linked to the interaction.
    const msg = await fake.waitForMessage(channelId, (m) => m.interactionId === handle.id);
    expect(msg).toMatchObject({ type: 20, author: { id: fake.botUser.id }, webhook_id: fake.applicationId });
  });

  it('shows a deferred reply once editReply lands, then follow-ups in order', async () => {
    onInteraction = async (i) => {
      if (!i.isChatInputCommand()) return;
      await i.deferReply();
      await new Promise((r) => setTimeout(r, 50));
      await i.editReply({ embeds: [new EmbedBuilder().setTitle('Weekly report').setDescription('3 streams')] });
      await i.followUp({ content: 'More details', flags: MessageFlags.Ephemeral });
    };
    const handle = fake.command({ guildId: guild.id, channelId, user: alice, name: 'report' });
    const reply = await handle.reply();
    expect(handle.deferred).toBe(true);
    expect(reply.embeds[0]?.title).toBe('Weekly report');
    expect(reply.ephemeral).toBe(false);
    const followUp = await handle.nextUpdate();
    expect(followUp.content).toBe('More details');
    expect(followUp.ephemeral).toBe(true);
    expect(handle.responses).toHaveLength(2);
  });

  it('lets the first follow-up after a deferral replace the thinking message, keeping its visibility', async () => {
    onInteraction = async (i) => {
      if (!i.isChatInputCommand()) return;
      await i.deferReply({ flags: MessageFlags.Ephemeral });
      await i.followUp({ content: 'done' });
    };
    const handle = fake.command({ guildId: guild.id, channelId, user: alice, name: 'ping' });
    const reply = await handle.reply();
    expect(reply).toMatchObject({ content: 'done', ephemeral: true });
  });

  it('treats a follow-up after deleting the deferred reply as a message of its own', async () => {
    onInteraction = async (i) => {
      if (!i.isChatInputCommand()) return;
      await i.deferReply();
      await i.deleteReply();
      await i.followUp({ content: 'only you see this', flags: MessageFlags.Ephemeral });
    };
    const handle = fake.command({ guildId: guild.id, channelId, user: alice, name: 'ping' });
    expect(await handle.reply()).toMatchObject({ content: 'only you see this', ephemeral: true });
    // The public "thinking…" placeholder was in the channel until it was deleted.
    expect(fake.messages(channelId).some((m) => m.interactionId === handle.id)).toBe(false);
  });

  it('answers a second acknowledgement with 40060', async () => {
    const secondAttempt = new Promise<unknown>((resolve) => {
      onInteraction = async (i) => {
        if (!i.isChatInputCommand()) return;
        await i.reply('first');
        const body = { type: 4, data: { content: 'again' } };
        resolve(
          await i.client.rest
            .post(Routes.interactionCallback(i.id, i.token), { body, auth: false })
            .catch((e: unknown) => e),
        );
      };
    });
    const handle = fake.command({ guildId: guild.id, channelId, user: alice, name: 'ping' });
    expect((await handle.reply()).content).toBe('first');
    const second = await secondAttempt;
    expect(second).toBeInstanceOf(DiscordAPIError);
    expect((second as DiscordAPIError).code).toBe(40060);
  });

  it('routes a button on a posted message to the bot, which updates the message', async () => {
    const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
      new ButtonBuilder().setCustomId('follow').setLabel('Follow').setStyle(ButtonStyle.Primary),
    );
    const sent = await textChannel().send({ content: 'streamer42 is live', components: [row] });
    const posted = await fake.waitForMessage(channelId, (m) => m.id === sent.id);
    onInteraction = async (i) => {
      if (!i.isButton()) return;
      expect(i.message.id).toBe(sent.id);
      await i.update({ content: `Followed by ${i.user.username}`, components: [] });
    };
    const handle = fake.button({ message: posted, customId: 'follow', user: bob });
    const updated = await handle.reply();
    expect(handle.callbackType).toBe(7);
    expect(updated).toMatchObject({ id: sent.id, content: 'Followed by bob', components: [] });
    const inChannel = fake.messages(channelId).find((m) => m.id === sent.id);
    expect(inChannel?.content).toBe('Followed by bob');
    expect(inChannel?.edited_timestamp).not.toBeNull();
    expect(() => fake.button({ message: posted, customId: 'follow', user: bob })).toThrow(/no component/);
  });

  it('returns autocomplete choices', async () => {
    onInteraction = async (i) => {
      if (!i.isAutocomplete()) return;
      const typed = i.options.getFocused();
      await i.respond([`${typed}1`, `${typed}2`].map((n) => ({ name: n, value: n })));
    };
    const choices = await fake.autocomplete({
      guildId: guild.id,
      channelId,
      user: alice,
      name: 'creator',
      subcommand: 'lookup',
      options: { name: 'str' },
      focused: 'name',
    });
    expect(choices).toEqual([
      { name: 'str1', value: 'str1' },
      { name: 'str2', value: 'str2' },
    ]);
  });

  it('records channel.send, including multipart uploads', async () => {
    await textChannel().send('hello');
    await textChannel().send({
      content: 'with file',
      files: [{ attachment: Buffer.from('clip data'), name: 'clip.txt' }],
    });
    const messages = fake.messages(channelId);
    expect(messages.at(-2)?.content).toBe('hello');
    expect(messages.at(-1)?.attachments[0]).toMatchObject({ filename: 'clip.txt', size: 9 });
    const upload = fake.requests.findLast((r) => r.method === 'POST' && r.path === `/channels/${channelId}/messages`);
    expect(upload?.files[0]?.filename).toBe('clip.txt');
    expect(upload?.headers['content-type']).toMatch(/^multipart\/form-data/);
    expect(upload?.headers['authorization']).toBe(`Bot ${fake.token}`);
  });

  it('enforces Discord limits on message bodies', async () => {
    await expect(textChannel().send('x'.repeat(2001))).rejects.toMatchObject({ code: 50035 });
    await expect(textChannel().send({ embeds: [{ title: 't', description: 'd'.repeat(4097) }] })).rejects.toMatchObject(
      { code: 50035 },
    );
  });

  it('fails routes on demand with Discord-shaped errors', async () => {
    fake.failRoute('POST', '/channels/:id/messages', { status: 403, code: 50013, times: 1 });
    const error = await textChannel()
      .send('nope')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiscordAPIError);
    expect((error as DiscordAPIError).code).toBe(50013);
    expect((error as DiscordAPIError).status).toBe(403);
    await expect(textChannel().send('yes')).resolves.toBeDefined();
    fake.failRoute('GET', /^\/channels\/\d+$/, { status: 404, code: 10003 });
    await expect(client.rest.get(Routes.channel(channelId))).rejects.toMatchObject({
      code: 10003,
      message: 'Unknown Channel',
    });
    fake.clearFaults();
    await expect(client.rest.get(Routes.channel(channelId))).resolves.toMatchObject({ id: channelId });
  });

  it('answers a repeated nonce under enforce_nonce with the message it already made, as Discord does', async () => {
    const post = (body: Record<string, unknown>) =>
      client.rest.post(Routes.channelMessages(channelId), { body }) as Promise<{ id: string; nonce?: string }>;
    const before = fake.messages(channelId).length;
    const first = await post({ content: 'once', nonce: 'alert-1', enforce_nonce: true });
    const again = await post({ content: 'once', nonce: 'alert-1', enforce_nonce: true });
    expect(again.id).toBe(first.id);
    expect(again.nonce).toBe('alert-1');
    // Without enforce_nonce a nonce is only echoed back, and the message is made again.
    const unenforced = await post({ content: 'once', nonce: 'alert-1' });
    expect(unenforced.id).not.toBe(first.id);
    expect(fake.messages(channelId).length).toBe(before + 2);
  });

  it('holds an answer on demand: the call is done, the client has not heard yet', async () => {
    const held = fake.holdAnswer('POST', '/channels/:id/messages');
    let answered = false;
    const sending = textChannel()
      .send('held back')
      .then((message) => {
        answered = true;
        return message;
      });
    const request = await held.processed;
    expect(request.body).toMatchObject({ content: 'held back' });
    expect(fake.messages(channelId).at(-1)?.content).toBe('held back');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(answered).toBe(false);
    held.release();
    expect((await sending).content).toBe('held back');
  });

  it('answers unauthenticated and unknown requests like Discord', async () => {
    const unauth = await fetch(`${fake.apiUrl}/v10/users/@me`);
    expect(unauth.status).toBe(401);
    expect(await unauth.json()).toEqual({ message: '401: Unauthorized', code: 0 });
    const unknown = await fetch(`${fake.apiUrl}/v10/nowhere`, { headers: { authorization: `Bot ${fake.token}` } });
    expect(unknown.status).toBe(404);
    expect(fake.requests.some((r) => r.path === '/nowhere' && r.status === 404)).toBe(true);
  });

  it('reflects the bot role and channel overwrites in permissionsFor, and enforces them', async () => {
    const alerts = guild.channel('alerts');
    const me = client.guilds.cache.get(guild.id)!.members.me!;
    const cached = textChannel(alerts.id);
    expect(cached.permissionsFor(me).has(PermissionFlagsBits.SendMessages)).toBe(true);
    expect(cached.permissionsFor(me).has(PermissionFlagsBits.ManageGuild)).toBe(false);
    expect(cached.permissionsFor(me).bitfield).toBe(fake.botPermissionsIn(alerts.id));

    const updated = new Promise<void>((resolve) => client.once(Events.ChannelUpdate, () => resolve()));
    fake.setChannelPermissions(alerts.id, [{ id: guild.botRoleId, deny: PermissionFlagsBits.SendMessages }]);
    await updated;
    expect(textChannel(alerts.id).permissionsFor(me).has(PermissionFlagsBits.SendMessages)).toBe(false);
    await expect(textChannel(alerts.id).send('blocked')).rejects.toMatchObject({ code: 50013 });
    fake.setChannelPermissions(alerts.id, []);
  });

  it('survives a gateway disconnect by resuming, replaying what it missed', async () => {
    onInteraction = async (i) => {
      if (i.isChatInputCommand()) await i.reply(`still here for ${i.user.username}`);
    };
    const resumed = fake.waitForGateway('RESUMED');
    fake.disconnectGateway();
    // Sent while the bot is offline: the session buffers it and replays it on resume, as Discord does.
    const missed = fake.command({ guildId: guild.id, channelId, user: alice, name: 'ping' });
    await resumed;
    expect((await missed.reply()).content).toBe('still here for alice');
    expect(fake.identifies).toBe(1);
    expect(fake.resumes).toBe(1);
    expect(fake.gatewayConnections).toBe(2);
    const after = fake.command({ guildId: guild.id, channelId, user: bob, name: 'ping' });
    expect((await after.reply()).content).toBe('still here for bob');
  });

  it('tells the client when the bot is removed from a guild', async () => {
    const extra = fake.addGuild({ name: 'Temporary' });
    await new Promise<void>((resolve) => {
      const check = (): void => (client.guilds.cache.has(extra.id) ? resolve() : void setTimeout(check, 10));
      check();
    });
    const deleted = new Promise<string>((resolve) => client.once(Events.GuildDelete, (g) => resolve(g.id)));
    fake.removeGuild(extra.id);
    expect(await deleted).toBe(extra.id);
  });

  it('had no errors in handlers or inside the fake', () => {
    expect(handlerErrors).toEqual([]);
    expect(fake.internalErrors).toEqual([]);
  });
});

describe('fake Discord limits', () => {
  let fake: FakeDiscord;
  let client: Client;
  let channelId: string;
  const handlerErrors: unknown[] = [];
  let onInteraction: (i: Interaction) => Promise<void> = () => Promise.resolve();

  beforeAll(async () => {
    fake = await startFakeDiscord({ globalRateLimit: 5, interactionResponseWindowMs: 300 });
    const guild = fake.addGuild();
    channelId = guild.channel().id;
    client = await connect(fake, (i) => onInteraction(i), handlerErrors);
  });

  afterAll(async () => {
    await client?.destroy();
    await fake?.close();
  });

  it('rate limits globally with 429s that discord.js waits out', async () => {
    const channel = client.channels.cache.get(channelId) as TextChannel;
    await Promise.all(Array.from({ length: 20 }, (_, n) => channel.send(`burst ${n}`)));
    expect(fake.messages(channelId).map((m) => m.content)).toEqual(Array.from({ length: 20 }, (_, n) => `burst ${n}`));
    expect(fake.rateLimited429s).toBeGreaterThan(0);
    const limited = fake.requests.find((r) => r.status === 429);
    expect(limited).toBeDefined();
  });

  it('can hold the gateway handshake until the test releases it', async () => {
    const release = fake.holdIdentify();
    const identifiesBefore = fake.identifies;
    const second = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake.apiUrl } });
    const ready = new Promise<void>((resolve) => second.once(Events.ClientReady, () => resolve()));
    const login = second.login(fake.token);
    await expect.poll(() => fake.gatewayPayloads.filter((p) => p.op === 2).length).toBe(identifiesBefore + 1);
    expect(second.isReady()).toBe(false);
    expect(fake.identifies).toBe(identifiesBefore);
    release();
    await login;
    await ready;
    expect(fake.identifies).toBe(identifiesBefore + 1);
    await second.destroy();
  });

  it('rejects an interaction answered after the response window with 10062', async () => {
    const late = new Promise<unknown>((resolve) => {
      onInteraction = async (i) => {
        if (!i.isChatInputCommand()) return;
        await new Promise((r) => setTimeout(r, 400));
        resolve(await i.reply('too late').catch((e: unknown) => e));
      };
    });
    const user = fake.makeUser();
    fake.command({ guildId: fake.guild(client.guilds.cache.first()!.id).id, channelId, user, name: 'ping' });
    expect(await late).toMatchObject({ code: 10062 });
    expect(handlerErrors).toEqual([]);
  });
});
