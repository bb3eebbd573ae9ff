// /alerts: server admins choose which creators or categories announce their go-lives where.
// Manage Server is the commands' default permission and is checked again here, at run time.
import type { PermissionsBitField } from 'discord.js';
import {
  ApplicationCommandOptionType,
  ChannelType,
  EmbedBuilder,
  InteractionContextType,
  MessageFlags,
  PermissionFlagsBits,
  type ChatInputCommandInteraction,
  type GuildBasedChannel,
  type Role,
} from 'discord.js';
import { alertText } from '../alerts/card.js';
import { resolveTarget } from '../alerts/target.js';
import { LimitReached, type Subscription } from '../alerts/subscriptions.js';
import { alertStrings as t } from '../alerts/strings.js';
import { MAX_TEMPLATE_LENGTH, unknownPlaceholders } from '../alerts/template.js';
import type { SubscriptionStatus } from '../alerts/posting.js';
import { colors, discordTime, escapeDiscord, truncate } from '../discord/format.js';
import { decodePageRef, isExpired, pageButtons, type PageRef } from '../discord/paging.js';
import { noMentions, respond } from '../discord/respond.js';
import { UserError } from '../errors.js';
import { creatorUrl, imageUrl } from '../lookups/creators.js';
import { categoryChoices } from '../lookups/lists.js';
import { strings } from '../strings.js';
import { cleanText } from '../text.js';
import type { Deps } from '../deps.js';
import { autocompleteEvents, creatorOption, eventsGroup, executeEvents } from './alertEvents.js';
import { focusedOption, subcommandArgs } from './args.js';
import type { Command, CommandData } from './command.js';

const PAGE_SIZE = 10;

const subscriptionOption = {
  type: ApplicationCommandOptionType.String,
  name: 'subscription',
  description: 'Which alert',
  required: true,
  autocomplete: true,
} as const;

/** What the bot needs in a channel to post alert cards. */
const REQUIRED = [
  [PermissionFlagsBits.ViewChannel, 'View Channel'],
  [PermissionFlagsBits.SendMessages, 'Send Messages'],
  [PermissionFlagsBits.EmbedLinks, 'Embed Links'],
] as const;

function describeTarget(sub: Subscription): string {
  return sub.target.kind === 'creator'
    ? `**${escapeDiscord(sub.target.name, 200)}**`
    : `category **${escapeDiscord(sub.target.name, 200)}**`;
}

function requireAdmin(interaction: ChatInputCommandInteraction | { memberPermissions: PermissionsBitField | null }) {
  if (!interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) throw new UserError(t.adminOnly);
}

function checkChannel(channel: GuildBasedChannel, role: Role | null): void {
  if (channel.type !== ChannelType.GuildText && channel.type !== ChannelType.GuildAnnouncement) {
    throw new UserError(t.notTextChannel);
  }
  const me = channel.guild.members.me;
  const permissions = me ? channel.permissionsFor(me) : null;
  const missing = REQUIRED.filter(([flag]) => !permissions?.has(flag)).map(([, name]) => name);
  if (missing.length > 0) throw new UserError(t.missingPermissions(`<#${channel.id}>`, missing));
  if (role && !role.mentionable && !permissions?.has(PermissionFlagsBits.MentionEveryone)) {
    throw new UserError(t.roleNotMentionable(`<@&${role.id}>`));
  }
}

async function listPage(deps: Deps, guildId: string, ref: PageRef) {
  const subs = await deps.alerts.subscriptions.list(guildId);
  const embed = new EmbedBuilder()
    .setColor(colors.brand)
    .setTitle(t.listTitle(subs.length, deps.alerts.settings.maxPerGuild));
  if (subs.length === 0) return { embeds: [embed.setDescription(t.listEmpty)], components: [] };
  const slice = subs.slice(ref.page * PAGE_SIZE, (ref.page + 1) * PAGE_SIZE);
  const statuses = await Promise.all(slice.map((sub) => deps.alerts.status(sub.id)));
  const blocks = slice.map((sub, index) =>
    describeSubscription(deps, sub, statuses[index] ?? {}, ref.page * PAGE_SIZE + index + 1),
  );
  embed.setDescription(truncate(blocks.join('\n\n'), 4096));
  const pages = Math.ceil(subs.length / PAGE_SIZE);
  const row = pageButtons('alerts', ref, ref.page + 1 < pages, { previous: t.previous, next: t.next, page: t.page });
  return { embeds: [embed], components: row ? [row] : [] };
}

function describeSubscription(deps: Deps, sub: Subscription, status: SubscriptionStatus, number: number): string {
  const details = [
    `<#${sub.channelId}>`,
    sub.roleId ? `${t.role.toLowerCase()} <@&${sub.roleId}>` : undefined,
    status.lastAlertAt ? t.lastAlert(discordTime(status.lastAlertAt / 1000)) : t.neverAlerted,
  ].filter(Boolean);
  const lines = [`**${number}.** ${describeTarget(sub)} → ${details.join(' · ')}`];
  if (sub.template) lines.push(`> ${truncate(sub.template.replace(/\n/g, ' '), 200)}`);
  if (sub.paused) lines.push(t.paused(sub.paused.reason));
  if (status.capHitAt && status.capHitAt > Date.now() - 24 * 3_600_000) {
    lines.push(
      t.capped(deps.alerts.settings.categoryCapPerHour, discordTime(status.capHitAt / 1000), status.capSkipped ?? 0),
    );
  }
  return lines.join('\n');
}

const data = {
  name: 'alerts',
  description: 'Go-live alerts for Parti creators and categories (server admins)',
  default_member_permissions: String(PermissionFlagsBits.ManageGuild),
  contexts: [InteractionContextType.Guild],
  options: [
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'add',
      description: 'Announce when a creator, or anyone in a category, goes live',
      options: [
        creatorOption,
        {
          type: ApplicationCommandOptionType.String,
          name: 'category',
          description: 'Everyone who goes live in this category (or use creator)',
          autocomplete: true,
        },
        {
          type: ApplicationCommandOptionType.Channel,
          name: 'channel',
          description: 'Where to post (default: this channel)',
          channel_types: [ChannelType.GuildText, ChannelType.GuildAnnouncement],
        },
        { type: ApplicationCommandOptionType.Role, name: 'role', description: 'Role to ping with each alert' },
        {
          type: ApplicationCommandOptionType.String,
          name: 'message',
          description: 'Text above the card: {creator} {title} {category} {viewers} {url} {role}',
          max_length: MAX_TEMPLATE_LENGTH,
        },
      ],
    },
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'remove',
      description: 'Stop an alert',
      options: [subscriptionOption],
    },
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'list',
      description: 'Every alert on this server and how it is doing',
    },
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'test',
      description: 'Post a sample alert (nobody is pinged)',
      options: [subscriptionOption],
    },
    eventsGroup,
  ],
} as const satisfies CommandData;

export default {
  data,

  async execute(interaction, { deps, log }) {
    if (!interaction.inCachedGuild()) throw new UserError(t.guildOnly);
    requireAdmin(interaction);
    if (interaction.options.getSubcommandGroup(false) === 'events') return executeEvents(interaction, { deps, log });
    const guildId = interaction.guildId;
    const { subcommand, args } = subcommandArgs(interaction, data);

    if (subcommand === 'add') {
      const creator = args.creator?.trim() || null;
      const category = args.category?.trim() || null;
      if (!creator === !category) throw new UserError(t.exactlyOne);
      const template = args.message?.trim() || undefined;
      const unknown = template ? unknownPlaceholders(template) : [];
      if (unknown.length > 0) throw new UserError(t.badTemplate(unknown));
      const channel = args.channel ?? interaction.channel;
      if (!channel || channel.isThread() || !('guild' in channel)) throw new UserError(t.notTextChannel);
      const role = args.role ?? null;
      checkChannel(channel, role);

      await respond(
        interaction,
        async () => {
          const target = await resolveTarget(deps.parti, creator, category);
          let saved;
          try {
            saved = await deps.alerts.subscriptions.upsert(
              { guildId, channelId: channel.id, target, roleId: role?.id, template, createdBy: interaction.user.id },
              deps.alerts.settings.maxPerGuild,
            );
          } catch (error) {
            if (error instanceof LimitReached) throw new UserError(t.limit(error.max));
            throw error;
          }
          log.info(
            { subscriptionId: saved.subscription.id, target, channelId: channel.id },
            'alert subscription saved',
          );
          // A creator who is live right now gets their alert without waiting for the next poll.
          void deps.alerts.poll();
          const preview = alertText(
            template,
            {
              userId: 0,
              eventKey: 'preview',
              userName: target.kind === 'creator' ? target.name : t.sampleCreator,
              title: t.sampleTitle,
              category: target.kind === 'category' ? target.name : undefined,
              viewers: 42,
              peakViewers: 42,
              creatorUrl: 'https://parti.com/',
              startedAt: Date.now(),
            },
            role?.id,
          );
          const embed = new EmbedBuilder()
            .setColor(colors.ok)
            .setTitle(saved.created ? t.saved : t.updated)
            .addFields(
              {
                name: t.follows,
                value:
                  target.kind === 'creator'
                    ? t.creator(target.name)
                    : t.category(target.name).replace('%cap%', String(deps.alerts.settings.categoryCapPerHour)),
              },
              { name: t.channel, value: `<#${channel.id}>`, inline: true },
              { name: t.role, value: role ? `<@&${role.id}>` : t.nobody, inline: true },
              { name: t.preview, value: truncate(preview, 1024) || '—' },
            );
          return { embeds: [embed] };
        },
        { ephemeral: true },
      );
      return;
    }

    if (subcommand === 'remove') {
      const removed = await deps.alerts.subscriptions.remove(guildId, args.subscription);
      if (!removed) throw new UserError(t.unknownSubscription);
      log.info({ subscriptionId: removed.id }, 'alert subscription removed');
      await interaction.reply({
        content: t.removed(describeTarget(removed), `<#${removed.channelId}>`),
        flags: MessageFlags.Ephemeral,
        allowedMentions: noMentions,
      });
      return;
    }

    if (subcommand === 'list') {
      const ref: PageRef = { kind: 'list', ownerId: interaction.user.id, issuedAt: Date.now(), page: 0, params: [] };
      await respond(interaction, () => listPage(deps, guildId, ref), { ephemeral: true });
      return;
    }

    if (subcommand === 'test') {
      const sub = await deps.alerts.subscriptions.get(guildId, args.subscription);
      if (!sub) throw new UserError(t.unknownSubscription);
      const channel = interaction.guild.channels.cache.get(sub.channelId);
      if (channel) checkChannel(channel, null);
      await respond(
        interaction,
        async () => {
          const profile =
            sub.target.kind === 'creator'
              ? await deps.parti.getUserProfile(sub.target.userId).catch(() => undefined)
              : undefined;
          const name = sub.target.kind === 'creator' ? sub.target.name : t.sampleCreator;
          const result = await deps.alerts.postTest(sub, {
            userId: sub.target.kind === 'creator' ? sub.target.userId : 0,
            eventKey: 'test',
            userName: name,
            title: t.sampleTitle,
            category: sub.target.kind === 'category' ? sub.target.name : undefined,
            viewers: 42,
            peakViewers: 42,
            avatarUrl: imageUrl(profile?.avatar_link) ?? undefined,
            creatorUrl: (profile && creatorUrl(profile)) ?? 'https://parti.com/',
            startedAt: Date.now(),
          });
          if (result.problem) return { content: t.testFailed(result.problem.reason) };
          const url = `https://discord.com/channels/${guildId}/${sub.channelId}/${result.messageId ?? ''}`;
          return { content: t.testPosted(`<#${sub.channelId}>`, url) };
        },
        { ephemeral: true },
      );
      return;
    }
  },

  async autocomplete(interaction, ctx) {
    if (interaction.options.getSubcommandGroup(false) === 'events') return autocompleteEvents(interaction, ctx);
    const { deps } = ctx;
    const focused = focusedOption(interaction, data);
    if (focused.name === 'category') return categoryChoices(deps.parti, focused.value);
    if (focused.name !== 'subscription' || !interaction.guildId) return [];
    if (!interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) return [];
    const typed = focused.value.toLowerCase();
    const subs = await deps.alerts.subscriptions.list(interaction.guildId);
    return subs
      .map((sub) => {
        const channel = interaction.guild?.channels.cache.get(sub.channelId)?.name ?? sub.channelId;
        const kind = sub.target.kind === 'creator' ? 'creator' : 'category';
        // A choice's name is plain text: cleaned, not escaped.
        return { name: truncate(`${cleanText(sub.target.name, 60)} (${kind}) → #${channel}`, 100), value: sub.id };
      })
      .filter((choice) => !typed || choice.name.toLowerCase().includes(typed));
  },

  async button(interaction, { deps }, args) {
    const ref = decodePageRef(args);
    if (!ref || ref.kind !== 'list' || !interaction.inCachedGuild()) {
      await interaction.reply({ content: strings.buttonExpired, flags: MessageFlags.Ephemeral });
      return;
    }
    if (interaction.user.id !== ref.ownerId) {
      await interaction.reply({ content: strings.notYourButton, flags: MessageFlags.Ephemeral });
      return;
    }
    if (isExpired(ref)) {
      await interaction.update({ components: [] });
      return;
    }
    requireAdmin(interaction);
    await respond(interaction, () => listPage(deps, interaction.guildId, ref), { update: true });
  },
} satisfies Command;
