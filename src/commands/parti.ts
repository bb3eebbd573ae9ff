// /parti: look up creators and see what is on Parti without leaving Discord.
import {
  ApplicationCommandOptionType,
  MessageFlags,
  type BaseMessageOptions,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
} from 'discord.js';
import type { Deps } from '../deps.js';
import { decodePageRef, isExpired, pageButtons, type PageRef } from '../discord/paging.js';
import { noMentions, respond } from '../discord/respond.js';
import { UserError } from '../errors.js';
import { creatorCard, resolvePartiUser, resolveSocial } from '../lookups/creators.js';
import { categoriesEmbed, categoryChoices, renderList, resolveCategory, type ListKind } from '../lookups/lists.js';
import { lookupStrings as t } from '../lookups/strings.js';
import { strings } from '../strings.js';
import { focusedOption, subcommandArgs } from './args.js';
import type { Command, CommandData } from './command.js';

const listKinds: readonly ListKind[] = ['live', 'schedule', 'recent', 'featured'];

const categoryOption = {
  type: ApplicationCommandOptionType.String,
  name: 'category',
  description: 'Only this category',
  autocomplete: true,
  required: false,
} as const;

async function listMessage(deps: Deps, ref: PageRef): Promise<BaseMessageOptions> {
  const { embed, hasNext } = await renderList(deps.parti, ref.kind as ListKind, ref.params, ref.page);
  const row = pageButtons('parti', ref, hasNext, { previous: t.previous, next: t.next, page: t.page });
  return { embeds: [embed], components: row ? [row] : [] };
}

function firstPage(interaction: ChatInputCommandInteraction, kind: ListKind, params: string[]): PageRef {
  return { kind, ownerId: interaction.user.id, issuedAt: Date.now(), page: 0, params };
}

const data = {
  name: 'parti',
  description: 'Look up Parti creators and see who is live',
  options: [
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'user',
      description: "A creator's card: profile, live now, recent streams",
      options: [
        {
          type: ApplicationCommandOptionType.String,
          name: 'query',
          description: 'Parti id, creator or video link, twitter:name, discord:name, telegram:name, or a Parti name',
          required: true,
          max_length: 100,
        },
      ],
    },
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'whois',
      description: 'The Parti account linked to a server member',
      options: [
        {
          type: ApplicationCommandOptionType.User,
          name: 'member',
          description: 'Whose Parti account (default: you)',
          required: false,
        },
      ],
    },
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'live',
      description: 'Who is live now, most viewers first',
      options: [categoryOption],
    },
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'schedule',
      description: 'Upcoming scheduled streams, soonest first',
      options: [categoryOption],
    },
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'recent',
      description: 'Recently ended streams with links to their videos',
      options: [
        {
          type: ApplicationCommandOptionType.String,
          name: 'creator',
          description: 'Only this creator (any form /parti user accepts)',
          required: false,
          max_length: 100,
        },
        categoryOption,
        {
          type: ApplicationCommandOptionType.String,
          name: 'sort',
          description: 'Newest first (default) or most viewed first',
          required: false,
          choices: [
            { name: 'newest first', value: 'date' },
            { name: 'most viewed first', value: 'views' },
          ],
        },
      ],
    },
    { type: ApplicationCommandOptionType.Subcommand, name: 'categories', description: 'All Parti categories' },
    { type: ApplicationCommandOptionType.Subcommand, name: 'featured', description: 'Channels Parti features' },
  ],
} as const satisfies CommandData;

export default {
  data,

  async execute(interaction, { deps }) {
    const { parti } = deps;
    const { subcommand, args } = subcommandArgs(interaction, data);
    switch (subcommand) {
      case 'user': {
        await respond(interaction, async () => creatorCard(parti, await resolvePartiUser(parti, args.query)));
        return;
      }
      case 'whois': {
        const user = args.member ?? interaction.user;
        await respond(interaction, async () => {
          // Parti stores Discord links as username#discriminator; new-style accounts have discriminator 0.
          const handle = `${user.username}#${user.discriminator || '0'}`;
          let userId: number;
          try {
            userId = await resolveSocial(parti, 'discord', handle);
          } catch (error) {
            if (error instanceof UserError) throw new UserError(t.notLinked(user.username));
            throw error;
          }
          return creatorCard(parti, userId);
        });
        return;
      }
      case 'live':
      case 'schedule': {
        await respond(interaction, async () => {
          const category = await resolveCategory(parti, args.category);
          return listMessage(deps, firstPage(interaction, subcommand, [category ? String(category.category_id) : '']));
        });
        return;
      }
      case 'recent': {
        await respond(interaction, async () => {
          const [userId, category] = await Promise.all([
            args.creator ? resolvePartiUser(parti, args.creator) : Promise.resolve(undefined),
            resolveCategory(parti, args.category),
          ]);
          const sort = args.sort ?? 'date';
          const params = [userId ? String(userId) : '', category ? String(category.category_id) : '', sort];
          return listMessage(deps, firstPage(interaction, 'recent', params));
        });
        return;
      }
      case 'featured':
        await respond(interaction, () => listMessage(deps, firstPage(interaction, 'featured', [])));
        return;
      case 'categories':
        await respond(interaction, async () => ({ embeds: [await categoriesEmbed(parti)] }));
        return;
    }
  },

  async autocomplete(interaction, { deps }) {
    const focused = focusedOption(interaction, data);
    if (focused.name !== 'category') return [];
    return categoryChoices(deps.parti, focused.value);
  },

  async button(interaction: ButtonInteraction, { deps }, args) {
    const ref = decodePageRef(args);
    if (!ref || !listKinds.includes(ref.kind as ListKind)) {
      await interaction.reply({ content: strings.buttonExpired, flags: MessageFlags.Ephemeral });
      return;
    }
    if (interaction.user.id !== ref.ownerId) {
      await interaction.reply({
        content: strings.notYourButton,
        flags: MessageFlags.Ephemeral,
        allowedMentions: noMentions,
      });
      return;
    }
    if (isExpired(ref)) {
      // Take the dead buttons away so nobody else tries them, and say why.
      await interaction.update({ components: [] });
      await interaction.followUp({ content: strings.buttonExpired, flags: MessageFlags.Ephemeral });
      return;
    }
    await respond(interaction, () => listMessage(deps, ref), { update: true });
  },
} satisfies Command;
