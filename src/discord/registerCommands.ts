// Registers the slash commands with one bulk overwrite, only when their definition changed since
// the last registration (the hash is kept in the store), so restarts cost Discord nothing.
import { createHash } from 'node:crypto';
import { Routes, type REST } from 'discord.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/index.js';
import { commands } from '../commands/index.js';

export interface RegisterOptions {
  rest: REST;
  applicationId: string;
  /** register to this guild only; else globally */
  guildId?: string | undefined;
  store: Store;
  logger: Logger;
  /** overwrite even when the hash matches (npm run deploy) */
  force?: boolean;
}

export function commandsHash(): string {
  return createHash('sha256')
    .update(JSON.stringify(commands.map((command) => command.data)))
    .digest('hex');
}

/** Returns true when Discord was called. */
export async function registerCommands(options: RegisterOptions): Promise<boolean> {
  const { rest, applicationId, guildId, store, logger, force = false } = options;
  const scope = guildId ? `guild:${guildId}` : 'global';
  const key = `commands:${applicationId}:${scope}`;
  const hash = commandsHash();
  if (!force && (await store.meta.get<string>(key)) === hash) {
    logger.info({ scope, count: commands.length }, 'slash commands unchanged, not registering');
    return false;
  }
  const route = guildId
    ? Routes.applicationGuildCommands(applicationId, guildId)
    : Routes.applicationCommands(applicationId);
  await rest.put(route, { body: commands.map((command) => command.data) });
  await store.meta.set(key, hash);
  logger.info({ scope, count: commands.length, forced: force }, 'slash commands registered');
  return true;
}
