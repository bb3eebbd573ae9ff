// The Discord side of a watch party: the panel message in the channel (what is playing, the invite
// code, who is there, playing or paused) with its buttons, kept fresh from the party service's
// state events within a small edit budget.
import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  EmbedBuilder,
  Routes,
  type APIActionRowComponent,
  type APIComponentInMessageActionRow,
  type APIEmbed,
  type APIMessage,
  type REST,
} from 'discord.js';
import { discordRefusal } from '../discord/errors.js';
import { colors, discordTime, escapeDiscord, truncate } from '../discord/format.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/index.js';
import { partyKeys } from './persistence.js';
import type { PartyDetail } from './protocol.js';
import { MAX_HOLD_MS } from './room.js';
import { panelStrings as t } from './strings.js';
import type { PartyService } from './service.js';

/** At most one panel edit per party in this window; the last state always lands. */
export const PANEL_EDIT_INTERVAL_MS = 2_000;

export interface PanelRef {
  guildId: string;
  channelId: string;
  messageId: string;
}

export function formatPosition(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

export interface PanelBody {
  embeds: APIEmbed[];
  components: APIActionRowComponent<APIComponentInMessageActionRow>[];
}

export interface PanelOptions {
  /** The Discord Activity is on: a Watch together button launches it (activity.ts). */
  activity?: boolean;
}

export function renderPanel(detail: PartyDetail, ended = false, options: PanelOptions = {}): PanelBody {
  const embed = new EmbedBuilder()
    .setColor(ended ? colors.muted : colors.brand)
    .setTitle(`🎬 ${escapeDiscord(detail.title, 240)}`);
  if (ended) {
    return { embeds: [embed.setDescription(t.ended).toJSON()], components: [] };
  }
  const current = detail.queue.find((clip) => clip.id === detail.current_clip_id);
  const position = formatPosition(detail.current_position_seconds);
  const { duration, live, hold, waiting_for: waiting } = detail.playback;
  const at = duration ? `${position} / ${formatPosition(duration)}` : position;
  const names = truncate(waiting.map((who) => escapeDiscord(who.display_name, 100)).join(', '), 200);
  // A live stream has no timeline people know: where the party is, is how far behind live.
  const where = live ? t.behindLive(Math.round(live.live_point - detail.current_position_seconds)) : '';
  const state = live
    ? hold
      ? t.waitingLive(names, where)
      : detail.is_playing
        ? t.playingLive(where)
        : t.pausedLive(where)
    : hold
      ? t.waiting(names, at)
      : detail.is_playing
        ? t.playing(at)
        : t.paused(at);
  embed.setDescription(
    current
      ? `**${t.nowPlaying}:** ${escapeDiscord(current.title, 200)}${current.kind === 'parti-live' ? ` (${t.live})` : ''}\n${state} · ${t.asOf(discordTime(Date.now() / 1000, 't'))}`
      : t.nothingPlaying,
  );
  const next = detail.queue.slice(detail.playback.clip_index + 1, detail.playback.clip_index + 4);
  embed.addFields(
    { name: t.invite, value: `\`${detail.invite_code}\``, inline: true },
    { name: t.participants, value: `${detail.participant_count} / ${detail.max_participants}`, inline: true },
    { name: t.host, value: `<@${detail.host_user_id}>`, inline: true },
    ...(next.length > 0
      ? [
          {
            name: t.upNext,
            value: truncate(next.map((clip, i) => `${i + 1}. ${escapeDiscord(clip.title, 300)}`).join('\n'), 1024),
          },
        ]
      : []),
  );
  embed.setFooter({
    text: detail.wait_for_everyone ? `${t.footer} ${t.footerWait(MAX_HOLD_MS / 1000)}` : t.footer,
  });
  if (current?.thumbnail_url && /^https:\/\//.test(current.thumbnail_url)) embed.setThumbnail(current.thumbnail_url);

  const id = detail.id;
  const controls = new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder().setCustomId(`party:join:${id}`).setLabel(t.join).setStyle(ButtonStyle.Primary),
    new ButtonBuilder()
      .setCustomId(`party:toggle:${id}`)
      .setLabel(detail.is_playing || hold ? t.pause : t.play)
      .setStyle(ButtonStyle.Secondary)
      .setDisabled(!current),
    new ButtonBuilder()
      .setCustomId(`party:back:${id}`)
      .setLabel(t.back)
      .setStyle(ButtonStyle.Secondary)
      .setDisabled(!current),
    // On a live stream there is nothing ahead of the live point: the button goes back to it.
    new ButtonBuilder()
      .setCustomId(live ? `party:golive:${id}` : `party:fwd:${id}`)
      .setLabel(live ? t.goLive : t.forward)
      .setStyle(ButtonStyle.Secondary)
      .setDisabled(!current),
    new ButtonBuilder()
      .setCustomId(`party:skip:${id}`)
      .setLabel(t.skip)
      .setStyle(ButtonStyle.Secondary)
      .setDisabled(!current),
  );
  const more = new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder().setCustomId(`party:end:${id}`).setLabel(t.end).setStyle(ButtonStyle.Danger),
    // Host and co-hosts: opens a private list of who can be taken out of the party.
    new ButtonBuilder().setCustomId(`party:remove:${id}`).setLabel(t.remove).setStyle(ButtonStyle.Secondary),
  );
  if (options.activity) {
    more.addComponents(
      new ButtonBuilder().setCustomId(`party:activity:${id}`).setLabel(t.watchTogether).setStyle(ButtonStyle.Success),
    );
  }
  if (detail.visibility === 'public') {
    more.addComponents(new ButtonBuilder().setStyle(ButtonStyle.Link).setURL(detail.invite_url).setLabel(t.openPlayer));
  }
  return { embeds: [embed.toJSON()], components: [controls.toJSON(), more.toJSON()] };
}

export type PartyPanels = ReturnType<typeof createPartyPanels>;

/** Posts panels, remembers where they are, and edits them when their party changes. */
export function createPartyPanels(options: {
  store: Store;
  rest: REST;
  party: PartyService;
  logger: Logger;
  /** The Discord Activity is on (activity.ts): panels get a Watch together button. */
  activity?: boolean;
}) {
  const { store, rest, party } = options;
  const render = (detail: PartyDetail, ended = false): PanelBody =>
    renderPanel(detail, ended, { activity: options.activity === true });
  const log = options.logger.child({ module: 'party-panel' });
  const lastEdit = new Map<string, number>();
  const pending = new Map<string, NodeJS.Timeout>();

  async function panelOf(partyId: string): Promise<PanelRef | undefined> {
    return store.parties.get<PanelRef>(partyKeys.panel(partyId));
  }

  async function edit(partyId: string, body: PanelBody): Promise<void> {
    const ref = await panelOf(partyId);
    if (ref) await editAt(ref, partyId, body);
  }

  async function editAt(ref: PanelRef, partyId: string, body: PanelBody): Promise<void> {
    lastEdit.set(partyId, Date.now());
    try {
      await rest.patch(Routes.channelMessage(ref.channelId, ref.messageId), { body });
    } catch (error) {
      const refused = discordRefusal(error)?.refusal;
      if (refused === 'unknownMessage' || refused === 'unknownChannel') {
        // The panel (or its channel) was deleted; the party goes on without it.
        await store.parties.delete(partyKeys.panel(partyId));
        return;
      }
      log.warn({ err: error, partyId }, 'party panel edit failed');
    }
  }

  function schedule(partyId: string): void {
    if (pending.has(partyId)) return;
    const wait = Math.max(0, (lastEdit.get(partyId) ?? 0) + PANEL_EDIT_INTERVAL_MS - Date.now());
    const timer = setTimeout(() => {
      pending.delete(partyId);
      // Render what is true when the edit goes out, not when it was scheduled; nothing for a party
      // that has no panel (one made over the API).
      void (async () => {
        const ref = await panelOf(partyId);
        const latest = ref && (await party.getParty(partyId));
        if (ref && latest) await editAt(ref, partyId, render(latest));
      })().catch((error: unknown) => log.warn({ err: error, partyId }, 'party panel refresh failed'));
    }, wait);
    timer.unref();
    pending.set(partyId, timer);
  }

  const offState = party.on('state', schedule);
  const offEnded = party.on('ended', ({ party: detail }) => {
    clearTimeout(pending.get(detail.id));
    pending.delete(detail.id);
    void edit(detail.id, render(detail, true)).then(() => store.parties.delete(partyKeys.panel(detail.id)));
  });

  return {
    /** Posts the panel in a channel and remembers it as that channel's party. */
    async post(detail: PartyDetail, guildId: string, channelId: string): Promise<PanelRef> {
      const message = (await rest.post(Routes.channelMessages(channelId), {
        body: { ...render(detail), allowed_mentions: { parse: [] } },
      })) as APIMessage;
      const ref = { guildId, channelId, messageId: message.id };
      lastEdit.set(detail.id, Date.now());
      await store.parties.set(partyKeys.panel(detail.id), ref);
      await store.parties.set(partyKeys.channel(channelId), detail.id);
      return ref;
    },
    /** The panel as it is now: for a button's answer. */
    render,
    /**
     * Makes a channel the party's without a panel there (`/party create voice-channel:`): an Activity
     * launched in it, and /party in its chat, find the party.
     */
    async bind(channelId: string, partyId: string): Promise<void> {
      await store.parties.set(partyKeys.channel(channelId), partyId);
    },
    /** The party whose panel was last posted in this channel, if it is still live. */
    async partyInChannel(channelId: string): Promise<PartyDetail | null> {
      const partyId = await store.parties.get<string>(partyKeys.channel(channelId));
      return partyId ? party.getParty(partyId) : null;
    },
    /** A button already answered with the new panel: count it against the budget. */
    noteEdited(partyId: string): void {
      lastEdit.set(partyId, Date.now());
    },
    close(): void {
      offState();
      offEnded();
      for (const timer of pending.values()) clearTimeout(timer);
      pending.clear();
    },
  };
}
