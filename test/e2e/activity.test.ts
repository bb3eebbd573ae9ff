// The watch party as a Discord Activity, end to end on the server side: the real bot, with
// DISCORD_CLIENT_SECRET set, against the fake Discord's OAuth2 endpoints and Activity instances.
// A page's one-time code becomes a party token for its instance's party; one instance is one party,
// a channel's bound party is found again, forged, reused and foreign sign-ins are refused; the
// panel's Watch together launches the Activity (callback type 12); the Entry Point is registered.
import { PermissionFlagsBits } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBot, type BotProcess } from '../support/bot.js';
import { button, startFakeDiscord, type FakeDiscord, type FakeGuild, type FakeUser } from '../support/fakeDiscord.js';
import { startFakeParti, type FakeParti } from '../support/fakeParti.js';

const BALTHIER = 353044; // profile fixture: BalthierGR, live in the fake Parti once told to go live

let discord: FakeDiscord;
let parti: FakeParti;
let bot: BotProcess;
let guild: FakeGuild;
let voiceId: string;
let otherVoiceId: string;
let otherTextId: string;
let alice: FakeUser;
let bob: FakeUser;
let carol: FakeUser;

async function signIn(code: string, instanceId: string) {
  const response = await fetch(`${bot.url}/api/v1/activity/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code, instance_id: instanceId }),
  });
  return { status: response.status, body: (await response.json()) as any };
}

async function participants(partyId: string, token: string): Promise<Array<{ user_id: string; role: string }>> {
  const response = await fetch(`${bot.url}/api/v1/watch-parties/${partyId}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as any).data.participants;
}

beforeAll(async () => {
  [discord, parti] = await Promise.all([startFakeDiscord(), startFakeParti()]);
  guild = discord.addGuild({ name: 'Movie night', channels: [{ name: 'general' }] });
  voiceId = discord.addChannel(guild.id, { name: 'Cinema', type: 2 }).id;
  otherVoiceId = discord.addChannel(guild.id, { name: 'Lounge', type: 2 }).id;
  otherTextId = discord.addChannel(guild.id, { name: 'live' }).id;
  alice = discord.makeUser({ username: 'alice' });
  bob = discord.makeUser({ username: 'bob' });
  carol = discord.makeUser({ username: 'carol' });
  for (const user of [alice, bob, carol]) discord.addMember(guild.id, user);
  bot = await startBot({
    discord,
    parti,
    env: { PUBLIC_URL: 'https://party.example', DISCORD_CLIENT_SECRET: discord.clientSecret },
  });
});
afterAll(async () => {
  await bot?.stop();
  await Promise.all([discord?.close(), parti?.close()]);
});

describe('Activity sign-in', () => {
  it('puts two people of one instance in one party, the first as host, and another instance elsewhere', async () => {
    discord.setActivityInstance({
      instanceId: 'i-one',
      channelId: voiceId,
      guildId: guild.id,
      users: [alice.id, bob.id],
    });
    discord.setActivityInstance({ instanceId: 'i-two', channelId: otherVoiceId, guildId: guild.id, users: [carol.id] });
    const first = await signIn(discord.issueOAuthCode(alice), 'i-one');
    expect(first.status).toBe(200);
    const second = await signIn(discord.issueOAuthCode(bob), 'i-one');
    expect(second.status).toBe(200);
    const third = await signIn(discord.issueOAuthCode(carol), 'i-two');
    expect(third.status).toBe(200);

    expect(second.body.data.party_id).toBe(first.body.data.party_id);
    expect(third.body.data.party_id).not.toBe(first.body.data.party_id);
    // The SDK's authenticate gets Discord's own access token back.
    expect(first.body.data.access_token).toMatch(/^[\w-]{20,}$/);
    expect(first.body.data.user).toEqual({ id: alice.id, name: 'alice' });
    const people = await participants(first.body.data.party_id, second.body.data.token);
    expect(people.map((p) => [p.user_id, p.role]).sort()).toEqual(
      [
        [alice.id, 'host'],
        [bob.id, 'viewer'],
      ].sort(),
    );
    // How the page reaches the server through Discord's proxy.
    expect(first.body.data.mappings).toContainEqual({ prefix: '/party', target: 'https://party.example' });
  });

  it('refuses a forged code and a code used before, and someone who is not in the instance', async () => {
    const forged = await signIn('not-a-code-discord-gave', 'i-one');
    expect(forged.status).toBe(401);
    expect(forged.body.error.message).toMatch(/Discord did not accept this sign-in/);

    const code = discord.issueOAuthCode(bob);
    expect((await signIn(code, 'i-one')).status).toBe(200);
    const reused = await signIn(code, 'i-one');
    expect(reused.status).toBe(401);

    // Carol is in another instance: knowing this one's id does not let her in.
    const stranger = await signIn(discord.issueOAuthCode(carol), 'i-one');
    expect(stranger.status).toBe(403);
    expect(stranger.body.data).toBeUndefined();
  });

  it('finds the party bound to a voice channel from a new instance there', async () => {
    const created = await discord
      .command({
        guildId: guild.id,
        channelId: guild.channel('general').id,
        user: alice,
        name: 'party',
        subcommand: 'create',
        options: { source: 'https://parti.com/video/80892', title: 'Bound', 'voice-channel': voiceId },
      })
      .reply();
    const code = /Invite code `([A-Z0-9]{6})`/.exec(created.content)?.[1];
    expect(code).toBeTruthy();
    discord.setActivityInstance({ instanceId: 'i-three', channelId: voiceId, guildId: guild.id, users: [bob.id] });
    const joined = await signIn(discord.issueOAuthCode(bob), 'i-three');
    expect(joined.status).toBe(200);
    expect(joined.body.data.invite_code).toBe(code);
  });

  it('serves the Activity page with the application id for the SDK, framed only by Discord', async () => {
    const response = await fetch(`${bot.url}/activity`);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain(`<meta name="discord-client-id" content="${discord.applicationId}">`);
    expect(html).toContain('src="/.proxy/party/watch-parties/assets/main.js"');
    expect(response.headers.get('content-security-policy')).toMatch(/frame-ancestors 'self' https:\/\/discord\.com /);
  });
});

describe('launching from Discord', () => {
  it('the panel has Watch together, which answers with LAUNCH_ACTIVITY (type 12)', async () => {
    const channelId = guild.channel('general').id;
    const panel = await discord.waitForMessage(channelId, (m) => m.embeds[0]?.title?.includes('Bound') === true);
    const watch = button(panel, 'Watch together');
    const press = discord.button({
      guildId: guild.id,
      channelId,
      user: bob,
      message: panel,
      customId: watch.custom_id,
    });
    expect(await press.acknowledged()).toBe(12);
  });

  it('a go-live card has Watch together beside Start watch party: a party of the stream, then the Activity', async () => {
    const channelId = guild.channel('general').id;
    const admin = discord.makeUser({ username: 'admin' });
    discord.addMember(guild.id, admin);
    const saved = await discord
      .command({
        guildId: guild.id,
        channelId,
        user: admin,
        permissions: PermissionFlagsBits.ManageGuild,
        name: 'alerts',
        subcommand: 'add',
        options: { creator: String(BALTHIER), channel: otherTextId },
      })
      .reply();
    expect(saved.embeds[0]?.title).toBe('Alert saved');
    parti.goLive(BALTHIER, { event_title: 'Together tonight' });
    const card = await discord.waitForMessage(otherTextId, (m) => m.embeds[0]?.title === 'Together tonight');
    const labels = card.components[0].components.map((c: { label: string }) => c.label);
    expect(labels).toEqual(['Watch on Parti', 'Start watch party', 'Watch together']);
    const together = button(card, 'Watch together');
    expect(together.custom_id).toBe(`party:together:${BALTHIER}`);
    const press = discord.button({ message: card, customId: together.custom_id, user: carol });
    expect(await press.acknowledged()).toBe(12);
    // The party of the stream is the channel's: its panel is there, hosted by whoever pressed.
    const panel = await discord.waitForMessage(otherTextId, (m) => m.embeds[0]?.title?.startsWith('🎬') ?? false);
    expect(panel.embeds[0]?.fields?.find((f) => f.name === 'Host')?.value).toBe(`<@${carol.id}>`);
  });

  it('registers the Entry Point command beside the slash commands', async () => {
    await expect
      .poll(() => discord.commands(), { timeout: 10_000 })
      .toContainEqual(expect.objectContaining({ name: 'launch', type: 4, handler: 2 }));
    expect(discord.commands().some((c) => c.name === 'party')).toBe(true);
  });
});

describe('without DISCORD_CLIENT_SECRET', () => {
  let plain: BotProcess;
  let plainDiscord: FakeDiscord;
  let plainGuild: FakeGuild;
  let member: FakeUser;

  beforeAll(async () => {
    plainDiscord = await startFakeDiscord();
    plainGuild = plainDiscord.addGuild({ name: 'No activity', channels: [{ name: 'general' }] });
    plainDiscord.addChannel(plainGuild.id, { name: 'Cinema', type: 2 });
    member = plainDiscord.makeUser({ username: 'member' });
    plainDiscord.addMember(plainGuild.id, member);
    plain = await startBot({ discord: plainDiscord, parti, env: { PUBLIC_URL: 'https://party.example' } });
  });
  afterAll(async () => {
    await plain?.stop();
    await plainDiscord?.close();
  });

  it('has no Activity: no page, no sign-in, no Entry Point, no Watch together; /party says how to turn it on', async () => {
    expect((await fetch(`${plain.url}/activity`)).status).toBe(404);
    const signIn = await fetch(`${plain.url}/api/v1/activity/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: 'x', instance_id: 'y' }),
    });
    expect(signIn.status).toBe(404);
    expect(plainDiscord.commands().map((c) => c.name)).not.toContain('launch');

    const voice = plainGuild.channel('Cinema').id;
    const reply = await plainDiscord
      .command({
        guildId: plainGuild.id,
        channelId: plainGuild.channel('general').id,
        user: member,
        name: 'party',
        subcommand: 'create',
        options: { source: 'https://parti.com/video/80892', 'voice-channel': voice },
      })
      .reply();
    expect(reply.content).toContain('its operator turns it on with `DISCORD_CLIENT_SECRET`');
    const panel = await plainDiscord.waitForMessage(plainGuild.channel('general').id, (m) => m.embeds.length > 0);
    expect(() => button(panel, 'Watch together')).toThrow();
    expect(() => button(panel, 'Join')).not.toThrow();
    expect(plain.stderr.join('\n')).not.toMatch(/Error/);
  });
});
