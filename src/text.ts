// The one cleaner for text a person or Parti typed that the bot stores or shows: display names,
// titles, categories. What it removes would let text read differently from what it is (a
// right-to-left override that reverses the rest of a line, a zero-width space inside a word, a name
// made of blank letters) or spill over what surrounds it (line breaks, towers of combining marks).
// It imports nothing from the project, so anything may use it; Discord's own escaping builds on it
// (src/discord/format.ts).

/** Combining marks kept on one character: enough for Vietnamese, Thai or a Tibetan stack, not for Zalgo. */
export const MAX_MARKS = 4;

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Tabs, line and paragraph breaks: a title or a name is one line. */
const BREAKS = /[\t\n\v\f\r\u0085\u2028\u2029]/g;

/**
 * Characters that show nothing or steer the text around them: every control (C0, DEL, C1), every
 * format character (bidi marks, embeddings, overrides and isolates, zero-width spaces and joiners,
 * word joiner, BOM, tag characters…), a lone surrogate, and the letters fonts draw as blanks
 * (the combining grapheme joiner, the Hangul fillers, the Khmer inherent vowels, the braille blank).
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\u115f\u1160\u3164\uffa0\u2800]|\u034f|\u17b4|\u17b5/gu;

const MARK_RUN = new RegExp(`(\\p{M}{${MAX_MARKS}})\\p{M}+`, 'gu');

/**
 * A zero-width joiner between two emoji builds one picture (👩‍💻, 🏳️‍🌈): kept there, and only there.
 * An emoji before it may carry a presentation selector or a skin tone.
 */
function joinsEmoji(text: string, offset: number): boolean {
  return (
    /\p{Extended_Pictographic}(?:\u{fe0f}|\p{Emoji_Modifier})?$/u.test(text.slice(Math.max(0, offset - 4), offset)) &&
    /^\p{Extended_Pictographic}/u.test(text.slice(offset + 1, offset + 3))
  );
}

/**
 * Text as it may be stored and shown: one line of visible characters with single spaces, at most
 * `max` code points, cut between whole characters (never inside a surrogate pair, an accented
 * letter or an emoji sequence). Empty when nothing visible is left; callers choose the fallback.
 */
export function cleanText(text: string, max: number): string {
  const oneLine = text
    .normalize('NFC')
    .replace(BREAKS, ' ')
    .replace(INVISIBLE, (char, offset: number, whole: string) =>
      char === '\u200d' && joinsEmoji(whole, offset) ? char : '',
    )
    .replace(MARK_RUN, '$1')
    .replace(/\s+/gu, ' ')
    .trim();
  let kept = '';
  let count = 0;
  for (const { segment } of graphemes.segment(oneLine)) {
    const size = [...segment].length;
    if (count + size > max) break;
    kept += segment;
    count += size;
  }
  return kept.trimEnd();
}
