// /party schedule when source [voice-channel] [title]: a watch party that opens at a set time, with
// a server event members can press Interested on. Kept beside party.ts, which hands it the
// interaction; the planning itself is src/schedules/plans.ts.
import {
  ActionRowBuilder,
  ApplicationCommandOptionType,
  ButtonBuilder,
  ButtonStyle,
  ChannelType,
  PermissionFlagsBits,
  type ApplicationCommandOptionChoiceData,
  type ChatInputCommandInteraction,
  type GuildBasedChannel,
} from 'discord.js';
import type { Deps } from '../deps.js';
import { respond } from '../discord/respond.js';
import { UserError } from '../errors.js';
import { partyStrings } from '../party/strings.js';
import { parseWhen, PLAN_MAX_DAYS } from '../schedules/plans.js';
import { planStrings as t } from '../schedules/strings.js';

export const scheduleSubcommand = {
  type: ApplicationCommandOptionType.Subcommand,
  name: 'schedule',
  description: 'Plan a watch party for later, with a server event members can follow',
  options: [
    {
      type: ApplicationCommandOptionType.String,
      name: 'when',
      description: 'in 2h, 20:30 (UTC), or 2026-12-24T18:00Z',
      required: true,
      autocomplete: true,
      max_length: 60,
    },
    {
      type: ApplicationCommandOptionType.String,
      name: 'source',
      description: 'Parti video link, creator (live), or a .m3u8/.mp4/.webm URL',
      required: true,
      max_length: 300,
    },
    {
      type: ApplicationCommandOptionType.Channel,
      name: 'voice-channel',
      description: 'Hold the event in this voice channel (default: an event with the invite link)',
      channel_types: [ChannelType.GuildVoice],
    },
    { type: ApplicationCommandOptionType.String, name: 'title', description: 'Party title', max_length: 100 },
  ],
} as const;

function relative(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `in ${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `in ${hours} h ${minutes % 60} min` : `in ${Math.round(hours / 24)} days`;
}

/** Autocomplete of `when`: the time it reads, so the member sees it before sending. */
export function whenChoices(typed: string, now = Date.now()): ApplicationCommandOptionChoiceData[] {
  const at = typed.trim() ? parseWhen(typed, now) : undefined;
  if (at === undefined || at <= now) return [{ name: t.choiceBad, value: typed.slice(0, 100) || 'in 1h' }];
  const iso = new Date(at).toISOString();
  return [{ name: t.choice(`${iso.slice(0, 16).replace('T', ' ')} UTC`, relative(at - now)), value: iso }];
}

export async function planParty(
  interaction: ChatInputCommandInteraction<'cached'>,
  deps: Deps,
  args: { when: string; source: string; title?: string | undefined; voice?: GuildBasedChannel | undefined },
): Promise<void> {
  const now = Date.now();
  const startMs = parseWhen(args.when, now);
  if (startMs === undefined) throw new UserError(t.badTime(args.when));
  if (startMs <= now) throw new UserError(t.pastTime);
  if (startMs > now + PLAN_MAX_DAYS * 86_400_000) throw new UserError(t.tooFar(PLAN_MAX_DAYS));
  const channel = interaction.channel;
  const me = interaction.guild.members.me;
  if (!channel || !me) throw new UserError(t.guildOnly);
  const here = channel.permissionsFor(me);
  if (!here?.has([PermissionFlagsBits.ViewChannel, PermissionFlagsBits.SendMessages, PermissionFlagsBits.EmbedLinks])) {
    throw new UserError(t.cannotPost(`<#${channel.id}>`));
  }
  if (args.voice && args.voice.type !== ChannelType.GuildVoice) throw new UserError(t.notVoice);
  const where = args.voice ? args.voice.permissionsFor(me) : me.permissions;
  if (!where?.any([PermissionFlagsBits.CreateEvents, PermissionFlagsBits.ManageEvents])) {
    throw new UserError(t.missingPermission);
  }
  // Discord also wants a voice event's maker to see and connect to its channel.
  if (args.voice && !where.has([PermissionFlagsBits.ViewChannel, PermissionFlagsBits.Connect])) {
    throw new UserError(t.cannotUseVoice(`<#${args.voice.id}>`));
  }
  await respond(
    interaction,
    async () => {
      const { created, url } = await deps.schedules.plan({
        guildId: interaction.guildId,
        channelId: channel.id,
        voiceChannelId: args.voice?.id,
        host: {
          id: interaction.user.id,
          name: interaction.member.displayName,
          avatar: interaction.user.displayAvatarURL({ size: 128 }),
        },
        source: args.source,
        title: args.title,
        startMs,
      });
      return {
        content: t.planned(startMs, created.invite_code, url),
        components: [
          new ActionRowBuilder<ButtonBuilder>().addComponents(
            new ButtonBuilder()
              .setStyle(ButtonStyle.Link)
              .setURL(`${created.invite_url}#token=${created.token}`)
              .setLabel(partyStrings.openPlayer),
          ),
        ],
      };
    },
    { ephemeral: true },
  );
}
