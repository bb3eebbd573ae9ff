// pino logging: one root logger, child loggers per module and per interaction.
// Tokens never reach a log line: known secret-bearing paths are redacted.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'parti-bot' },
      redact: {
        paths: ['token', '*.token', 'headers.authorization', '*.headers.authorization', 'config.DISCORD_TOKEN'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
