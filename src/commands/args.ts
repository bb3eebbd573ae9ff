// A command's options read by the names in its own definition. The definition is written `as const`,
// and the arguments a handler gets are typed from it: each option by its name, its type (a string
// with choices is the union of their values) and whether it is required. A handler that names an
// option the definition does not have, because of a typo or a rename, does not compile.
import {
  ApplicationCommandOptionType,
  type AutocompleteInteraction,
  type CacheType,
  type ChatInputCommandInteraction,
  type CommandInteractionOption,
  type User,
} from 'discord.js';
import type { CommandData } from './command.js';

interface OptionData {
  readonly type: ApplicationCommandOptionType;
  readonly name: string;
  readonly required?: boolean;
  readonly autocomplete?: boolean;
  readonly choices?: readonly { readonly value: string | number }[];
  readonly options?: readonly OptionData[];
}

type ValueOf<O, Cached extends CacheType> = O extends { readonly choices: readonly { readonly value: infer V }[] }
  ? V
  : O extends { readonly type: ApplicationCommandOptionType.String }
    ? string
    : O extends { readonly type: ApplicationCommandOptionType.Integer | ApplicationCommandOptionType.Number }
      ? number
      : O extends { readonly type: ApplicationCommandOptionType.Boolean }
        ? boolean
        : O extends { readonly type: ApplicationCommandOptionType.User }
          ? User
          : O extends { readonly type: ApplicationCommandOptionType.Channel }
            ? NonNullable<CommandInteractionOption<Cached>['channel']>
            : O extends { readonly type: ApplicationCommandOptionType.Role }
              ? NonNullable<CommandInteractionOption<Cached>['role']>
              : never;

/** One argument per option: its value, or undefined when the member left an optional one out. */
export type ArgsOf<Options, Cached extends CacheType = CacheType> = Options extends readonly OptionData[]
  ? {
      [O in Options[number] as O['name']]: O extends { readonly required: true }
        ? ValueOf<O, Cached>
        : ValueOf<O, Cached> | undefined;
    }
  : Record<never, never>;

type SubcommandOf<S, Cached extends CacheType> = S extends {
  readonly type: ApplicationCommandOptionType.Subcommand;
  readonly name: infer N;
}
  ? { subcommand: N; args: ArgsOf<S extends { readonly options: infer O } ? O : readonly [], Cached> }
  : never;

/** The subcommand a member ran and its arguments, one case per subcommand of `D`. */
export type SubcommandArgs<D extends CommandData, Cached extends CacheType = CacheType> = D extends {
  readonly options: readonly (infer S)[];
}
  ? SubcommandOf<S, Cached>
  : never;

/** The options of `D` that autocomplete, by name. */
type AutocompleteName<O> = O extends { readonly autocomplete: true; readonly name: infer N }
  ? N
  : O extends { readonly options: readonly (infer Inner)[] }
    ? AutocompleteName<Inner>
    : never;

function readOption<Cached extends CacheType>(
  interaction: ChatInputCommandInteraction<Cached>,
  option: OptionData,
): unknown {
  const given = interaction.options.get(option.name, option.required === true);
  if (!given) return undefined;
  switch (option.type) {
    case ApplicationCommandOptionType.User:
      return given.user;
    case ApplicationCommandOptionType.Channel:
      return given.channel;
    case ApplicationCommandOptionType.Role:
      return given.role;
    default:
      return given.value;
  }
}

/** Which subcommand of `data` the interaction runs, with its arguments read by the names in `data`. */
export function subcommandArgs<const D extends CommandData, Cached extends CacheType>(
  interaction: ChatInputCommandInteraction<Cached>,
  data: D,
): SubcommandArgs<D, Cached> {
  const name = interaction.options.getSubcommand(true);
  const options = (data.options ?? []) as readonly OptionData[];
  const subcommand = options.find(
    (option) => option.type === ApplicationCommandOptionType.Subcommand && option.name === name,
  );
  if (!subcommand) throw new Error(`unknown /${data.name} subcommand ${name}`);
  const args = Object.fromEntries(
    (subcommand.options ?? []).map((option) => [option.name, readOption(interaction, option)]),
  );
  return { subcommand: name, args } as SubcommandArgs<D, Cached>;
}

function autocompleteNames(options: readonly OptionData[]): string[] {
  return options.flatMap((option) => [
    ...(option.autocomplete ? [option.name] : []),
    ...autocompleteNames(option.options ?? []),
  ]);
}

/** The option a member is typing in, named as in `data` (only options that autocomplete). */
export function focusedOption<const D extends CommandData>(
  interaction: AutocompleteInteraction,
  data: D,
): { name: AutocompleteName<NonNullable<D['options']>[number]>; value: string } {
  const focused = interaction.options.getFocused(true);
  if (!autocompleteNames(data.options ?? []).includes(focused.name)) {
    throw new Error(`/${data.name} has no option ${focused.name} that autocompletes`);
  }
  return { name: focused.name as AutocompleteName<NonNullable<D['options']>[number]>, value: focused.value };
}
