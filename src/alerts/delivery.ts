// The one queue every alert message goes through. It keeps a few requests in flight (discord.js
// paces them under Discord's global 50 req/s and waits out 429s) and always starts go-live posts
// before card edits, so a busy evening of viewer-count edits never delays a ping.
export type Lane = 'post' | 'edit';

interface Job {
  run: () => Promise<void>;
}

export class DeliveryQueue {
  private readonly lanes: Record<Lane, Job[]> = { post: [], edit: [] };
  private running = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly concurrency = 8) {}

  get pending(): number {
    return this.lanes.post.length + this.lanes.edit.length + this.running;
  }

  /** Runs `work` in its turn; the promise settles with the work's result. */
  push<T>(lane: Lane, work: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.lanes[lane].push({
        run: () => work().then(resolve, reject),
      });
      this.pump();
    });
  }

  /** Resolves once nothing is queued or running. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.running < this.concurrency) {
      const job = this.lanes.post.shift() ?? this.lanes.edit.shift();
      if (!job) break;
      this.running += 1;
      void job.run().finally(() => {
        this.running -= 1;
        this.pump();
        if (this.pending === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const resolve of waiters) resolve();
        }
      });
    }
  }
}
