// Request-body parsing and route matching for the REST half. discord.js sends JSON, or
// multipart/form-data (`payload_json` + `files[n]`) as soon as a file is attached; both must yield the
// same body so that routes need not care.
import type { IncomingMessage } from 'node:http';
import type { UploadedFile } from './types.js';

export interface ParsedBody {
  body: unknown;
  files: UploadedFile[];
}

export async function readBody(req: IncomingMessage): Promise<ParsedBody> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const type = req.headers['content-type'] ?? '';
  if (raw.length === 0) return { body: undefined, files: [] };
  if (type.startsWith('multipart/form-data')) return parseMultipart(raw, type);
  const text = raw.toString('utf8');
  try {
    return { body: JSON.parse(text) as unknown, files: [] };
  } catch {
    return { body: text, files: [] };
  }
}

async function parseMultipart(raw: Buffer, contentType: string): Promise<ParsedBody> {
  // Node's fetch Response already implements a spec-compliant multipart parser; no dependency needed.
  const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
  let body: unknown = {};
  const files: UploadedFile[] = [];
  for (const [field, value] of form.entries()) {
    if (typeof value === 'string') {
      if (field === 'payload_json') body = JSON.parse(value) as unknown;
      continue;
    }
    const data = Buffer.from(await value.arrayBuffer());
    files.push({
      field,
      filename: value.name,
      contentType: value.type || 'application/octet-stream',
      size: data.length,
      data,
    });
  }
  return { body, files };
}

/** `/channels/:channel/messages/:message` → matcher returning the params, or undefined. */
export function compileRoute(pattern: string): (path: string) => Record<string, string> | undefined {
  const parts = pattern.split('/').filter(Boolean);
  return (path: string) => {
    const segs = path.split('/').filter(Boolean);
    if (segs.length !== parts.length) return undefined;
    const params: Record<string, string> = {};
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const seg = segs[i]!;
      if (part.startsWith(':')) params[part.slice(1)] = decodeURIComponent(seg);
      else if (part !== seg) return undefined;
    }
    return params;
  };
}

/**
 * The rate-limit bucket a request falls in: Discord keys buckets by route plus its "major parameter"
 * (channel, guild, or webhook id+token), with every other id generalised.
 */
export function bucketRoute(method: string, path: string): { key: string; route: string } {
  const segs = path.split('/').filter(Boolean);
  const major: string[] = [];
  const generic = segs.map((seg, i) => {
    const prev = segs[i - 1];
    // Each interaction is its own bucket: callbacks of different interactions never limit each other.
    if (i === 1 && (prev === 'channels' || prev === 'guilds' || prev === 'webhooks' || prev === 'interactions')) {
      major.push(seg);
      return ':major';
    }
    if (i === 2 && (segs[0] === 'webhooks' || segs[0] === 'interactions')) {
      major.push(seg);
      return ':token';
    }
    if (prev === 'reactions') return ':emoji';
    return /^\d{16,21}$/.test(seg) ? ':id' : seg;
  });
  const route = `${method} /${generic.join('/')}`;
  return { route, key: `${route}|${major.join(':')}` };
}
