// Shared by the web player's browser tests and bench/player-sync.ts: test media made by ffmpeg, a
// static media server with CORS (hls.js fetches cross-origin like it would from Parti's CDN), a TCP
// proxy that adds delay and jitter, the party server with the player routes on loopback, and
// Debian's Chromium driven by playwright-core. Everything listens on 127.0.0.1 only.
import { execFile, spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, connect as tcpConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createHttpServer } from '../../src/http/server.js';
import { createLogger } from '../../src/logger.js';
import { bundlePlayer } from '../../src/party/player/build.js';
import { activityPageOrigin } from '../../src/party/activity.js';
import { registerPlayerRoutes, type PlayerRouteOptions } from '../../src/party/player/routes.js';
import { registerPartyRoutes } from '../../src/party/server.js';
import { createPartyService, type PartyService, type PartyServiceOptions } from '../../src/party/service.js';
import { openStore, type Store } from '../../src/store/index.js';
import { startFakeParti, type FakeParti } from '../support/fakeParti.js';
import { partiClientFor } from '../party/harness.js';

const run = promisify(execFile);
export const CHROMIUM = '/usr/bin/chromium';
const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf';

/** Makes `name/index.m3u8` (HLS) or `name.mp4` with a burned-in timecode (a frame counter without fonts). */
export async function makeMedia(
  dir: string,
  name: string,
  options: { seconds: number; format: 'hls' | 'mp4'; color?: string },
): Promise<string> {
  const text = existsSync(FONT)
    ? `drawtext=fontfile=${FONT}:text='%{pts\\:hms}':fontsize=36:fontcolor=white:box=1:boxcolor=black@0.6:x=12:y=12`
    : `drawtext=text='%{n}':fontsize=36:x=12:y=12`;
  const video = `testsrc2=duration=${options.seconds}:size=320x240:rate=30,${text}`;
  const args = [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    video,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:duration=${options.seconds}`,
    '-c:v',
    'libx264',
    '-profile:v',
    'baseline',
    '-pix_fmt',
    'yuv420p',
    '-g',
    '30',
    '-c:a',
    'aac',
    '-shortest',
  ];
  if (options.format === 'hls') {
    const out = join(dir, name);
    await run('mkdir', ['-p', out]);
    await run('ffmpeg', [...args, '-f', 'hls', '-hls_time', '2', '-hls_playlist_type', 'vod', join(out, 'index.m3u8')]);
    return `${name}/index.m3u8`;
  }
  await run('ffmpeg', [...args, '-movflags', '+faststart', join(dir, `${name}.mp4`)]);
  return `${name}.mp4`;
}

/**
 * A frame counter a page can read back from the picture: the frame number in binary, one 20×20
 * block per bit along the top (white = 1), 16 bits. Drawn with drawbox, which costs nothing, where
 * a per-pixel filter would hold a real-time encoder back.
 */
export const FRAME_CODE_BITS = 16;
const FRAME_CODE = [
  'drawbox=x=0:y=0:w=320:h=20:color=black:t=fill',
  ...Array.from(
    { length: FRAME_CODE_BITS },
    (_, bit) => `drawbox=x=${bit * 20}:y=0:w=20:h=20:color=white:t=fill:enable='mod(floor(n/${2 ** bit}),2)'`,
  ),
].join(',');
export const LIVE_FPS = 30;

export interface LiveStream {
  /** The media playlist's path under the media server's root. */
  path: string;
  stop(): Promise<void>;
}

/**
 * A live HLS stream made by ffmpeg in real time (-re): 2 s segments, a sliding window of 6, each
 * segment dated with #EXT-X-PROGRAM-DATE-TIME (unless `programDates` is false), and the frame code
 * burned into every frame. Resolves once the playlist lists `minSegments` segments.
 */
export async function startLiveStream(
  dir: string,
  name: string,
  options: { minSegments?: number; programDates?: boolean } = {},
): Promise<LiveStream> {
  const out = join(dir, name);
  await run('mkdir', ['-p', out]);
  const video = `testsrc2=size=320x240:rate=${LIVE_FPS},${FRAME_CODE}`;
  const ffmpeg = spawn(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', video],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline'],
      ...['-pix_fmt', 'yuv420p', '-g', String(2 * LIVE_FPS), '-keyint_min', String(2 * LIVE_FPS)],
      ...['-sc_threshold', '0', '-c:a', 'aac', '-f', 'hls', '-hls_time', '2', '-hls_list_size', '6'],
      ...['-hls_flags', options.programDates === false ? 'delete_segments' : 'delete_segments+program_date_time'],
      join(out, 'index.m3u8'),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  ffmpeg.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const playlist = join(out, 'index.m3u8');
  const minSegments = options.minSegments ?? 3;
  await waitFor(
    `ffmpeg's live playlist with ${minSegments} segments`,
    async () => {
      if (ffmpeg.exitCode !== null) throw new Error(`ffmpeg exited: ${stderr}`);
      const text = await import('node:fs/promises').then((fs) => fs.readFile(playlist, 'utf8')).catch(() => '');
      return (text.match(/#EXTINF/g) ?? []).length >= minSegments;
    },
    30_000,
  );
  return {
    path: `${name}/index.m3u8`,
    async stop() {
      if (ffmpeg.exitCode !== null) return;
      const exited = new Promise((resolve) => ffmpeg.once('exit', resolve));
      ffmpeg.kill('SIGKILL');
      await exited;
    },
  };
}

export interface ShownFrames {
  /** Content seconds (frame number / fps) minus the wall-clock second each frame was shown, one per frame read. */
  offsets: number[];
  /** Frames whose code could not be read (a frame mid-transition, or nothing shown). */
  unreadable: number;
}

/**
 * Reads the frame code of the next `frames` frames the page shows, from its pixels (a canvas draw
 * of the video in requestVideoFrameCallback), with the wall-clock time each is shown. Its content
 * minus that time is the same on two pages exactly when they show the same content at the same
 * moment, so the spread of that number across pages is how far apart they are.
 */
export async function readShownFrames(page: Page, frames: number): Promise<ShownFrames> {
  // Plain JavaScript, not a TypeScript callback: tsx would wrap its inner functions in a helper
  // the page does not have.
  return page.evaluate(`new Promise((resolve) => {
    const frames = ${frames}, bits = ${FRAME_CODE_BITS}, fps = ${LIVE_FPS};
    const video = document.querySelector('video');
    const canvas = document.createElement('canvas');
    canvas.width = bits * 20;
    canvas.height = 20;
    const context = canvas.getContext('2d', { willReadFrequently: true });
    const offsets = [];
    let unreadable = 0;
    const started = performance.now();
    // A page that shows no new frame (paused, stalled) answers with what it has after 5 s.
    const giveUp = setTimeout(() => resolve({ offsets, unreadable }), 5000);
    const onFrame = (now, metadata) => {
      context.drawImage(video, 0, 0, bits * 20, 20, 0, 0, bits * 20, 20);
      const pixels = context.getImageData(0, 0, bits * 20, 20).data;
      let n = 0;
      let clear = true;
      for (let bit = 0; bit < bits; bit++) {
        const luma = pixels[(10 * bits * 20 + bit * 20 + 10) * 4];
        if (luma > 80 && luma < 176) clear = false;
        if (luma >= 128) n += 2 ** bit;
      }
      if (clear) offsets.push(n / fps - (performance.timeOrigin + metadata.expectedDisplayTime) / 1000);
      else unreadable += 1;
      if (offsets.length + unreadable < frames && performance.now() - started < 5000) {
        video.requestVideoFrameCallback(onFrame);
      } else {
        clearTimeout(giveUp);
        resolve({ offsets, unreadable });
      }
    };
    video.requestVideoFrameCallback(onFrame);
  })`);
}

const MIME: Record<string, string> = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.ts': 'video/mp2t',
  '.mp4': 'video/mp4',
};

export interface MediaServer {
  url: string;
  /** Every request so far: path and query as sent, and the answer's status. */
  requests: Array<{ url: string; status: number; at: number }>;
  close(): Promise<void>;
}

/**
 * A static file server for media with CORS and byte ranges, like a CDN. With `playlistToken`, a
 * playlist (.m3u8) is served only to a request whose `token` query the function accepts, as a
 * signed CDN URL that expires would be.
 */
export async function startMediaServer(
  dir: string,
  options: { playlistToken?: (token: string | null) => boolean } = {},
): Promise<MediaServer> {
  const root = path.resolve(dir);
  const requests: MediaServer['requests'] = [];
  const server = createServer((req, res) => {
    void (async () => {
      res.setHeader('access-control-allow-origin', '*');
      res.setHeader('access-control-allow-headers', 'range');
      res.on('finish', () => requests.push({ url: req.url ?? '/', status: res.statusCode, at: Date.now() }));
      if (req.method === 'OPTIONS') return res.writeHead(204).end();
      const [rawPath = '/', query = ''] = (req.url ?? '/').split('?');
      if (options.playlistToken && rawPath.endsWith('.m3u8')) {
        if (!options.playlistToken(new URLSearchParams(query).get('token'))) return res.writeHead(403).end();
      }
      const file = path.resolve(root, decodeURIComponent(rawPath.slice(1)));
      const info = file.startsWith(root + path.sep) ? await stat(file).catch(() => null) : null;
      if (!info?.isFile()) return res.writeHead(404).end();
      const headers: Record<string, string | number> = {
        'content-type': MIME[path.extname(file)] ?? 'application/octet-stream',
        'accept-ranges': 'bytes',
      };
      let start = 0;
      let end = info.size - 1;
      const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
      if (range && (range[1] || range[2])) {
        start = range[1] ? Number(range[1]) : Math.max(0, info.size - Number(range[2]));
        if (range[1] && range[2]) end = Math.min(end, Number(range[2]));
        headers['content-range'] = `bytes ${start}-${end}/${info.size}`;
      }
      headers['content-length'] = end - start + 1;
      res.writeHead(range ? 206 : 200, headers);
      createReadStream(file, { start, end })
        .on('error', () => res.destroy())
        .pipe(res);
    })();
  });
  const url = await listen(server);
  return { url, requests, close: () => closeServer(server) };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export interface DelayProxy {
  url: string;
  /** Cuts every connection through the proxy (the page sees its socket drop). */
  dropAll(): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy that delays every chunk in each direction by `delayMs` ± `jitterMs` (uniform), keeping
 * order as TCP would, so a page behind it sees a slow, jittery network on its socket and API calls.
 */
export async function startDelayProxy(
  target: string,
  options: { delayMs: number; jitterMs: number },
): Promise<DelayProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const pipe = (from: Socket, to: Socket) => {
    // One queue and one timer per direction: chunks leave strictly in the order they came, however
    // their delays fall (two timers due at the same moment may fire in either order).
    const queue: Array<{ at: number; chunk: Buffer | null }> = [];
    let timer: NodeJS.Timeout | null = null;
    let releaseAt = 0;
    const release = () => {
      timer = null;
      while (queue.length > 0 && queue[0]!.at <= Date.now()) {
        const { chunk } = queue.shift()!;
        if (chunk === null) to.end();
        else if (to.writable) to.write(chunk);
      }
      if (queue.length > 0) timer = setTimeout(release, queue[0]!.at - Date.now());
    };
    const push = (chunk: Buffer | null) => {
      const delay = chunk === null ? 0 : options.delayMs + (Math.random() * 2 - 1) * options.jitterMs;
      releaseAt = Math.max(releaseAt, Date.now() + delay);
      queue.push({ at: releaseAt, chunk });
      timer ??= setTimeout(release, releaseAt - Date.now());
    };
    from.on('data', (chunk: Buffer) => push(chunk));
    from.on('end', () => push(null));
    from.on('error', () => to.destroy());
    from.on('close', () => sockets.delete(from));
  };
  const server = createTcpServer((client) => {
    const upstream = tcpConnect(Number(port), hostname);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client).add(upstream);
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    dropAll,
    async close() {
      dropAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface PlayerStack {
  service: PartyService;
  fake: FakeParti;
  base: string;
  logs: string[];
  close(): Promise<void>;
}

/** The party server like test/party/harness.ts starts it, plus the player routes and a fresh bundle. */
export async function startPlayerStack(
  options: Partial<Omit<PartyServiceOptions, 'store' | 'parti' | 'config' | 'logger'>> & {
    /** A store that already holds parties (they are restored); default a new one. */
    storeUrl?: string;
    /** Turns the Discord Activity on: mounts its routes on the server, says what the page needs. */
    activity?: (server: {
      app: ReturnType<typeof createHttpServer>;
      service: PartyService;
      store: Store;
    }) => PlayerRouteOptions['activity'];
  } = {},
): Promise<PlayerStack> {
  const { storeUrl, activity, ...serviceOptions } = options;
  const work = mkdtempSync(join(tmpdir(), 'player-test-'));
  const assetsDir = join(work, 'assets');
  await bundlePlayer(assetsDir);
  const fake = await startFakeParti();
  const logs: string[] = [];
  const logger = createLogger(
    'info',
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logs.push(chunk.toString());
        callback();
      },
    }),
  );
  const store = await openStore(storeUrl ?? `sqlite://${join(work, 'store.sqlite')}`, logger);
  const parti = partiClientFor(fake, store, logger);
  const config = {
    PUBLIC_URL: 'https://bot.example',
    PARTI_MEDIA_URL: [fake.mediaUrl],
    PARTY_MAX_PARTICIPANTS: 100,
    // The fake Parti and the tests' media servers are on 127.0.0.1.
    MEDIA_ALLOW_PRIVATE: true,
  };
  const service = await createPartyService({
    store,
    parti,
    logger,
    config,
    // Browser tests open many sockets from one address; the per-address limits are for the internet.
    limits: { joinsPerHour: 1000, createsPerHour: 1000, createsPerAddressPerHour: 1000 },
    ...serviceOptions,
  });
  const app = createHttpServer(logger, { discordReady: () => true, storeOpen: () => true, shuttingDown: () => false });
  const activityOptions = activity?.({ app, service, store });
  registerPartyRoutes(
    app,
    service,
    activityOptions ? { activityOrigin: async () => activityPageOrigin(await activityOptions.applicationId()) } : {},
  );
  registerPlayerRoutes(app, service, config, { assetsDir, activity: activityOptions });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    service,
    fake,
    logs,
    base: `http://127.0.0.1:${port}`,
    async close() {
      await service.close();
      await app.close();
      await parti.close();
      await store.close();
      await fake.close();
    },
  };
}

/**
 * Headless Chromium 156 here plays unmuted media without a gesture under every --autoplay-policy
 * (measured), so tests that need a refusal wrap HTMLMediaElement.play in an init script.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (see .ci/run)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-dev-shm-usage',
      // Several pages share one machine; without these a page in a background context is throttled.
      '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding',
      '--disable-backgrounding-occluded-windows',
    ],
  });
}

/** Shifts a page's clock (Date.now, performance.now, new Date()) by `skewMs`, as a wrong system clock would. */
export async function skewClock(page: Page, skewMs: number): Promise<void> {
  await page.addInitScript((skew: number) => {
    const realNow = Date.now.bind(Date);
    const realPerf = performance.now.bind(performance);
    const RealDate = Date;
    Date.now = () => realNow() + skew;
    performance.now = () => realPerf() + skew;
    // new Date() without arguments reads the same skewed clock.
    globalThis.Date = new Proxy(RealDate, {
      construct(target, args: unknown[]) {
        return args.length ? new target(...(args as [number])) : new target(realNow() + skew);
      },
    });
  }, skewMs);
}

export interface Sample {
  /** The element's position in seconds. */
  currentTime: number;
  paused: boolean;
  /** The picture moves: not paused, not seeking, with data to play (readyState ≥ HAVE_FUTURE_DATA). */
  moving: boolean;
  /** The party's authoritative position at the moment of sampling (server clock = this process). */
  truth: number;
  /** The party plays (its timeline moves). */
  partyPlaying: boolean;
  driftMs: number;
}

/**
 * Drift of a page against the server timeline, measured from outside the page: the element's
 * currentTime is read while this process (whose clock is the server's) notes the time; the midpoint of
 * the round trip is when it was read. The page's own estimate is not trusted (a skewed clock would hide).
 */
export async function sampleDrift(
  page: Page,
  service: PartyService,
  partyId: string,
  /** The skew given to this page with skewClock, taken back out of its clock reading. */
  skewMs = 0,
): Promise<Sample> {
  // The page notes its own clock as it reads the element: a busy renderer delays the answer, not
  // the reading. Same machine, so the page's clock minus its known skew is the server's clock.
  // (Runs in the page; the test program has no DOM types, hence the untyped global.)
  const read = await page.evaluate(() => {
    const video = (globalThis as any).document.querySelector('video') as {
      currentTime: number;
      paused: boolean;
      seeking: boolean;
      readyState: number;
    } | null;
    return {
      currentTime: video?.currentTime ?? 0,
      paused: video?.paused ?? true,
      moving: Boolean(video && !video.paused && !video.seeking && video.readyState >= 3),
      at: Date.now(),
    };
  });
  const at = read.at - skewMs;
  const playback = (await service.getParty(partyId))!.playback;
  let truth = playback.anchor_position;
  if (playback.is_playing) truth += ((at - playback.anchor_server_time_ms) / 1000) * playback.playback_rate;
  if (playback.duration !== null) truth = Math.min(truth, playback.duration);
  return {
    currentTime: read.currentTime,
    paused: read.paused,
    moving: read.moving,
    truth,
    partyPlaying: playback.is_playing,
    driftMs: (read.currentTime - truth) * 1000,
  };
}

/** A party's page: its invite link, with a token in the fragment as Discord hands one out. */
export function pageLink(base: string, code: string, token?: string): string {
  return `${base}/watch-parties/${code}${token ? `#token=${encodeURIComponent(token)}` : ''}`;
}

/** Waits for the page's party socket to be open. */
export async function connected(page: Page): Promise<Page> {
  await waitFor('the player to connect', async () => (await playerStats(page)).connected === true, 10_000);
  return page;
}

/** The page's read-only sync numbers (window.partyPlayer.stats()). */
export async function playerStats(page: Page): Promise<Record<string, any>> {
  return page.evaluate(() => (globalThis as any).partyPlayer.stats());
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: Error | null = null;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error instanceof Error ? error : new Error(String(error));
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await sleep(50);
  }
}

/**
 * Waits (up to `timeoutMs`) for every page to be in sync and to stay so for a whole second: within
 * `limitMs` of the party's timeline and in its state (moving while the party plays, paused while it
 * does not; a video still loading at the right position is not in sync) in every sample of that
 * second. Converging may take a moment (a late page seeks and lands); staying converged is what
 * counts, so a page that keeps drifting out never passes. Throws with each page's numbers when not.
 */
export async function expectInSync(
  service: PartyService,
  pages: Page[],
  partyId: string,
  label: string,
  options: { limitMs: number; timeoutMs?: number },
): Promise<void> {
  const { limitMs, timeoutMs = 8000 } = options;
  const holdMs = 1000;
  const fits = (s: Sample) => Math.abs(s.driftMs) <= limitMs && (s.partyPlaying ? s.moving : s.paused);
  const deadline = Date.now() + timeoutMs;
  let since: number | null = null;
  let samples: Sample[] = [];
  while (Date.now() < deadline) {
    samples = await Promise.all(pages.map((page) => sampleDrift(page, service, partyId)));
    if (!samples.every(fits)) since = null;
    else if (since === null) since = Date.now();
    else if (Date.now() - since >= holdMs) return;
    await sleep(50);
  }
  const stats = await Promise.all(pages.map((page) => playerStats(page)));
  const worst = samples.findIndex((s) => !fits(s));
  const s = samples[worst];
  const what = s
    ? `page ${worst} drift ${Math.round(s.driftMs)} ms${s.partyPlaying && !s.moving ? ', not moving' : !s.partyPlaying && !s.paused ? ', not paused' : ''}`
    : 'in sync, but not for a whole second';
  throw new Error(
    `${label}: not in sync within ${limitMs} ms for ${holdMs} ms by ${timeoutMs} ms: ${what}\n${JSON.stringify({ samples, stats })}`,
  );
}
