// Registers the slash commands with one bulk overwrite, only when their definition changed since
// the last registration (the hash is kept in the store), so restarts cost Discord nothing.
import { createHash } from 'node:crypto';
import { Routes, type REST } from 'discord.js';
import { ENTRY_POINT_COMMAND } from '../party/activity.js';
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
  /** the Activity is on: its Entry Point command goes with them (a bulk overwrite must name it) */
  entryPoint?: boolean;
}

/** What one bulk overwrite sends: the slash commands, and the Activity's Entry Point when it is on. */
export function commandBodies(entryPoint = false): unknown[] {
  return [...commands.map((command) => command.data), ...(entryPoint ? [ENTRY_POINT_COMMAND] : [])];
}

export function commandsHash(entryPoint = false): string {
  return createHash('sha256')
    .update(JSON.stringify(commandBodies(entryPoint)))
    .digest('hex');
}

/** Returns true when Discord was called. */
export async function registerCommands(options: RegisterOptions): Promise<boolean> {
  const { rest, applicationId, guildId, store, logger, force = false, entryPoint = false } = options;
  const scope = guildId ? `guild:${guildId}` : 'global';
  const key = `commands:${applicationId}:${scope}`;
  const hash = commandsHash(entryPoint);
  if (!force && (await store.meta.get<string>(key)) === hash) {
    logger.info({ scope, count: commands.length }, 'slash commands unchanged, not registering');
    return false;
  }
  const route = guildId
    ? Routes.applicationGuildCommands(applicationId, guildId)
    : Routes.applicationCommands(applicationId);
  await rest.put(route, { body: commandBodies(entryPoint) });
  await store.meta.set(key, hash);
  logger.info({ scope, count: commands.length, forced: force }, 'slash commands registered');
  return true;
}
