// The explicit list of every Discord event the bot listens to (the Event type is in event.ts).
import type { Client } from 'discord.js';
import type { Deps } from '../deps.js';
import channelDelete from './channelDelete.js';
import clientReady from './clientReady.js';
import guildCreate from './guildCreate.js';
import guildDelete from './guildDelete.js';
import guildScheduledEventUpdate, { scheduledEventDelete } from './guildScheduledEvent.js';
import interactionCreate from './interactionCreate.js';

export const events = [
  clientReady,
  interactionCreate,
  guildCreate,
  guildDelete,
  channelDelete,
  guildScheduledEventUpdate,
  scheduledEventDelete,
] as const;

export function registerEvents(client: Client, deps: Deps): void {
  for (const event of events) {
    const listener = (...args: unknown[]) => {
      deps.lifecycle.inFlight += 1;
      (event.execute as (deps: Deps, ...args: unknown[]) => Promise<void>)(deps, ...args)
        .catch((error: unknown) => deps.logger.error({ err: error, event: event.name }, 'event handler failed'))
        .finally(() => {
          deps.lifecycle.inFlight -= 1;
        });
    };
    if ('once' in event && event.once) client.once(event.name, listener);
    else client.on(event.name, listener);
  }
}
