// /help: every command the bot has, read from the command definitions so it never goes stale.
// It is given the others (commands/index.ts) rather than importing the list it is part of.
import { ApplicationCommandOptionType, EmbedBuilder, MessageFlags } from 'discord.js';
import { colors } from '../discord/format.js';
import { noMentions } from '../discord/respond.js';
import { strings } from '../strings.js';
import type { Command } from './command.js';

function usage(command: Command): string[] {
  const subcommands = (command.data.options ?? []).filter(
    (option) => option.type === ApplicationCommandOptionType.Subcommand,
  );
  if (subcommands.length === 0) return [`\`/${command.data.name}\` — ${command.data.description}`];
  return subcommands.map((sub) => {
    const options = (sub.options ?? []).map((option) => (option.required ? option.name : `[${option.name}]`));
    return `\`/${[command.data.name, sub.name, ...options].join(' ')}\` — ${sub.description}`;
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
