// Once logged in: register slash commands if their definition changed, then report healthy.
import { Events } from 'discord.js';
import { registerCommands } from '../discord/registerCommands.js';
import { activityEnabled } from '../party/activity.js';
import { defineEvent } from './event.js';

export default defineEvent({
  name: Events.ClientReady,
  once: true,
  async execute(deps, client) {
    const log = deps.logger.child({ module: 'discord' });
    log.info({ user: client.user.tag, guilds: client.guilds.cache.size }, 'logged in to Discord');
    await registerCommands({
      rest: client.rest,
      applicationId: client.application.id,
      guildId: deps.config.DISCORD_GUILD_ID,
      store: deps.store,
      logger: log,
      entryPoint: activityEnabled(deps.config),
    });
    // Alerts post through this client's REST, so they start once it is logged in.
    deps.alerts.start();
  },
});
