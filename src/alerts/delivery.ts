// The one queue every alert message goes through. Go-live posts always start before card edits,
// so a busy evening of viewer-count edits never delays a ping; and the queue paces itself under
// Discord's global limit (50 requests/s per bot). discord.js would wait out a 429 anyway, but its
// fixed window lets bursts straddle a second and draw 429s, and Discord bans bots that keep
// drawing them. A request counts against the window from its start until a second after it
// finished: when it reached Discord lies somewhere in between, so no rolling second Discord sees
// can hold more than `perSecond` of them, however late a busy event loop sends them.
import { setTimeout as sleep } from 'node:timers/promises';

export type Lane = 'post' | 'edit';

export interface DeliveryQueueOptions {
  /** requests in flight at once */
  concurrency?: number;
  /** requests started in any rolling second; leave headroom under 50 for the bot's other calls */
  perSecond?: number;
  now?: () => number;
}

export class DeliveryQueue {
  private readonly lanes: Record<Lane, Array<() => Promise<void>>> = { post: [], edit: [] };
  /** when recent requests finished; each holds its place in the window for a second after */
  private readonly finished: number[] = [];
  private readonly concurrency: number;
  private readonly perSecond: number;
  private readonly now: () => number;
  private running = 0;
  private pumping = false;
  private idleWaiters: Array<() => void> = [];

  constructor(options: DeliveryQueueOptions = {}) {
    this.concurrency = options.concurrency ?? 8;
    this.perSecond = options.perSecond ?? 48;
    this.now = options.now ?? performance.now.bind(performance);
  }

  get pending(): number {
    return this.lanes.post.length + this.lanes.edit.length + this.running;
  }

  /** Runs `work` in its turn; the promise settles with the work's result. */
  push<T>(lane: Lane, work: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.lanes[lane].push(() => work().then(resolve, reject));
      void this.pump();
    });
  }

  /** Resolves once nothing is queued or running. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.running < this.concurrency && this.lanes.post.length + this.lanes.edit.length > 0) {
        while (this.finished.length > 0 && this.now() - this.finished[0]! >= 1000) this.finished.shift();
        if (this.running + this.finished.length >= this.perSecond) {
          const oldest = this.finished[0];
          // Full with requests still running: one finishing calls pump again.
          if (oldest === undefined) break;
          await sleep(1000 - (this.now() - oldest) + 1);
          continue;
        }
        // Chosen after any wait, so a post that arrived meanwhile still goes first.
        const job = this.lanes.post.shift() ?? this.lanes.edit.shift();
        if (!job) break;
        this.running += 1;
        void job().finally(() => {
          this.running -= 1;
          this.finished.push(this.now());
          void this.pump();
          if (this.pending === 0) {
            const waiters = this.idleWaiters;
            this.idleWaiters = [];
            for (const resolve of waiters) resolve();
          }
        });
      }
    } finally {
      this.pumping = false;
    }
  }
}
