// A handler reads its options by the names in its command's `as const` definition: the types come
// from the definition (a typo or a rename does not compile; `npm run lint` runs tsc over this file),
// and the values from the interaction, by the same names.
import {
  ApplicationCommandOptionType,
  type AutocompleteInteraction,
  type ChatInputCommandInteraction,
  type User,
} from 'discord.js';
import { describe, expect, expectTypeOf, it } from 'vitest';
import alerts from '../../src/commands/alerts.js';
import { focusedOption, subcommandArgs } from '../../src/commands/args.js';
import party from '../../src/commands/party.js';

/** The interaction discord.js makes of a slash command, as far as the readers look at it. */
function ran(subcommand: string, options: Record<string, { value?: unknown; user?: unknown }>) {
  return {
    options: {
      getSubcommand: () => subcommand,
      get(name: string, required?: boolean) {
        const option = options[name];
        if (!option && required) throw new Error(`required option ${name} is missing`);
        return option ? { name, ...option } : null;
      },
    },
  } as unknown as ChatInputCommandInteraction;
}

describe('subcommandArgs', () => {
  it('reads each option of the subcommand by its name in the definition', () => {
    const run = subcommandArgs(
      ran('create', {
        source: { value: 'video:80892' },
        visibility: { value: 'private' },
        max_participants: { value: 12 },
        'wait-for-everyone': { value: true },
      }),
      party.data,
    );
    expect(run).toEqual({
      subcommand: 'create',
      args: {
        source: 'video:80892',
        title: undefined,
        visibility: 'private',
        max_participants: 12,
        'wait-for-everyone': true,
      },
    });
    if (run.subcommand !== 'create') throw new Error('not create');
    expectTypeOf(run.args.source).toEqualTypeOf<string>();
    expectTypeOf(run.args.title).toEqualTypeOf<string | undefined>();
    expectTypeOf(run.args.visibility).toEqualTypeOf<'public' | 'private' | undefined>();
    expectTypeOf(run.args.max_participants).toEqualTypeOf<number | undefined>();
    expectTypeOf(run.args['wait-for-everyone']).toEqualTypeOf<boolean | undefined>();
    // @ts-expect-error the option is `max_participants`: a misspelt name does not compile
    expect(run.args['max-participants']).toBeUndefined();
    // @ts-expect-error `code` belongs to the other subcommands, not to create
    expect(run.args.code).toBeUndefined();
  });

  it('gives a user option as the user, and each subcommand only its own options', () => {
    const someone = { id: '42', username: 'someone' };
    const run = subcommandArgs(ran('cohost', { member: { user: someone } }), party.data);
    expect(run).toEqual({ subcommand: 'cohost', args: { member: someone, code: undefined } });
    if (run.subcommand !== 'cohost') throw new Error('not cohost');
    expectTypeOf(run.args.member).toEqualTypeOf<User>();
    // @ts-expect-error cohost has no `source`
    expect(run.args.source).toBeUndefined();
  });

  it('fails like discord.js when a required option is missing, and on a subcommand it does not know', () => {
    expect(() => subcommandArgs(ran('add', {}), party.data)).toThrow('required option source is missing');
    expect(() => subcommandArgs(ran('dance', {}), party.data)).toThrow('unknown /party subcommand dance');
  });

  it('types a renamed option as gone', () => {
    const before = {
      name: 'demo',
      description: 'demo',
      options: [
        {
          type: ApplicationCommandOptionType.Subcommand,
          name: 'go',
          description: 'go',
          options: [{ type: ApplicationCommandOptionType.Integer, name: 'max_participants', description: 'n' }],
        },
      ],
    } as const;
    const renamed = {
      ...before,
      options: [{ ...before.options[0], options: [{ ...before.options[0].options[0], name: 'limit' }] }],
    } as const;
    const old = subcommandArgs(ran('go', { max_participants: { value: 3 } }), before).args;
    const now = subcommandArgs(ran('go', { limit: { value: 3 } }), renamed).args;
    expect(old.max_participants).toBe(3);
    expect(now.limit).toBe(3);
    // @ts-expect-error after the rename, the old name is a compile error wherever a handler still reads it
    expect(now.max_participants).toBeUndefined();
  });
});

describe('focusedOption', () => {
  const typing = (name: string, value: string) =>
    ({ options: { getFocused: () => ({ name, value }) } }) as unknown as AutocompleteInteraction;

  it('names the option being typed in as the definition does, only among those that autocomplete', () => {
    const focused = focusedOption(typing('subscription', 'Balth'), alerts.data);
    expect(focused).toEqual({ name: 'subscription', value: 'Balth' });
    expectTypeOf(focused.name).toEqualTypeOf<'category' | 'subscription'>();
    // @ts-expect-error `creator` does not autocomplete: comparing with it does not compile
    expect(focused.name === 'creator').toBe(false);
    expect(() => focusedOption(typing('creator', 'x'), alerts.data)).toThrow(
      '/alerts has no option creator that autocompletes',
    );
  });
});
