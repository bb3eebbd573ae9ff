// How long the event loop was just held up. Messages read after a stall arrived spread over it, but
// they are read together: a rate limit counting them by when they are read would punish a client
// for the server's own delay. So a budget may run over its burst by what the stall would have
// refilled. A timer every STALL_PERIOD_MS notes when it ran. Right after a stall the loop reads
// sockets before it runs the timers that fell due meanwhile, so the timer being overdue now is the
// stall; once it has run, it remembers how late it was while the backlog is still being read.
const STALL_PERIOD_MS = 20;
/** Lateness under this is the timer's own jitter, not a stall. */
const STALL_FLOOR_MS = 5;

export interface StallClock {
  /** The stall just past (ms), while its backlog is being read; 0 otherwise. */
  stallMs(): number;
  stop(): void;
}

export function createStallClock(now: () => number = () => performance.now()): StallClock {
  let last = now();
  let stall = 0;
  let stallEnded = Number.NEGATIVE_INFINITY;
  const timer = setInterval(() => {
    const at = now();
    const late = at - last - STALL_PERIOD_MS;
    last = at;
    if (late > STALL_FLOOR_MS) {
      stall = late;
      stallEnded = at;
    }
  }, STALL_PERIOD_MS);
  timer.unref();
  return {
    stallMs() {
      const at = now();
      const overdue = at - last - STALL_PERIOD_MS;
      if (overdue > STALL_FLOOR_MS) return overdue;
      // The backlog is read within a turn or two of the loop after the stall.
      return at - stallEnded <= 2 * STALL_PERIOD_MS ? stall : 0;
    },
    stop: () => clearInterval(timer),
  };
}
