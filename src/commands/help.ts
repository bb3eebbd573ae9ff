// /help: every command the bot has, read from the command definitions so it never goes stale.
// It is given the others (commands/index.ts) rather than importing the list it is part of.
import { ApplicationCommandOptionType, EmbedBuilder, MessageFlags } from 'discord.js';
import { colors } from '../discord/format.js';
import { noMentions } from '../discord/respond.js';
import { strings } from '../strings.js';
import type { Command } from './command.js';

function usage(command: Command): string[] {
  // A subcommand group's subcommands are listed as `/command group subcommand`.
  const subcommands = (command.data.options ?? []).flatMap((option) =>
    option.type === ApplicationCommandOptionType.Subcommand
      ? [{ path: [option.name], sub: option }]
      : option.type === ApplicationCommandOptionType.SubcommandGroup
        ? (option.options ?? []).map((sub) => ({ path: [option.name, sub.name], sub }))
        : [],
  );
  if (subcommands.length === 0) return [`\`/${command.data.name}\` — ${command.data.description}`];
  return subcommands.map(({ path, sub }) => {
    const options = (sub.options ?? []).map((option) => (option.required ? option.name : `[${option.name}]`));
    return `\`/${[command.data.name, ...path, ...options].join(' ')}\` — ${sub.description}`;
  });
}

/** /help describing `others`. */
export function helpCommand(others: readonly Command[]): Command {
  return {
    data: {
      name: 'help',
      description: 'What this bot can do',
    },
    async execute(interaction) {
      const embed = new EmbedBuilder()
        .setColor(colors.brand)
        .setTitle(strings.helpTitle)
        .setDescription([strings.helpIntro, '', ...others.flatMap(usage)].join('\n'));
      await interaction.reply({ embeds: [embed], flags: MessageFlags.Ephemeral, allowedMentions: noMentions });
    },
  };
}
