// Routes every interaction to its command, with the one catch that turns any failure into an
// ephemeral message (reply, editReply or followUp depending on the interaction's state).
import {
  Events,
  MessageFlags,
  type AutocompleteInteraction,
  type Interaction,
  type RepliableInteraction,
} from 'discord.js';
import { findCommand, type CommandContext } from '../commands/index.js';
import { describeError } from '../errors.js';
import { strings } from '../strings.js';
import { defineEvent } from './index.js';

export default defineEvent({
  name: Events.InteractionCreate,
  async execute(deps, interaction) {
    const commandName = interactionCommandName(interaction);
    const log = deps.logger.child({
      command: commandName,
      userId: interaction.user.id,
      guildId: interaction.guildId,
      interactionId: interaction.id,
    });
    const ctx: CommandContext = { deps, log };
    if (interaction.isAutocomplete()) {
      await answerAutocomplete(interaction, ctx, commandName);
      return;
    }
    if (!interaction.isRepliable()) return;
    try {
      if (deps.lifecycle.shuttingDown) {
        await interaction.reply({ content: strings.shuttingDown, flags: MessageFlags.Ephemeral });
        return;
      }
      const command = commandName ? findCommand(commandName) : undefined;
      if (interaction.isChatInputCommand() && command) {
        log.debug({ subcommand: interaction.options.getSubcommand(false) }, 'command');
        await command.execute(interaction, ctx);
      } else if (interaction.isButton() && command?.button) {
        const [, ...args] = interaction.customId.split(':');
        await command.button(interaction, ctx, args);
      } else {
        log.warn({ type: interaction.type }, 'interaction with no handler');
        await interaction.reply({ content: strings.buttonExpired, flags: MessageFlags.Ephemeral });
      }
    } catch (error) {
      await answerFailure(interaction, error, ctx);
    }
  },
});

function interactionCommandName(interaction: Interaction): string | undefined {
  if (interaction.isChatInputCommand() || interaction.isAutocomplete()) return interaction.commandName;
  if (interaction.isMessageComponent() || interaction.isModalSubmit()) return interaction.customId.split(':')[0];
  return undefined;
}

async function answerAutocomplete(
  interaction: AutocompleteInteraction,
  ctx: CommandContext,
  commandName: string | undefined,
): Promise<void> {
  const command = commandName ? findCommand(commandName) : undefined;
  let choices: Awaited<ReturnType<NonNullable<typeof command>['autocomplete'] & {}>> = [];
  try {
    if (command?.autocomplete && !ctx.deps.lifecycle.shuttingDown) {
      choices = (await command.autocomplete(interaction, ctx)).slice(0, 25);
    }
  } catch (error) {
    ctx.log.warn({ err: error }, 'autocomplete failed; answering an empty list');
  }
  if (interaction.responded) return;
  await interaction.respond(choices).catch((error: unknown) => {
    // Past Discord's 3-second window the interaction is gone; nothing more to do.
    ctx.log.debug({ err: error }, 'autocomplete answer not delivered');
  });
}

export async function answerFailure(interaction: RepliableInteraction, error: unknown, ctx: CommandContext) {
  const described = describeError(error);
  if (described.expected) ctx.log.info({ err: error }, 'command failed: %s', described.message);
  else ctx.log.error({ err: error, errorId: described.errorId }, 'command crashed');
  const payload = { content: described.message, embeds: [], components: [], allowedMentions: { parse: [] } };
  try {
    if (interaction.deferred || interaction.replied) {
      // A deferred ephemeral reply is edited; a public one keeps its message and gets a private note.
      if (interaction.deferred && !interaction.replied && interaction.ephemeral) await interaction.editReply(payload);
      else await interaction.followUp({ ...payload, flags: MessageFlags.Ephemeral });
    } else {
      await interaction.reply({ ...payload, flags: MessageFlags.Ephemeral });
    }
  } catch (replyError) {
    ctx.log.warn({ err: replyError }, 'could not tell the user about the failure');
  }
}

