// A scheduled event's cover: the stream's preview or the creator's avatar, read from Parti's image
// host and handed to Discord as the data URI its API takes. Read like every other outbound fetch
// (src/net/outbound.ts: public addresses only, through PARTI_PROXY_URL), bounded in time and size,
// and kept for a while per URL, since one avatar covers many servers' events. An image that cannot
// be read leaves the event without a cover, never without the event.
import type { Logger } from '../logger.js';
import { createOutbound, type OutboundOptions } from '../net/outbound.js';

/** Discord takes covers up to 10 MB; Parti's avatars and previews are far smaller. */
const MAX_BYTES = 2 * 1024 * 1024;
const TIMEOUT_MS = 5_000;
const KEEP_MS = 60 * 60 * 1000;
const MAX_KEPT = 100;
const IMAGE_TYPES = /^image\/(png|jpeg|gif|webp)$/;

export type CoverFetcher = (url: string) => Promise<string | undefined>;

export function createCoverFetcher(options: {
  outbound: OutboundOptions;
  logger: Logger;
  now?: () => number;
}): CoverFetcher {
  const outbound = createOutbound(options.outbound);
  const now = options.now ?? Date.now;
  const kept = new Map<string, { at: number; cover: string | undefined }>();

  async function read(url: URL): Promise<string | undefined> {
    const response = await outbound.request(url, {
      method: 'GET',
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const type = String(response.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim()
      .toLowerCase();
    if (response.statusCode !== 200 || !IMAGE_TYPES.test(type)) {
      await response.body.dump();
      return undefined;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BYTES) {
        response.body.destroy();
        return undefined;
      }
      chunks.push(chunk);
    }
    return `data:${type};base64,${Buffer.concat(chunks).toString('base64')}`;
  }

  return async (raw) => {
    if (!URL.canParse(raw) || !/^https?:$/.test(new URL(raw).protocol)) return undefined;
    const hit = kept.get(raw);
    if (hit && now() - hit.at < KEEP_MS) return hit.cover;
    let cover: string | undefined;
    try {
      cover = await read(new URL(raw));
    } catch (error) {
      options.logger.debug({ err: error, url: raw }, 'event cover not read');
    }
    kept.delete(raw);
    kept.set(raw, { at: now(), cover });
    // The oldest go first; a map keeps insertion order.
    for (const key of kept.keys()) {
      if (kept.size <= MAX_KEPT) break;
      kept.delete(key);
    }
    return cover;
  };
}
