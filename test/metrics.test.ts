// /metrics: the event-loop delay histogram shows a stall where it happened.
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../src/metrics.js';

const bucket = (text: string, le: string): number =>
  Number(
    new RegExp(`^parti_bot_event_loop_delay_seconds_bucket\\{le="${le.replace('+', '\\+')}"\\} (\\d+)`, 'm').exec(
      text,
    )?.[1],
  );

describe('event-loop delay on /metrics', () => {
  it('counts a 120 ms stall past 100 ms, most samples near zero, and the max gauge at least 120 ms', async () => {
    const metrics = createMetrics();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const blockedFor = 120;
    const start = Date.now();
    while (Date.now() - start < blockedFor) {
      // a stall, as a long synchronous job makes one
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    const text = await metrics.registry.metrics();
    const total = bucket(text, '+Inf');
    expect(total).toBeGreaterThan(10);
    expect(total - bucket(text, '0.1')).toBeGreaterThanOrEqual(1);
    // A busy machine may add its own delays, but most 10 ms ticks still come within 25 ms.
    expect(bucket(text, '0.025')).toBeGreaterThan(total / 2);
    const max = Number(/^parti_bot_event_loop_delay_max_seconds (\S+)/m.exec(text)?.[1]);
    expect(max).toBeGreaterThanOrEqual(0.11);
    expect(max).toBeLessThan(1);
  });
});

describe('event-loop delay on a loop that is never on time', () => {
  it('still answers /metrics when every sample is late (all past the first bucket)', async () => {
    const metrics = createMetrics();
    // Busy in 12 ms slices back to back: no 10 ms tick can come less than 2 ms late.
    const busy = setInterval(() => {
      const start = Date.now();
      while (Date.now() - start < 12) {
        // busy
      }
    }, 0);
    await new Promise((resolve) => setTimeout(resolve, 400));
    clearInterval(busy);
    const text = await metrics.registry.metrics();
    expect(bucket(text, '0.001')).toBe(0);
    expect(bucket(text, '+Inf')).toBeGreaterThan(5);
  });
});
