// /party end to end: the real bot process posts the party panel through the fake Discord, its
// buttons move playback for players connected over the party WebSocket, and a restart keeps the party.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBot, tempStoreFile, type BotProcess } from '../support/bot.js';
import {
  button,
  startFakeDiscord,
  type FakeDiscord,
  type FakeGuild,
  type FakeMessage,
} from '../support/fakeDiscord.js';
import { startFakeParti, type FakeParti } from '../support/fakeParti.js';

let discord: FakeDiscord;
let parti: FakeParti;
let bot: BotProcess;
let guild: FakeGuild;
let channelId: string;
let storeFile: string;
let host: ReturnType<FakeDiscord['makeUser']>;
let viewer: ReturnType<FakeDiscord['makeUser']>;
let panel: FakeMessage;
let inviteCode: string;
let partyId: string;

function party(subcommand: string, options: Record<string, unknown>, user = host) {
  return discord.command({ guildId: guild.id, channelId, user, name: 'party', subcommand, options: options as never });
}

function currentPanel(): FakeMessage {
  return discord.messages(channelId).find((m) => m.id === panel.id)!;
}

/** A player's socket, collecting every message it receives. */
async function connectPlayer(link: string) {
  const url = new URL(link);
  const token = new URLSearchParams(url.hash.slice(1)).get('token');
  expect(token).toBeTruthy();
  const ws = new WebSocket(`ws://127.0.0.1:${bot.port}/api/v1/watch-parties/${partyId}/ws`, [
    'watch-party.v1',
    `bearer.${token}`,
  ]);
  const messages: any[] = [];
  ws.on('message', (data) => messages.push(JSON.parse((data as Buffer).toString('utf8'))));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  await expect.poll(() => messages.some((m) => m.type === 'state')).toBe(true);
  return { ws, messages };
}

beforeAll(async () => {
  [discord, parti] = await Promise.all([startFakeDiscord(), startFakeParti()]);
  guild = discord.addGuild({ name: 'Movie night', channels: [{ name: 'watch' }] });
  channelId = guild.channel('watch').id;
  host = discord.makeUser({ username: 'host' });
  viewer = discord.makeUser({ username: 'viewer' });
  storeFile = tempStoreFile();
  bot = await startBot({ discord, parti, storeFile, env: { PUBLIC_URL: 'http://127.0.0.1:9' } });
});
afterAll(async () => {
  await bot?.stop();
  await Promise.all([discord?.close(), parti?.close()]);
});

describe('/party', () => {
  it('create posts the panel in the channel and gives the host a personal link privately', async () => {
    const reply = await party('create', { source: 'https://parti.com/video/80892', title: 'Shirt night' }).reply();
    expect(reply.ephemeral).toBe(true);
    const code = /Invite code `([A-Z0-9]{6})`/.exec(reply.content)?.[1];
    expect(code).toMatch(/^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{6}$/);
    inviteCode = code!;
    const hostLink = button(reply, 'Open the player').url as string;
    expect(hostLink).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:9/watch-parties/${inviteCode}#token=[\\w.-]+$`));

    panel = await discord.waitForMessage(channelId, (m) => m.embeds[0]?.title === '🎬 Shirt night');
    const embed = panel.embeds[0]!;
    expect(embed.description).toMatch(/^\*\*Now playing:\*\* I'm Live on Parti — worldoftshirts2001\n⏸ Paused at 0:00/);
    const fields = Object.fromEntries((embed.fields ?? []).map((f) => [f.name, f.value]));
    expect(fields).toMatchObject({ 'Invite code': `\`${inviteCode}\``, Watching: '1 / 100', Host: `<@${host.id}>` });
    expect(panel.components.flatMap((row: any) => row.components.map((c: any) => c.label))).toEqual([
      'Join',
      'Play',
      '−10 s',
      '+10 s',
      'Skip',
      'End',
      'Remove someone',
      'Open player',
    ]);
    partyId = (button(panel, 'Play').custom_id as string).split(':')[2]!;
  });

  it("relays the host's Play button to every connected player with the position now", async () => {
    const join = await discord
      .button({ message: panel, customId: button(panel, 'Join').custom_id, user: viewer })
      .reply();
    expect(join.ephemeral).toBe(true);
    expect(join.content).toMatch(/^You joined \*\*Shirt night\*\*/);
    const player = await connectPlayer(button(join, 'Open the player').url);

    const press = discord.button({
      message: currentPanel(),
      customId: button(currentPanel(), 'Play').custom_id,
      user: host,
    });
    const updated = await press.reply();
    expect(updated.embeds[0]?.description).toMatch(/▶ Playing, at 0:0\d/);
    expect(button(updated, 'Pause')).toBeTruthy();
    await expect.poll(() => player.messages.find((m) => m.type === 'play')).toBeTruthy();
    const play = player.messages.find((m) => m.type === 'play');
    expect(play).toMatchObject({ party_id: partyId, is_playing: true, actor_user_id: host.id, playback_rate: 1 });
    expect(play.position).toBeGreaterThanOrEqual(0);
    expect(play.position).toBeLessThan(1);
    expect(await bot.metric('parti_bot_watch_parties')).toBe(1);
    expect(await bot.metric('parti_bot_watch_party_sockets')).toBe(1);
    expect(await bot.metric('parti_bot_party_ws_messages_out_total')).toBeGreaterThanOrEqual(2);

    // +10 s moves everyone forward from where the timeline is now.
    await sleep(300);
    await discord
      .button({ message: currentPanel(), customId: button(currentPanel(), '+10 s').custom_id, user: host })
      .reply();
    await expect.poll(() => player.messages.find((m) => m.type === 'seek')).toBeTruthy();
    const seek = player.messages.find((m) => m.type === 'seek');
    expect(seek.position).toBeGreaterThan(10.2);
    expect(seek.position).toBeLessThan(11.5);
    player.ws.close();
  });

  it("refuses another member's press and sends players nothing", async () => {
    const hostLink = await party('join', {}, host).reply();
    const player = await connectPlayer(button(hostLink, 'Open the player').url);
    const before = player.messages.length;
    const refusal = await discord
      .button({ message: currentPanel(), customId: button(currentPanel(), 'Pause').custom_id, user: viewer })
      .reply();
    expect(refusal.ephemeral).toBe(true);
    expect(refusal.content).toBe('Only the host and co-hosts can do that.');
    const stranger = discord.makeUser({ username: 'stranger' });
    const strangerRefusal = await discord
      .button({ message: currentPanel(), customId: button(currentPanel(), 'Skip').custom_id, user: stranger })
      .reply();
    expect(strangerRefusal.content).toBe('You must join the party first (the **Join** button or `/party join`).');
    await sleep(500);
    expect(
      player.messages.slice(before).filter((m) => ['play', 'pause', 'seek', 'skip', 'sync'].includes(m.type)),
    ).toEqual([]);
    expect(currentPanel().embeds[0]?.description).toMatch(/▶ Playing/);

    // Made co-host, the same member can pause.
    const cohost = await party('cohost', { member: { user: viewer } }).reply();
    expect(cohost.content).toBe(`<@${viewer.id}> is now a co-host: they can play, pause, seek and skip.`);
    await discord
      .button({ message: currentPanel(), customId: button(currentPanel(), 'Pause').custom_id, user: viewer })
      .reply();
    await expect
      .poll(() => player.messages.find((m) => m.type === 'pause'))
      .toMatchObject({ is_playing: false, actor_user_id: viewer.id });
    player.ws.close();
  });

  it('follows playback moved from a player: the panel is edited within its budget', async () => {
    const hostLink = await party('join', {}, host).reply();
    const player = await connectPlayer(button(hostLink, 'Open the player').url);
    player.ws.send(JSON.stringify({ type: 'play' }));
    await expect.poll(() => currentPanel().embeds[0]?.description, { timeout: 6_000 }).toMatch(/▶ Playing/);
    player.ws.send(JSON.stringify({ type: 'seek', position: 125 }));
    player.ws.send(JSON.stringify({ type: 'pause', position: 125 }));
    await expect.poll(() => currentPanel().embeds[0]?.description, { timeout: 6_000 }).toMatch(/⏸ Paused at 2:05/);
    expect(button(currentPanel(), 'Play')).toBeTruthy();
    player.ws.close();
  });

  it('adds clips, and refuses /party end to anyone but the host', async () => {
    const added = await party('add', { source: 'https://parti.com/video/80892' }).reply();
    expect(added.content).toBe("Added **I'm Live on Parti — worldoftshirts2001** to the queue (position 2).");
    const notHost = await party('end', { code: inviteCode }, viewer).reply();
    expect(notHost.content).toBe('Only the host can do that.');
    const info = await party('info', {}, viewer).reply();
    expect(info.embeds[0]?.fields?.find((f) => f.name === 'Up next')?.value).toBe(
      "1. I'm Live on Parti — worldoftshirts2001",
    );
  });

  it('Remove someone: the host picks from a private list, the member is out and cannot come back', async () => {
    const troll = discord.makeUser({ username: 'troll' });
    const join = await discord
      .button({ message: currentPanel(), customId: button(currentPanel(), 'Join').custom_id, user: troll })
      .reply();
    const player = await connectPlayer(button(join, 'Open the player').url);
    const closed = new Promise<number>((resolve) => player.ws.once('close', (code) => resolve(code)));

    // Someone who is only watching is not offered the list.
    const bystander = discord.makeUser({ username: 'bystander' });
    await discord
      .button({ message: currentPanel(), customId: button(currentPanel(), 'Join').custom_id, user: bystander })
      .reply();
    const refused = await discord
      .button({
        message: currentPanel(),
        customId: button(currentPanel(), 'Remove someone').custom_id,
        user: bystander,
      })
      .reply();
    expect(refused).toMatchObject({ ephemeral: true, content: 'Only the host and co-hosts can do that.' });

    const picker = await discord
      .button({ message: currentPanel(), customId: button(currentPanel(), 'Remove someone').custom_id, user: host })
      .reply();
    expect(picker.ephemeral).toBe(true);
    const menu = picker.components[0]?.components?.[0];
    const options = (menu?.options ?? []) as Array<{ label: string; value: string }>;
    expect(options.map((o) => o.value)).toContain(troll.id);
    expect(options.map((o) => o.value)).not.toContain(host.id);

    const done = await discord
      .select({ message: picker, customId: menu.custom_id, user: host, values: [troll.id] })
      .reply();
    expect(done.content).toMatch(/^Removed \*\*troll\*\* from the party\./);
    expect(await closed).toBe(4003);
    const again = await discord
      .button({ message: currentPanel(), customId: button(currentPanel(), 'Join').custom_id, user: troll })
      .reply();
    expect(again).toMatchObject({ ephemeral: true, content: 'The host removed you from that watch party.' });
  });

  it('counts a member’s wrong invite codes: past 20, even the right code waits', async () => {
    const guesser = discord.makeUser({ username: 'guesser' });
    for (let i = 0; i < 20; i++) {
      const miss = await party(
        'info',
        { code: `ZZZZ${'23456789'[i % 8]}${'ABCDEFGH'[Math.floor(i / 8)]}` },
        guesser,
      ).reply();
      expect(miss.content).toBe('That watch party has ended, or the code is wrong.');
    }
    const right = await party('info', { code: inviteCode }, guesser).reply();
    expect(right).toMatchObject({
      ephemeral: true,
      content: expect.stringMatching(/^You are doing that too often\. Try again in \d+ min\.$/),
    });
    // Someone else is served.
    expect((await party('info', { code: inviteCode }, viewer).reply()).embeds).toHaveLength(1);
  });

  it("answers a refused /party command in the party's words, not the API's", async () => {
    // A bare name is looked up as a Parti creator: the API says "Parti has no creator parti:nobody here".
    const unknown = await party('add', { source: 'nobody here' }).reply();
    expect(unknown.ephemeral).toBe(true);
    expect(unknown.content).toBe(
      'I cannot play that: Parti has no such video or creator, or there is nothing to watch there right now.',
    );
    const passerBy = discord.makeUser({ username: 'passer-by' });
    const notJoined = await party('cohost', { member: { user: passerBy } }).reply();
    expect(notJoined.content).toBe(
      'That member has not joined the party yet: they press **Join** or run `/party join` first.',
    );
  });

  it('keeps a live party and its code across a restart, then ends it from the panel', async () => {
    expect(await bot.stop()).toBe(0);
    bot = await startBot({ discord, parti, storeFile, env: { PUBLIC_URL: 'http://127.0.0.1:9' } });
    const byCode = await fetch(`${bot.url}/api/v1/watch-parties/by-code/${inviteCode}`);
    expect(byCode.status).toBe(200);
    expect(((await byCode.json()) as any).data).toMatchObject({
      id: partyId,
      invite_code: inviteCode,
      title: 'Shirt night',
    });
    const info = await party('info', { code: inviteCode }, viewer).reply();
    expect(info.embeds[0]?.title).toBe('🎬 Shirt night');

    const ended = await discord
      .button({ message: currentPanel(), customId: button(currentPanel(), 'End').custom_id, user: host })
      .reply();
    expect(ended.embeds[0]?.description).toBe('This watch party has ended.');
    expect(ended.components).toEqual([]);
    const gone = await fetch(`${bot.url}/api/v1/watch-parties/${partyId}`);
    expect(gone.status).toBe(404);
    const late = await party('join', { code: inviteCode }, viewer).reply();
    expect(late.content).toBe('That watch party has ended, or the code is wrong.');
  });

  it('create wait-for-everyone: the party holds for a buffering player, and the panel says for whom', async () => {
    const reply = await party('create', {
      source: 'https://parti.com/video/80892',
      title: 'Patient night',
      'wait-for-everyone': true,
    }).reply();
    panel = await discord.waitForMessage(channelId, (m) => m.embeds[0]?.title === '🎬 Patient night');
    expect(panel.embeds[0]?.footer?.text).toContain('Playback waits up to 8 s for anyone buffering.');
    partyId = (button(panel, 'Play').custom_id as string).split(':')[2]!;
    const code = /Invite code `([A-Z0-9]{6})`/.exec(reply.content)?.[1];
    const byCode = await fetch(`${bot.url}/api/v1/watch-parties/by-code/${code}`);
    expect(((await byCode.json()) as any).data.wait_for_everyone).toBe(true);

    const player = await connectPlayer(button(reply, 'Open the player').url);
    player.ws.send(JSON.stringify({ type: 'play' }));
    await expect.poll(() => currentPanel().embeds[0]?.description, { timeout: 6_000 }).toMatch(/▶ Playing/);
    player.ws.send(JSON.stringify({ type: 'buffering', buffering: true }));
    await expect
      .poll(() => player.messages.find((m) => m.type === 'pause'))
      .toMatchObject({ hold: true, waiting_for: [{ user_id: host.id }] });
    await expect
      .poll(() => currentPanel().embeds[0]?.description, { timeout: 6_000 })
      .toMatch(/⏳ Waiting for \S+, at 0:0\d/);
    // The room means to play: the host's toggle pauses it.
    expect(button(currentPanel(), 'Pause')).toBeTruthy();
    player.ws.send(JSON.stringify({ type: 'buffering', buffering: false }));
    await expect.poll(() => currentPanel().embeds[0]?.description, { timeout: 6_000 }).toMatch(/▶ Playing/);
    player.ws.close();
  });
});

describe('/party of a live stream', () => {
  it('shows how far behind live the party is, and the panel goes live again with Go live', async () => {
    // A live playlist (no #EXT-X-ENDLIST): six 2 s segments dated up to now, where Parti's channel
    // info points the stream. Only the playlist is read by the bot; no segment is ever fetched.
    const dir = mkdtempSync(join(tmpdir(), 'live-playlist-'));
    const start = Date.now() - 12_000;
    const segments = Array.from(
      { length: 6 },
      (_, i) =>
        `#EXTINF:2.000,\n#EXT-X-PROGRAM-DATE-TIME:${new Date(start + i * 2000).toISOString()}\nseg${100 + i}.ts`,
    );
    mkdirSync(join(dir, 'live', '567503'), { recursive: true });
    writeFileSync(
      join(dir, 'live', '567503', 'master.m3u8'),
      ['#EXTM3U', '#EXT-X-TARGETDURATION:2', '#EXT-X-MEDIA-SEQUENCE:100', ...segments, ''].join('\n'),
    );
    parti.setMediaDir(dir);
    parti.setLive(567503, { event_title: 'Late night stream' });

    await party('create', { source: 'creator:567503', title: 'Live together' }).reply();
    const livePanel = await discord.waitForMessage(channelId, (m) => m.embeds[0]?.title === '🎬 Live together');
    expect(button(livePanel, 'Go live')).toBeTruthy();
    expect(() => button(livePanel, '+10 s')).toThrow();
    let shown = livePanel;
    const press = async (label: string) => {
      const customId = button(shown, label).custom_id;
      shown = await discord.button({ message: livePanel, customId, user: host }).reply();
      return shown.embeds[0]?.description;
    };
    expect(await press('Play')).toMatch(/▶ Playing live/);
    // Back 10 s is as far back as the window lets a player load: 5 s behind the live point.
    expect(await press('−10 s')).toMatch(/▶ Playing 5 s behind live/);
    expect(await press('Go live')).toMatch(/▶ Playing live/);
    expect(await press('Pause')).toMatch(/⏸ Paused live/);
  });
});
