// The explicit list of every slash command the bot has. A command's definition is plain data; its
// handlers are small functions given Deps (the Command type is in command.ts).
import alerts from './alerts.js';
import type { Command } from './command.js';
import { helpCommand } from './help.js';
import parti from './parti.js';
import party from './party.js';

const described: Command[] = [parti, alerts, party];

export const commands: Command[] = [helpCommand(described), ...described];

export function findCommand(name: string): Command | undefined {
  return commands.find((command) => command.data.name === name);
}
