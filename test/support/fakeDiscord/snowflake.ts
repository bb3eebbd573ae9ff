// Discord ids are snowflakes: the top bits are milliseconds since the Discord epoch. discord.js derives
// `createdAt`/`createdTimestamp` from them and some code sorts by them, so a fake must hand out
// time-based ids that are realistic (17–20 digits) and strictly increasing, never small counters.

const DISCORD_EPOCH = 1_420_070_400_000n;

// Module-wide so that ids stay unique and increasing even across several fakes in one process.
let last = 0n;
let increment = 0n;

export function snowflake(at: number = Date.now()): string {
  const worker = 1n;
  const proc = BigInt(process.pid & 0x1f);
  const candidate = ((BigInt(at) - DISCORD_EPOCH) << 22n) | (worker << 17n) | (proc << 12n) | (increment++ & 0xfffn);
  // Two ids in the same millisecond (or a clock step backwards) must still increase.
  const id = candidate > last ? candidate : last + 1n;
  last = id;
  return id.toString();
}

export function snowflakeTime(id: string): number {
  return Number((BigInt(id) >> 22n) + DISCORD_EPOCH);
}

export function isSnowflake(value: string): boolean {
  return /^\d{17,20}$/.test(value);
}

/** A guild id that Discord's rule, (id >> 22) % shards, puts on `shard`. */
export function guildIdOnShard(shard: number, shards: number): string {
  for (;;) {
    const id = snowflake();
    if (Number((BigInt(id) >> 22n) % BigInt(shards)) === shard) return id;
  }
}
