// The Command type and the explicit list of every slash command the bot has.
// A command's definition is plain data; its handlers are small functions given Deps.
import type {
  ApplicationCommandOptionChoiceData,
  AutocompleteInteraction,
  ButtonInteraction,
  ChatInputCommandInteraction,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { Deps } from '../deps.js';
import type { Logger } from '../logger.js';
import alerts from './alerts.js';
import help from './help.js';
import parti from './parti.js';
import party from './party.js';

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

export const commands: Command[] = [help, parti, alerts, party];

export function findCommand(name: string): Command | undefined {
  return commands.find((command) => command.data.name === name);
}
