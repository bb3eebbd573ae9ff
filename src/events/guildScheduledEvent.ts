// A member changed one of the server's scheduled events in Discord: when it is an event the bot made
// and it was cancelled or deleted, the bot's record says so (a mirrored schedule is not made again)
// and a planned watch party behind it is cancelled. Updates the bot made itself arrive here too and
// change nothing.
import { Events } from 'discord.js';
import { defineEvent } from './event.js';

export default defineEvent({
  name: Events.GuildScheduledEventUpdate,
  async execute(deps, _old, event) {
    if (!event.guildId) return;
    await deps.schedules.eventChangedInDiscord(event.guildId, event.id, event.status);
  },
});

export const scheduledEventDelete = defineEvent({
  name: Events.GuildScheduledEventDelete,
  async execute(deps, event) {
    if (!event.guildId) return;
    await deps.schedules.eventChangedInDiscord(event.guildId, event.id, 'deleted');
  },
});
