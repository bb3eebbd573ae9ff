// What an admin's `creator` or `category` option names, as the target of an alert or of a mirrored
// schedule (/alerts add, /alerts events add): one Parti creator by any form /parti user takes, or one
// Parti category.
import { UserError } from '../errors.js';
import { resolvePartiUser } from '../lookups/creators.js';
import { resolveCategory } from '../lookups/lists.js';
import { lookupStrings } from '../lookups/strings.js';
import type { PartiClient } from '../parti/client.js';
import { isPartiError } from '../parti/errors.js';
import { categoryLabel } from '../parti/schemas.js';
import { alertStrings as t } from './strings.js';
import type { AlertTarget } from './subscriptions.js';

/** Exactly one of `creator` and `category` is given (checked by the caller before deferring). */
export async function resolveTarget(
  parti: PartiClient,
  creator: string | null,
  category: string | null,
): Promise<AlertTarget> {
  if (creator) {
    const userId = await resolvePartiUser(parti, creator);
    const profile = await parti.getUserProfile(userId).catch((error: unknown) => {
      if (isPartiError(error, 'not_found')) throw new UserError(t.unknownCreator(creator));
      throw error;
    });
    return { kind: 'creator', userId, name: profile.user_name ?? lookupStrings.unnamedCreator(userId) };
  }
  const found = await resolveCategory(parti, category);
  if (!found) throw new UserError(t.exactlyOne);
  return { kind: 'category', categoryId: found.category_id, name: categoryLabel(found) };
}
