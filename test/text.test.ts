import { describe, expect, it } from 'vitest';
import { cleanText, MAX_MARKS } from '../src/text.js';

describe('cleanText', () => {
  it('keeps ordinary text as it is: accents, CJK, Arabic, Hindi, emoji and their sequences', () => {
    for (const text of [
      'Movie night',
      'Café crème brûlée, naïve señor',
      'Tiếng Việt có dấu',
      '東京の夜 · 서울 · 北京',
      'مرحبا بالعالم',
      'नमस्ते दुनिया',
      'ภาษาไทย',
      '🎬 🍿 👍🏽 1️⃣ 🇫🇷',
      'family 👨‍👩‍👧 coder 👩🏽‍💻 flag 🏳️‍🌈',
      'Spider-Man: #1 *live* @ 20:00 (C++ & <3)',
    ]) {
      expect(cleanText(text, 100)).toBe(text);
    }
  });

  it('composes decomposed accents (NFC), so an accent is one character', () => {
    expect(cleanText('Cafe\u0301', 100)).toBe('Café');
    expect(cleanText('Cafe\u0301', 4)).toBe('Café');
  });

  it('drops bidi marks, embeddings, overrides and isolates: a title cannot reverse what follows it', () => {
    expect(cleanText('invoice\u202Efdp.exe', 100)).toBe('invoicefdp.exe');
    for (const mark of ['\u200E', '\u200F', '\u061C', '\u202A', '\u202B', '\u202C', '\u202D', '\u202E']) {
      expect(cleanText(`a${mark}b`, 100)).toBe('ab');
    }
    for (const isolate of ['\u2066', '\u2067', '\u2068', '\u2069']) expect(cleanText(`a${isolate}b`, 100)).toBe('ab');
  });

  it('drops zero-width and other invisible format characters', () => {
    for (const char of ['\u200B', '\u200C', '\u200D', '\u2060', '\u2061', '\u2062', '\u2063', '\u2064', '\uFEFF']) {
      expect(cleanText(`every${char}one`, 100)).toBe('everyone');
    }
    // Soft hyphen, Mongolian vowel separator, tag characters (invisible ASCII), interlinear annotation.
    expect(cleanText('a\u00ADb\u180Ec\u{E0041}\u{E0042}d\uFFF9e', 100)).toBe('abcde');
  });

  it('drops controls (C0, DEL, C1) and a lone surrogate', () => {
    expect(cleanText('a\u0000b\u0007c\u001Bd\u007Fe\u0080f\u009Bg', 100)).toBe('abcdefg');
    expect(cleanText('a\uD800b\uDC00c', 100)).toBe('abc');
  });

  it('makes line and paragraph breaks and tabs spaces, and collapses runs of spaces', () => {
    expect(cleanText('  one\ntwo\r\nthree\tfour\u2028five\u2029six\u0085seven\u00A0\u3000 eight  ', 100)).toBe(
      'one two three four five six seven eight',
    );
    expect(cleanText('a \u200B b', 100)).toBe('a b');
  });

  it('leaves nothing of a name made of blank letters', () => {
    for (const blank of ['\u115F', '\u1160', '\u3164', '\uFFA0', '\u2800', '\u034F', '\u17B4', '\u17B5']) {
      expect(cleanText(`${blank}${blank}${blank}`, 32)).toBe('');
    }
    expect(cleanText('\u200B \u202E \u3164', 32)).toBe('');
  });

  it('keeps a zero-width joiner only inside an emoji sequence', () => {
    expect(cleanText('👩\u200D💻', 100)).toBe('👩‍💻');
    expect(cleanText('👍🏽\u200D👍', 100)).toBe('👍🏽\u200D👍');
    expect(cleanText('a\u200Db', 100)).toBe('ab');
    expect(cleanText('👩\u200Db', 100)).toBe('👩b');
    expect(cleanText('a\u200D💻', 100)).toBe('a💻');
  });

  it('caps combining marks on one character (Zalgo) but keeps what real scripts stack', () => {
    const zalgo = `Z${'\u0336\u0317\u0323\u0301\u0300\u0302'.repeat(5)}algo`;
    const cleaned = cleanText(zalgo, 100);
    expect(cleaned.match(/\p{M}/gu)).toHaveLength(MAX_MARKS);
    expect([...cleaned]).toHaveLength(1 + MAX_MARKS + 'algo'.length);
    expect(cleaned.normalize('NFD').startsWith('Z')).toBe(true);
    expect(cleaned.endsWith('algo')).toBe(true);
    // Tibetan stacks three marks on a letter; Thai puts a vowel and a tone mark on one.
    expect(cleanText('བསྒྲུབས', 100)).toBe('བསྒྲུབས');
    expect(cleanText('กี่', 100)).toBe('กี่');
  });

  it('cuts at `max` code points, between whole characters', () => {
    expect(cleanText('abcdef', 3)).toBe('abc');
    expect(cleanText('😀😀😀', 2)).toBe('😀😀');
    // A cut never leaves half a surrogate pair, an accent without its letter, or half an emoji sequence.
    expect(cleanText('ab😀', 3)).toBe('ab😀');
    expect(cleanText('abc😀', 3)).toBe('abc');
    expect(cleanText('ab👩‍💻', 4)).toBe('ab');
    expect(cleanText('ab👩‍💻', 5)).toBe('ab👩‍💻');
    expect(cleanText('abc d', 4)).toBe('abc');
    expect(cleanText('x'.repeat(200), 32)).toHaveLength(32);
    expect(cleanText('anything', 0)).toBe('');
  });
});
