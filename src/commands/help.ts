// /help: every command the bot has, read from the command definitions so it never goes stale.
import { ApplicationCommandOptionType, EmbedBuilder, MessageFlags } from 'discord.js';
import { colors } from '../discord/format.js';
import { noMentions } from '../discord/respond.js';
import { commands, type Command } from './index.js';

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

export default {
  data: {
    name: 'help',
    description: 'What this bot can do',
  },
  async execute(interaction) {
    const embed = new EmbedBuilder()
      .setColor(colors.brand)
      .setTitle('Parti bot')
      .setDescription(
        [
          'Look up Parti creators, see who is live, and more. Options in [brackets] are optional.',
          '',
          ...commands.filter((command) => command.data.name !== 'help').flatMap(usage),
        ].join('\n'),
      );
    await interaction.reply({ embeds: [embed], flags: MessageFlags.Ephemeral, allowedMentions: noMentions });
  },
} satisfies Command;
