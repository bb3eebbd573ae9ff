process.env.BENCH_SECONDS = '15';
await import('./bench/player-sync.ts');
