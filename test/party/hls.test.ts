// The playlist reading a live party stands on: live or not, and the window on a clock every viewer shares.
import { describe, expect, it } from 'vitest';
import { liveWindowOf, masterVariants, parseMediaPlaylist } from '../../src/party/hls.js';

// What `ffmpeg -f hls -hls_time 2 -hls_list_size 6 -hls_flags program_date_time+delete_segments` writes.
const LIVE_PDT = `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:41
#EXT-X-PROGRAM-DATE-TIME:2026-12-02T13:00:00.000+0000
#EXTINF:2.000000,
seg41.ts
#EXT-X-PROGRAM-DATE-TIME:2026-12-02T13:00:02.000+0000
#EXTINF:2.000000,
seg42.ts
#EXTINF:2.000000,
seg43.ts
`;

describe('HLS playlists', () => {
  it('reads a live window on the program-date-time clock, inferring undated segments from the one before', () => {
    const playlist = parseMediaPlaylist(LIVE_PDT)!;
    expect(playlist.endList).toBe(false);
    expect(playlist.segments.map((s) => s.sn)).toEqual([41, 42, 43]);
    const start = Date.parse('2026-12-02T13:00:00Z') / 1000;
    expect(liveWindowOf(playlist)).toEqual({ clock: 'pdt', targetDuration: 2, start, end: start + 6 });
  });

  it('falls back to the media sequence when there are no dates', () => {
    const text = LIVE_PDT.split('\n')
      .filter((line) => !line.startsWith('#EXT-X-PROGRAM-DATE-TIME'))
      .join('\n');
    expect(liveWindowOf(parseMediaPlaylist(text)!)).toEqual({
      clock: 'sequence',
      targetDuration: 2,
      start: 82,
      end: 88,
    });
  });

  it('says a recording is not live, and that something else is not a playlist', () => {
    expect(liveWindowOf(parseMediaPlaylist(`${LIVE_PDT}#EXT-X-ENDLIST\n`)!)).toBeNull();
    expect(parseMediaPlaylist('<html>challenge</html>')).toBeNull();
    expect(parseMediaPlaylist('#EXTM3U\n#EXTINF:2,\na.ts\n')).toBeNull(); // no target duration
  });

  it('lists a master playlist’s variants and tells a media playlist apart', () => {
    const master =
      '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\nlow/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=1600000\nhigh/index.m3u8\n';
    expect(masterVariants(master)).toEqual(['low/index.m3u8', 'high/index.m3u8']);
    expect(masterVariants(LIVE_PDT)).toBeNull();
  });
});
