import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { DeliveryQueue } from '../../src/alerts/delivery.js';

describe('DeliveryQueue', () => {
  it('starts go-live posts before card edits that were queued earlier', async () => {
    const queue = new DeliveryQueue({ concurrency: 1, perSecond: 1000 });
    const order: string[] = [];
    const job = (name: string) => async () => {
      order.push(name);
      await sleep(5);
    };
    const all = [
      queue.push('edit', job('edit-1')),
      queue.push('edit', job('edit-2')),
      queue.push('post', job('post-1')),
      queue.push('edit', job('edit-3')),
      queue.push('post', job('post-2')),
    ];
    await Promise.all(all);
    // edit-1 was already running when the posts arrived; after it, every post before any edit.
    expect(order).toEqual(['edit-1', 'post-1', 'post-2', 'edit-2', 'edit-3']);
  });

  it('never lets more than perSecond requests into any rolling second, counting until they finish', async () => {
    const queue = new DeliveryQueue({ concurrency: 50, perSecond: 10 });
    const spans: Array<[number, number]> = [];
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 25 }, () =>
        queue.push('post', async () => {
          const begin = performance.now();
          await sleep(20);
          spans.push([begin, performance.now()]);
        }),
      ),
    );
    const elapsed = performance.now() - started;
    // 25 requests at 10 per second need two full windows after the first ten.
    expect(elapsed).toBeGreaterThan(2_000);
    for (const [begin] of spans) {
      const inWindow = spans.filter(([b, end]) => b < begin + 1000 && end > begin - 1000 && b >= begin - 1000);
      expect(inWindow.length).toBeLessThanOrEqual(10);
    }
  });

  it('passes results and failures back to the caller', async () => {
    const queue = new DeliveryQueue();
    await expect(queue.push('post', () => Promise.resolve(42))).resolves.toBe(42);
    await expect(queue.push('edit', () => Promise.reject(new Error('403')))).rejects.toThrow('403');
    await queue.idle();
    expect(queue.pending).toBe(0);
  });
});
