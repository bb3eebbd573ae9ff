// /party: watch a Parti stream or recording together. The host starts a party from Discord, a
// panel in the channel shows it, members join with a personal player link, and the panel's
// buttons drive playback through the same room logic as the web player's own controls.
import {
  ActionRowBuilder,
  ApplicationCommandOptionType,
  ButtonBuilder,
  ButtonStyle,
  ChannelType,
  EmbedBuilder,
  InteractionContextType,
  MessageFlags,
  PermissionFlagsBits,
  StringSelectMenuBuilder,
  type BaseMessageOptions,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type User,
} from 'discord.js';
import type { Deps } from '../deps.js';
import { colors, escapeDiscord } from '../discord/format.js';
import { noMentions, respond } from '../discord/respond.js';
import { UserError } from '../errors.js';
import { activityEnabled } from '../party/activity.js';
import { renderPanel } from '../party/panel.js';
import type { ChatSetting, PartyDetail } from '../party/protocol.js';
import { MAX_HOLD_MS } from '../party/room.js';
import { PartyError, type PartyUser } from '../party/service.js';
import { partyStrings as t, threadStrings } from '../party/strings.js';
import { cleanText } from '../text.js';
import { focusedOption, subcommandArgs } from './args.js';
import { planParty, scheduleSubcommand, whenChoices } from './partySchedule.js';
import type { Command, CommandData } from './command.js';

const SEEK_STEP_SECONDS = 10;

function partyUser(user: User, displayName?: string): PartyUser {
  return { id: user.id, name: displayName ?? user.displayName, avatar: user.displayAvatarURL({ size: 128 }) };
}

function linkReply(text: string, url: string): BaseMessageOptions {
  return {
    content: text,
    components: [
      new ActionRowBuilder<ButtonBuilder>().addComponents(
        new ButtonBuilder().setStyle(ButtonStyle.Link).setURL(url).setLabel(t.openPlayer),
      ),
    ],
  };
}

/** The party a command means: by invite code, else the one whose panel is in this channel. */
async function targetParty(
  interaction: ChatInputCommandInteraction,
  deps: Deps,
  givenCode: string | undefined,
): Promise<PartyDetail> {
  const code = givenCode?.trim();
  // A wrong code counts against the member, as one typed on the web counts against the address.
  const detail = code
    ? await deps.party.findByCode(code, { userId: interaction.user.id })
    : await deps.panels.partyInChannel(interaction.channelId);
  if (!detail) throw new UserError(code ? t.notFound : t.noPartyHere);
  return detail;
}

async function personalLink(deps: Deps, detail: PartyDetail, user: User, displayName?: string): Promise<string> {
  const joined = await deps.party.joinByCode(detail.invite_code, partyUser(user, displayName));
  return `${joined.invite_url}#token=${joined.token}`;
}

const sourceOption = {
  type: ApplicationCommandOptionType.String,
  name: 'source',
  description: 'Parti video link, creator (live), or a .m3u8/.mp4/.webm URL',
  required: true,
  max_length: 300,
} as const;

const codeOption = {
  type: ApplicationCommandOptionType.String,
  name: 'code',
  description: 'Invite code (default: the party in this channel)',
  min_length: 6,
  max_length: 6,
} as const;

/** Starts a party in the interaction's channel: panel posted there, host link sent privately. */
export async function startParty(
  interaction: ChatInputCommandInteraction | ButtonInteraction,
  deps: Deps,
  input: {
    source: string;
    title?: string | undefined;
    visibility?: 'public' | 'private';
    maxParticipants?: number | undefined;
    waitForEveryone?: boolean | undefined;
    chat?: ChatSetting | undefined;
    /** A voice channel the party is bound to: the Activity launched there plays this party. */
    voiceChannelId?: string | undefined;
  },
): Promise<void> {
  if (!interaction.inCachedGuild() || !interaction.channel) throw new UserError(t.guildOnly);
  const channel = interaction.channel;
  const me = interaction.guild.members.me;
  const can = me ? channel.permissionsFor(me) : null;
  if (!can?.has([PermissionFlagsBits.ViewChannel, PermissionFlagsBits.SendMessages, PermissionFlagsBits.EmbedLinks])) {
    throw new UserError(t.cannotPost(`<#${channel.id}>`));
  }
  const host = interaction.member;
  await respond(
    interaction,
    async () => {
      const created = await deps.party.createParty({
        host: partyUser(interaction.user, host.displayName),
        source: input.source,
        title: input.title,
        visibility: input.visibility ?? 'public',
        maxParticipants: input.maxParticipants,
        waitForEveryone: input.waitForEveryone,
        chat: input.chat,
      });
      const panel = await deps.panels.post(created.detail, interaction.guildId, channel.id);
      if (input.voiceChannelId) await deps.panels.bind(input.voiceChannelId, created.id);
      const missing = await deps.threads.open(created.detail, panel, can);
      const reply = linkReply(t.created(created.invite_code), `${created.invite_url}#token=${created.token}`);
      // Told once, to the host, when the party starts: chat then stays on the page.
      if (missing.length > 0) reply.content = `${reply.content}\n${threadStrings.missing(missing, `<#${channel.id}>`)}`;
      // A party meant for a voice channel, on a bot without the Activity: say how it is turned on.
      const voice = input.voiceChannelId !== undefined || channel.type === ChannelType.GuildVoice;
      if (voice && !activityEnabled(deps.config)) reply.content = `${reply.content}\n${t.activityOff}`;
      return reply;
    },
    { ephemeral: true },
  );
}

/**
 * A go-live card's Watch together: a party of the live stream whose panel goes in the card's channel
 * (so the Activity opened from there finds it), then the Activity. Launching must be the answer to the
 * press, within Discord's 3 s: the party is made first, and a slow Parti fails the press visibly.
 */
async function watchLiveTogether(interaction: ButtonInteraction, deps: Deps, creatorId: string): Promise<void> {
  if (!activityEnabled(deps.config)) throw new UserError(t.activityOff);
  if (!interaction.inCachedGuild() || !interaction.channel) throw new UserError(t.guildOnly);
  const bound = await deps.panels.partyInChannel(interaction.channelId);
  if (!bound) {
    const created = await deps.party.createParty({
      host: partyUser(interaction.user, interaction.member.displayName),
      source: `creator:${creatorId}`,
      visibility: 'public',
    });
    await deps.panels.post(created.detail, interaction.guildId, interaction.channelId);
  }
  await interaction.launchActivity();
}

const data = {
  name: 'party',
  description: 'Watch a Parti stream or recording together',
  contexts: [InteractionContextType.Guild],
  options: [
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'create',
      description: 'Start a watch party in this channel',
      options: [
        sourceOption,
        { type: ApplicationCommandOptionType.String, name: 'title', description: 'Party title', max_length: 100 },
        {
          type: ApplicationCommandOptionType.String,
          name: 'visibility',
          description: 'Public: anyone with the link can join as a guest (default). Private: members only',
          choices: [
            { name: 'public', value: 'public' },
            { name: 'private', value: 'private' },
          ],
        },
        {
          type: ApplicationCommandOptionType.Integer,
          name: 'max_participants',
          description: 'Most people at once (default 100)',
          min_value: 2,
          max_value: 100_000,
        },
        {
          type: ApplicationCommandOptionType.Boolean,
          name: 'wait-for-everyone',
          description: `Pause for anyone buffering, up to ${MAX_HOLD_MS / 1000} s (default: no, they catch up)`,
        },
        {
          type: ApplicationCommandOptionType.String,
          name: 'chat',
          description: 'Who can chat on the player page (default: everyone)',
          choices: [
            { name: 'everyone', value: 'everyone' },
            { name: 'members (not guests)', value: 'members' },
            { name: 'off', value: 'off' },
          ],
        },
        {
          type: ApplicationCommandOptionType.Channel,
          name: 'voice-channel',
          description: 'Watch together in this voice channel: its Activity plays this party',
          channel_types: [ChannelType.GuildVoice],
        },
      ],
    },
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'join',
      description: 'Get your personal player link for a party',
      options: [{ ...codeOption, description: 'Invite code (default: the party in this channel)' }],
    },
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'info',
      description: 'What a party is playing and who is there',
      options: [codeOption],
    },
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'end',
      description: 'End your party (host only)',
      options: [codeOption],
    },
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'cohost',
      description: 'Let a member control playback too (host only)',
      options: [
        { type: ApplicationCommandOptionType.User, name: 'member', description: 'Who', required: true },
        codeOption,
      ],
    },
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'add',
      description: 'Add a clip to the queue (host and co-hosts)',
      options: [
        sourceOption,
        {
          type: ApplicationCommandOptionType.String,
          name: 'title',
          description: 'What the queue calls it (default: the video title, or words from the link)',
          max_length: 100,
        },
        codeOption,
      ],
    },
    scheduleSubcommand,
  ],
} as const satisfies CommandData;

const MAX_SELECT_OPTIONS = 25;

/**
 * The panel's Remove button: a private list of who the presser may remove (the host: anyone else; a
 * co-host: viewers), newest first, since whoever spoils a party has most often just come in.
 */
function removalPicker(detail: PartyDetail, actorUserId: string): BaseMessageOptions {
  const actor = detail.participants.find((p) => p.user_id === actorUserId);
  if (!actor || actor.role === 'viewer')
    throw new PartyError(403, 'NOT_ALLOWED', 'only the host and co-hosts remove people');
  const removable = detail.participants
    .filter((p) => p.user_id !== actorUserId && p.role !== 'host' && (actor.role === 'host' || p.role === 'viewer'))
    .sort((a, b) => b.joined_at.localeCompare(a.joined_at));
  if (removable.length === 0) return { content: t.nobodyToRemove };
  const shown = removable.slice(0, MAX_SELECT_OPTIONS);
  const menu = new StringSelectMenuBuilder()
    .setCustomId(`party:kick:${detail.id}`)
    .setPlaceholder(t.removePlaceholder)
    .addOptions(
      shown.map((p) => ({
        // Option labels are plain text, never markdown: cleaned, not escaped.
        label: cleanText(p.user.display_name, 100) || p.user_id,
        value: p.user_id,
        description: p.user_id.startsWith('guest:') ? `${p.role} · ${t.guestTag}` : p.role,
      })),
    );
  return {
    content: t.removePick(shown.length, removable.length),
    components: [new ActionRowBuilder<StringSelectMenuBuilder>().addComponents(menu)],
  };
}

export default {
  data,

  async execute(interaction, { deps, log }) {
    if (!interaction.inCachedGuild()) throw new UserError(t.guildOnly);
    const { subcommand, args } = subcommandArgs(interaction, data);
    if (subcommand === 'create') {
      await startParty(interaction, deps, {
        source: args.source,
        title: args.title,
        visibility: args.visibility ?? 'public',
        maxParticipants: args.max_participants,
        waitForEveryone: args['wait-for-everyone'],
        chat: args.chat,
        voiceChannelId: args['voice-channel']?.id,
      });
      log.info({ channelId: interaction.channelId }, 'watch party created');
      return;
    }
    if (subcommand === 'schedule') {
      const { when, source, title } = args;
      await planParty(interaction, deps, { when, source, title, voice: args['voice-channel'] });
      return;
    }
    const detail = await targetParty(interaction, deps, args.code);
    switch (subcommand) {
      case 'join': {
        const url = await personalLink(deps, detail, interaction.user, interaction.member.displayName);
        await interaction.reply({
          ...linkReply(t.joined(escapeDiscord(detail.title, 300)), url),
          flags: MessageFlags.Ephemeral,
        });
        return;
      }
      case 'info': {
        const panel = renderPanel(detail);
        const embed = EmbedBuilder.from(panel.embeds[0]!).setColor(colors.brand);
        await interaction.reply({ embeds: [embed], flags: MessageFlags.Ephemeral, allowedMentions: noMentions });
        return;
      }
      case 'end': {
        await deps.party.endParty(detail.id, interaction.user.id);
        await interaction.reply({ content: t.ended, flags: MessageFlags.Ephemeral });
        return;
      }
      case 'cohost': {
        const { member } = args;
        await deps.party.promoteCohost(detail.id, interaction.user.id, member.id);
        await interaction.reply({
          content: t.cohost(`<@${member.id}>`),
          flags: MessageFlags.Ephemeral,
          allowedMentions: noMentions,
        });
        return;
      }
      case 'add': {
        const { source, title } = args;
        await respond(
          interaction,
          async () => {
            const { clip, queue } = await deps.party.addClip(detail.id, interaction.user.id, source, title);
            return { content: t.added(escapeDiscord(clip.title, 300), queue.length) };
          },
          { ephemeral: true },
        );
        return;
      }
    }
  },

  autocomplete(interaction) {
    const focused = focusedOption(interaction, data);
    return Promise.resolve(focused.name === 'when' ? whenChoices(focused.value) : []);
  },

  async select(interaction, { deps, log }, args) {
    const [action, id] = args;
    const userId = interaction.values[0];
    if (action !== 'kick' || !id || !userId) {
      await interaction.reply({ content: t.notFound, flags: MessageFlags.Ephemeral });
      return;
    }
    const name = (await deps.party.getParty(id))?.participants.find((p) => p.user_id === userId)?.user.display_name;
    // The service decides who may remove whom; a refusal reaches the member through the one catch.
    await deps.party.removeMember(id, interaction.user.id, userId);
    log.info({ partyId: id, removed: userId }, 'watch party member removed from Discord');
    await interaction.update({ content: t.removedMember(escapeDiscord(name ?? userId, 100)), components: [] });
  },

  async button(interaction, { deps }, args) {
    const [action, id] = args;
    if (action === 'live' && id) {
      // "Start watch party" on a go-live card: whoever presses it hosts a party of that live stream.
      await startParty(interaction, deps, { source: `creator:${id}` });
      return;
    }
    if (action === 'together' && id) {
      // "Watch together" on a go-live card: a party of the live stream, bound to this channel, in the Activity.
      await watchLiveTogether(interaction, deps, id);
      return;
    }
    const detail = id ? await deps.party.getParty(id) : null;
    if (!detail) {
      await interaction.reply({ content: t.notFound, flags: MessageFlags.Ephemeral });
      return;
    }
    if (action === 'join') {
      const displayName = interaction.inCachedGuild() ? interaction.member.displayName : undefined;
      const url = await personalLink(deps, detail, interaction.user, displayName);
      await interaction.reply({
        ...linkReply(t.joined(escapeDiscord(detail.title, 300)), url),
        flags: MessageFlags.Ephemeral,
      });
      return;
    }
    if (action === 'end') {
      await deps.party.endParty(detail.id, interaction.user.id);
      await interaction.update(deps.panels.render(detail, true));
      return;
    }
    if (action === 'activity') {
      // The panel's channel is the party's: the Activity opened from here finds it (activity.ts).
      if (!activityEnabled(deps.config)) throw new UserError(t.activityOff);
      await interaction.launchActivity();
      return;
    }
    if (action === 'remove') {
      await interaction.reply({ ...removalPicker(detail, interaction.user.id), flags: MessageFlags.Ephemeral });
      return;
    }
    const position = detail.current_position_seconds;
    const command =
      action === 'toggle'
        ? ({ type: detail.is_playing || detail.playback.hold ? 'pause' : 'play' } as const)
        : action === 'back'
          ? ({ type: 'seek', position: Math.max(0, position - SEEK_STEP_SECONDS) } as const)
          : action === 'fwd'
            ? ({ type: 'seek', position: position + SEEK_STEP_SECONDS } as const)
            : action === 'golive'
              ? ({ type: 'go-live' } as const)
              : action === 'skip'
                ? ({ type: 'skip' } as const)
                : undefined;
    if (!command) {
      await interaction.reply({ content: t.notFound, flags: MessageFlags.Ephemeral });
      return;
    }
    // The service enforces roles: a viewer's press changes nothing and is refused here.
    await deps.party.command(detail.id, interaction.user.id, command);
    const updated = (await deps.party.getParty(detail.id)) ?? detail;
    deps.panels.noteEdited(detail.id);
    await interaction.update(deps.panels.render(updated));
  },
} satisfies Command;
