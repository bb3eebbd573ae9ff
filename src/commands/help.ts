// /help: what the bot can do, with one example per command, so members find their way.
import { MessageFlags } from 'discord.js';
import type { Command } from './index.js';
import { EmbedBuilder } from 'discord.js';
import { colors } from '../discord/format.js';

export default {
  data: {
    name: 'help',
    description: 'What this bot can do, with examples',
  },
  async execute(interaction) {
    const embed = new EmbedBuilder()
      .setColor(colors.brand)
      .setTitle('Parti bot')
      .setDescription(
        'Look up Parti creators, get go-live alerts, and watch streams together.\n' +
          'Commands appear in the slash menu as they are enabled on this server.',
      );
    await interaction.reply({ embeds: [embed], flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
  },
} satisfies Command;
