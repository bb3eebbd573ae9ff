// Reads just enough of an HLS playlist to run a live party: whether it is live (no #EXT-X-ENDLIST)
// and which content its sliding window holds, on a clock every viewer shares. Pure text in, numbers
// out; the fetching is media.ts's.
//
// The shared clock is #EXT-X-PROGRAM-DATE-TIME (seconds since 1970 of each segment's first frame)
// when the playlist carries it, and otherwise the media sequence: segment n starts at
// n × target duration. Two viewers who loaded the playlist at different times agree on both, where
// their players' own currentTime (counted from whatever each loaded first) does not.

export type LiveClock = 'pdt' | 'sequence';

export interface MediaPlaylist {
  endList: boolean;
  targetDuration: number;
  segments: Array<{ sn: number; duration: number; pdtMs: number | null; uri: string }>;
}

/** The window of a live playlist on its shared clock, in seconds. */
export interface LiveWindow {
  clock: LiveClock;
  targetDuration: number;
  /** Content time of the first frame of the first segment listed. */
  start: number;
  /** Content time at the end of the last segment listed (the live edge). */
  end: number;
}

/** The variant URIs of a master playlist (relative as written), or null for a media playlist. */
export function masterVariants(text: string): string[] | null {
  const lines = text.split(/\r?\n/).map((line) => line.trim());
  if (!lines.some((line) => line.startsWith('#EXT-X-STREAM-INF'))) return null;
  const variants: string[] = [];
  lines.forEach((line, i) => {
    const next = lines[i + 1];
    if (line.startsWith('#EXT-X-STREAM-INF') && next && !next.startsWith('#')) variants.push(next);
  });
  return variants;
}

/** Null when the text is not an HLS media playlist. */
export function parseMediaPlaylist(text: string): MediaPlaylist | null {
  const lines = text.split(/\r?\n/).map((line) => line.trim());
  if (lines[0] !== '#EXTM3U') return null;
  let targetDuration = NaN;
  let sn = 0;
  let endList = false;
  let duration: number | null = null;
  let pdtMs: number | null = null;
  const segments: MediaPlaylist['segments'] = [];
  for (const line of lines) {
    const [tag, value = ''] = splitTag(line);
    if (tag === '#EXT-X-TARGETDURATION') targetDuration = Number(value);
    else if (tag === '#EXT-X-MEDIA-SEQUENCE') sn = Number(value);
    else if (tag === '#EXT-X-ENDLIST') endList = true;
    else if (tag === '#EXTINF') duration = Number.parseFloat(value);
    else if (tag === '#EXT-X-PROGRAM-DATE-TIME') pdtMs = Date.parse(value);
    else if (tag === '#EXT-X-DISCONTINUITY') pdtMs = null;
    else if (line && !line.startsWith('#') && duration !== null) {
      // A segment without its own date follows on from the one before it.
      const previous = segments.at(-1);
      const inferred = previous?.pdtMs != null ? previous.pdtMs + previous.duration * 1000 : null;
      const date = pdtMs !== null && Number.isFinite(pdtMs) ? pdtMs : inferred;
      segments.push({ sn, duration, pdtMs: date, uri: line });
      sn += 1;
      duration = null;
      pdtMs = null;
    }
  }
  if (!(targetDuration > 0) || !Number.isSafeInteger(sn) || segments.some((s) => !(s.duration >= 0))) return null;
  return { endList, targetDuration, segments };
}

function splitTag(line: string): [string, string?] {
  const colon = line.indexOf(':');
  return colon < 0 ? [line] : [line.slice(0, colon), line.slice(colon + 1)];
}

/** The window of a live playlist; null for a recording (ENDLIST) or an empty list. */
export function liveWindowOf(playlist: MediaPlaylist): LiveWindow | null {
  const first = playlist.segments[0];
  const last = playlist.segments.at(-1);
  if (playlist.endList || !first || !last) return null;
  const { targetDuration } = playlist;
  if (first.pdtMs !== null && last.pdtMs !== null) {
    return { clock: 'pdt', targetDuration, start: first.pdtMs / 1000, end: last.pdtMs / 1000 + last.duration };
  }
  return { clock: 'sequence', targetDuration, start: first.sn * targetDuration, end: (last.sn + 1) * targetDuration };
}
