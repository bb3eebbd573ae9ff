// Routes every interaction to its command, with the one catch that turns any failure into an
// ephemeral message (reply, editReply or followUp depending on the interaction's state).
import {
  Events,
  MessageFlags,
  type AutocompleteInteraction,
  type Interaction,
  type RepliableInteraction,
} from 'discord.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandContext } from '../commands/command.js';
import { findCommand } from '../commands/index.js';
import { describeError } from '../errors.js';
import { strings } from '../strings.js';
import { defineEvent } from './event.js';

const AUTOCOMPLETE_BUDGET_MS = 2_500;

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
      } else if (interaction.isStringSelectMenu() && command?.select) {
        const [, ...args] = interaction.customId.split(':');
        await command.select(interaction, ctx, args);
      } else {
        log.warn({ type: interaction.type }, 'interaction with no handler');
        const content = interaction.isChatInputCommand() ? strings.unknownCommand : strings.buttonExpired;
        await interaction.reply({ content, flags: MessageFlags.Ephemeral });
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
      // Discord drops autocomplete answers after 3 s: an empty list in time beats a late full one.
      const answer = command.autocomplete(interaction, ctx);
      answer.catch(() => undefined);
      choices = (await Promise.race([answer, sleep(AUTOCOMPLETE_BUDGET_MS, [])])).slice(0, 25);
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
    if (interaction.deferred && !interaction.replied) {
      // A deferred ephemeral "thinking…" becomes the error; a public one is removed so the error
      // is shown only to the member who asked.
      if (interaction.ephemeral) await interaction.editReply(payload);
      else {
        await interaction.deleteReply().catch(() => undefined);
        await interaction.followUp({ ...payload, flags: MessageFlags.Ephemeral });
      }
    } else if (interaction.replied) {
      await interaction.followUp({ ...payload, flags: MessageFlags.Ephemeral });
    } else {
      await interaction.reply({ ...payload, flags: MessageFlags.Ephemeral });
    }
  } catch (replyError) {
    ctx.log.warn({ err: replyError }, 'could not tell the user about the failure');
  }
}
