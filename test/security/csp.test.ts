// The player page's Content-Security-Policy, given the origins of clip URLs a host typed. A host
// name may carry `;` or `,` past the URL parser (`https://x,script-src/a.m3u8` parses), and copied
// into the header it starts another directive or another policy: a second policy with an empty
// `script-src` blocks the player's own script for everyone who opens the page.
import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy } from '../../src/party/player/routes.js';

const HOSTILE = [
  'https://a;script-src *',
  'https://a,b',
  'https://x,script-src',
  "https://evil.example;script-src 'unsafe-inline'",
  'https://cdn.example/path/index.m3u8?sig=a;b,c#frag',
  'javascript:alert(1)',
  'https://a b.example',
  'https://*.a;b',
  'http://[::1]:8080',
];
const CLEAN = ['https://media.parti.com', 'https://*.parti.com', 'http://127.0.0.1:8080', 'https://cdn.example:8443'];

/** The directives of each policy in a header value, as a browser splits it. */
function policies(header: string): Array<Array<[string, string[]]>> {
  return header.split(',').map((policy) =>
    policy
      .split(';')
      .map((directive) => directive.trim().split(/\s+/))
      .filter((tokens) => tokens[0])
      .map((tokens): [string, string[]] => [tokens[0]!.toLowerCase(), tokens.slice(1)]),
  );
}

describe('the player page policy', () => {
  it('stays one policy with one script-src, whatever origins the queue brings', () => {
    const header = contentSecurityPolicy([...CLEAN, ...HOSTILE]);
    const parsed = policies(header);
    expect(parsed).toHaveLength(1);
    const directives = parsed[0]!;
    expect(directives.filter(([name]) => name === 'script-src')).toEqual([['script-src', ["'self'"]]]);
    // Every directive is one the builder writes, each once.
    const names = directives.map(([name]) => name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual([
      'default-src',
      'script-src',
      'style-src',
      'img-src',
      'media-src',
      'connect-src',
      'worker-src',
      'base-uri',
      'form-action',
      'frame-ancestors',
    ]);
  });

  it('keeps only clean origins in the media directives, a URL cut back to its origin', () => {
    const header = contentSecurityPolicy([...CLEAN, ...HOSTILE]);
    const media = new Map(policies(header)[0]).get('media-src');
    expect(media).toEqual(["'self'", 'blob:', ...CLEAN, 'https://cdn.example']);
  });
});
