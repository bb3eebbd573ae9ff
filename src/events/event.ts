// What a Discord event handler is. Kept apart from the list of events (index.ts), so an event
// module imports this and nothing imports back.
import type { ClientEvents } from 'discord.js';
import type { Deps } from '../deps.js';

export interface Event<K extends keyof ClientEvents = keyof ClientEvents> {
  name: K;
  once?: boolean;
  execute(deps: Deps, ...args: ClientEvents[K]): Promise<void>;
}

/** Keeps each event's argument types while the list holds them all. */
export function defineEvent<K extends keyof ClientEvents>(event: Event<K>): Event<K> {
  return event;
}
