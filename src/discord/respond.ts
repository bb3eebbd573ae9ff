// Answers an interaction directly when the work is quick, and defers first when it is not, so a
// cached lookup shows at once while a slow Parti call still beats Discord's 3-second deadline.
import { setTimeout as sleep } from 'node:timers/promises';
import { MessageFlags, type BaseMessageOptions, type RepliableInteraction } from 'discord.js';

export const DEFER_AFTER_MS = 1_000;

/** Every bot message says on purpose whom it may ping: by default nobody. */
export const noMentions = { parse: [] } as const satisfies BaseMessageOptions['allowedMentions'];

export interface RespondOptions {
  ephemeral?: boolean;
  /** for buttons: replace the message the button is on instead of replying */
  update?: boolean;
  deferAfterMs?: number;
}

export async function respond(
  interaction: RepliableInteraction,
  work: () => Promise<BaseMessageOptions>,
  options: RespondOptions = {},
): Promise<void> {
  const flags = options.ephemeral ? MessageFlags.Ephemeral : undefined;
  const update = options.update === true && interaction.isMessageComponent();
  const pending = work();
  // Observe a rejection now; it is rethrown below when the payload is awaited.
  pending.catch(() => undefined);
  const quick = await Promise.race([
    pending.then(
      () => true,
      () => true,
    ),
    sleep(options.deferAfterMs ?? DEFER_AFTER_MS, false),
  ]);
  if (!quick) {
    if (update && interaction.isMessageComponent()) await interaction.deferUpdate();
    else await interaction.deferReply(flags ? { flags } : {});
  }
  const payload = { allowedMentions: noMentions, ...(await pending) };
  if (interaction.deferred) await interaction.editReply(payload);
  else if (update && interaction.isMessageComponent()) await interaction.update(payload);
  else await interaction.reply(flags ? { ...payload, flags } : payload);
}
