// What a party shows for a direct media URL, and how it reads a source.
import { describe, expect, it } from 'vitest';
import { titleFromUrl } from '../../src/party/media.js';

describe('titleFromUrl', () => {
  it('names a clip by its path in words, skipping names that say nothing', () => {
    const title = (url: string) => titleFromUrl(new URL(url));
    expect(title('https://cdn.example/shows/big-buck-bunny/master.m3u8')).toBe('big buck bunny');
    expect(title('https://cdn.example/Trailer_2024.mp4')).toBe('Trailer 2024');
    expect(title('https://cdn.example/films/Le%20Voyage/720p/index.m3u8?sig=abc')).toBe('Le Voyage');
    expect(title('https://cdn.example/index.m3u8')).toBe('cdn.example');
  });
});
