// `npm run deploy`: registers the slash commands now, whether or not they changed.
import { REST, Routes, type APIApplication } from 'discord.js';
import { ConfigError, loadConfig } from './config.js';
import { registerCommands } from './discord/registerCommands.js';
import { activityEnabled } from './party/activity.js';
import { createLogger } from './logger.js';
import { openStore } from './store/index.js';

try {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL);
  const store = await openStore(config.STORE_URL, logger);
  const rest = new REST({ api: config.DISCORD_API_URL }).setToken(config.DISCORD_TOKEN);
  const application = (await rest.get(Routes.currentApplication())) as APIApplication;
  await registerCommands({
    rest,
    applicationId: application.id,
    guildId: config.DISCORD_GUILD_ID,
    store,
    logger,
    force: true,
    entryPoint: activityEnabled(config),
  });
  await store.close();
} catch (error) {
  console.error(
    `parti-bot deploy: ${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
}
