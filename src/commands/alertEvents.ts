// /alerts events add|list|remove: which creators' and categories' Parti schedules a server mirrors
// into its Events tab. A subcommand group of /alerts (Manage Server), kept in its own file so
// alerts.ts only hands it the interaction.
import {
  ApplicationCommandOptionType,
  EmbedBuilder,
  MessageFlags,
  PermissionFlagsBits,
  type ApplicationCommandOptionChoiceData,
  type AutocompleteInteraction,
  type ChatInputCommandInteraction,
} from 'discord.js';
import type { AlertTarget } from '../alerts/subscriptions.js';
import { alertStrings } from '../alerts/strings.js';
import { resolveTarget } from '../alerts/target.js';
import { colors, discordTime, truncate } from '../discord/format.js';
import { noMentions, respond } from '../discord/respond.js';
import { UserError } from '../errors.js';
import { categoryChoices } from '../lookups/lists.js';
import { MIRROR_CAP_PER_GUILD, MIRROR_HORIZON_DAYS } from '../schedules/mirror.js';
import { SchedulesLimitReached, type EventSubscription } from '../schedules/records.js';
import { scheduleStrings as t } from '../schedules/strings.js';
import { cleanText } from '../text.js';
import type { Deps } from '../deps.js';
import { focusedOption, subcommandArgs } from './args.js';
import type { CommandContext, CommandData } from './command.js';

/** The creator an alert or a mirrored schedule follows (/alerts add, /alerts events add). */
export const creatorOption = {
  type: ApplicationCommandOptionType.String,
  name: 'creator',
  description: 'Parti id, creator link, twitter:name, discord:name… (or use category)',
  max_length: 100,
} as const;

/** The group's subcommands, shaped as a command so that args.ts reads them by name. */
const group = {
  name: 'events',
  description: "Parti schedules in this server's Events tab",
  options: [
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'add',
      description: "Mirror a creator's or a category's Parti schedule as server events",
      options: [
        creatorOption,
        {
          type: ApplicationCommandOptionType.String,
          name: 'category',
          description: 'Every scheduled stream in this category (or use creator)',
          autocomplete: true,
        },
        {
          type: ApplicationCommandOptionType.Boolean,
          name: 'live-events',
          description: 'Also make an event when they go live without a schedule (default: no)',
        },
      ],
    },
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'list',
      description: 'What this server mirrors, and how it is doing',
    },
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'remove',
      description: 'Stop mirroring a schedule (its upcoming events are cancelled)',
      options: [
        {
          type: ApplicationCommandOptionType.String,
          name: 'subscription',
          description: 'Which schedule',
          required: true,
          autocomplete: true,
        },
      ],
    },
  ],
} as const satisfies CommandData;

/** The `events` subcommand group of /alerts. */
export const eventsGroup = {
  type: ApplicationCommandOptionType.SubcommandGroup,
  name: group.name,
  description: group.description,
  options: group.options,
} as const;

function describe(target: AlertTarget): string {
  return target.kind === 'creator' ? t.creator(target.name) : t.category(target.name);
}

async function listEmbed(deps: Deps, guildId: string): Promise<EmbedBuilder> {
  const settings = await deps.schedules.records.settings(guildId);
  const embed = new EmbedBuilder().setColor(colors.brand).setTitle(t.listTitle(settings.subs.length));
  if (settings.subs.length === 0) return embed.setDescription(t.listEmpty);
  const upcoming = (await deps.schedules.records.guildEvents(guildId)).filter(
    (record) => record.kind === 'mirror' && (record.status === 'scheduled' || record.status === 'active'),
  ).length;
  const lines = settings.subs.map(
    (sub: EventSubscription, index) =>
      `**${index + 1}.** ${describe(sub.target)}${sub.liveEvents ? ` · ${t.liveEvents}` : ''}`,
  );
  lines.push('', t.mirrored(upcoming));
  if (settings.capped) lines.push(t.capped(MIRROR_CAP_PER_GUILD, settings.capped.wanted));
  if (settings.paused) lines.push(t.paused(settings.paused.reason, discordTime(settings.paused.at / 1000)));
  return embed.setDescription(truncate(lines.join('\n'), 4096));
}

export async function executeEvents(interaction: ChatInputCommandInteraction<'cached'>, { deps, log }: CommandContext) {
  const guildId = interaction.guildId;
  const { subcommand, args } = subcommandArgs(interaction, group);

  if (subcommand === 'add') {
    const creator = args.creator?.trim() || null;
    const category = args.category?.trim() || null;
    if (!creator === !category) throw new UserError(alertStrings.exactlyOne);
    const me = interaction.guild.members.me;
    if (!me?.permissions.any([PermissionFlagsBits.CreateEvents, PermissionFlagsBits.ManageEvents])) {
      throw new UserError(t.missingPermission);
    }
    await respond(
      interaction,
      async () => {
        const target = await resolveTarget(deps.parti, creator, category);
        let saved;
        try {
          saved = await deps.schedules.records.upsert(
            { guildId, target, liveEvents: args['live-events'] === true, createdBy: interaction.user.id },
            deps.schedules.settings.maxPerGuild,
          );
        } catch (error) {
          if (error instanceof SchedulesLimitReached) throw new UserError(t.limit(error.max));
          throw error;
        }
        log.info({ subscriptionId: saved.subscription.id, target }, 'schedule mirroring saved');
        deps.schedules.reconcileSoon();
        return {
          content: t.saved(describe(target), MIRROR_HORIZON_DAYS) + (saved.subscription.liveEvents ? t.savedLive : ''),
          allowedMentions: noMentions,
        };
      },
      { ephemeral: true },
    );
    return;
  }

  if (subcommand === 'remove') {
    const removed = await deps.schedules.records.remove(guildId, args.subscription);
    if (!removed) throw new UserError(t.unknownSubscription);
    log.info({ subscriptionId: removed.id }, 'schedule mirroring removed');
    deps.schedules.reconcileSoon();
    await interaction.reply({
      content: t.removed(describe(removed.target)),
      flags: MessageFlags.Ephemeral,
      allowedMentions: noMentions,
    });
    return;
  }

  await respond(interaction, async () => ({ embeds: [await listEmbed(deps, guildId)] }), { ephemeral: true });
}

export async function autocompleteEvents(
  interaction: AutocompleteInteraction,
  { deps }: CommandContext,
): Promise<ApplicationCommandOptionChoiceData[]> {
  const focused = focusedOption(interaction, group);
  if (focused.name === 'category') return categoryChoices(deps.parti, focused.value);
  if (!interaction.guildId || !interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) return [];
  const typed = focused.value.toLowerCase();
  const { subs } = await deps.schedules.records.settings(interaction.guildId);
  return subs
    .map((sub) => ({
      // A choice's name is plain text: cleaned, not escaped.
      name: truncate(`${cleanText(sub.target.name, 80)} (${sub.target.kind})`, 100),
      value: sub.id,
    }))
    .filter((choice) => !typed || choice.name.toLowerCase().includes(typed));
}
