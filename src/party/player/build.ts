// Bundles the web player's browser code and styles with esbuild (hls.js from node_modules goes into
// its own chunk, loaded only for HLS clips). Run by `npm run build` after tsc, so `npm start` and the
// Docker image serve a fresh page; the browser tests call bundlePlayer() into a temp directory.
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** Where the page's files go next to the compiled server (dist/party/player/assets). */
export const DEFAULT_PLAYER_ASSETS = fileURLToPath(new URL('./assets/', import.meta.url));

function sourceDir(): string {
  // The sources stay in src/ whether this runs from src (tests, tsx) or dist (npm run build).
  const here = fileURLToPath(new URL('.', import.meta.url));
  return here.replace(/([\\/])dist([\\/]party[\\/]player[\\/])$/, '$1src$2');
}

export async function bundlePlayer(outdir: string): Promise<void> {
  const src = sourceDir();
  await build({
    entryPoints: [`${src}client/main.ts`, `${src}client/player.css`],
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    minify: true,
    sourcemap: true,
    target: ['chrome109', 'firefox115', 'safari15'],
    entryNames: '[name]',
    chunkNames: 'chunk-[name]-[hash]',
    logLevel: 'warning',
    legalComments: 'linked',
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await bundlePlayer(process.argv[2] ?? DEFAULT_PLAYER_ASSETS);
}
