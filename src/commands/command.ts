// What a slash command is: its definition as plain data and the handlers given Deps. Kept apart
// from the list of commands (index.ts), so a command module imports this and nothing imports back.
import type {
  ApplicationCommandOptionChoiceData,
  AutocompleteInteraction,
  ButtonInteraction,
  ChatInputCommandInteraction,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
  StringSelectMenuInteraction,
} from 'discord.js';
import type { Deps } from '../deps.js';
import type { Logger } from '../logger.js';

export interface CommandContext {
  deps: Deps;
  /** child logger carrying { command, userId, guildId } */
  log: Logger;
}

export interface Command {
  data: CommandData;
  execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void>;
  autocomplete?(
    interaction: AutocompleteInteraction,
    ctx: CommandContext,
  ): Promise<ApplicationCommandOptionChoiceData[]>;
  /** buttons whose custom_id starts with `${data.name}:`; `args` is the rest, split on ':' */
  button?(interaction: ButtonInteraction, ctx: CommandContext, args: string[]): Promise<void>;
  /** string select menus whose custom_id starts with `${data.name}:`, the same way */
  select?(interaction: StringSelectMenuInteraction, ctx: CommandContext, args: string[]): Promise<void>;
}

type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/**
 * A command's definition as Discord takes it, readonly so that it can be written `as const`: the
 * handlers' typed arguments are derived from it (args.ts).
 */
export type CommandData = DeepReadonly<RESTPostAPIChatInputApplicationCommandsJSONBody>;
