// What a slash command is: its definition as plain data and the handlers given Deps. Kept apart
// from the list of commands (index.ts), so a command module imports this and nothing imports back.
import type {
  ApplicationCommandOptionChoiceData,
  AutocompleteInteraction,
  ButtonInteraction,
  ChatInputCommandInteraction,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { Deps } from '../deps.js';
import type { Logger } from '../logger.js';

export interface CommandContext {
  deps: Deps;
  /** child logger carrying { command, userId, guildId } */
  log: Logger;
}

export interface Command {
  data: RESTPostAPIChatInputApplicationCommandsJSONBody;
  execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void>;
  autocomplete?(
    interaction: AutocompleteInteraction,
    ctx: CommandContext,
  ): Promise<ApplicationCommandOptionChoiceData[]>;
  /** buttons whose custom_id starts with `${data.name}:`; `args` is the rest, split on ':' */
  button?(interaction: ButtonInteraction, ctx: CommandContext, args: string[]): Promise<void>;
}
