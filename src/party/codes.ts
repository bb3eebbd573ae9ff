// Invite codes: 6 characters people read aloud and type from a screenshot, so the alphabet leaves
// out look-alikes (0/O, 1/I/L). crypto.randomInt, not Math.random: codes must not be guessable
// from earlier ones. 31^6 ≈ 887 million codes; uniqueness among live parties is the caller's set.
import { randomInt } from 'node:crypto';

export const INVITE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
export const INVITE_CODE_LENGTH = 6;
const CODE_PATTERN = new RegExp(`^[${INVITE_ALPHABET}]{${INVITE_CODE_LENGTH}}$`);

export function generateInviteCode(isTaken: (code: string) => boolean): string {
  // A collision is vanishingly rare; the bound only keeps a bug from spinning forever.
  for (let attempt = 0; attempt < 100; attempt++) {
    let code = '';
    for (let i = 0; i < INVITE_CODE_LENGTH; i++) code += INVITE_ALPHABET[randomInt(INVITE_ALPHABET.length)];
    if (!isTaken(code)) return code;
  }
  throw new Error('could not find a free invite code');
}

/** The canonical form of what a person typed (case and surrounding spaces ignored), or null if it cannot be a code. */
export function normalizeInviteCode(input: string): string | null {
  const code = input.trim().toUpperCase();
  return CODE_PATTERN.test(code) ? code : null;
}
