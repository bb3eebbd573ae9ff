// The failover state on its own, with a hand-turned clock: which base a request tries next, what is
// remembered about a base that could not be reached or lacked a route, and when the base in use changes.
import { describe, expect, it } from 'vitest';
import {
  ROUTE_MEMORY_MS,
  UNREACHABLE_SKIP_MS,
  createBaseSet,
  type BaseSwitch,
  type BaseWalk,
} from '../../src/parti/bases.js';

const A = 'https://a.example/v2';
const B = 'https://b.example/v2';
const C = 'https://c.example/v2';

function setup() {
  let clock = 1_000;
  const switches: BaseSwitch[] = [];
  const set = createBaseSet([A, B, C], { now: () => clock, onSwitch: (change) => switches.push(change) });
  return {
    set,
    switches,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

/** Every base a walk offers when each one is answered the way `answer` says. */
function run(walk: BaseWalk, answer: (base: string) => 'unreachable' | 'missing' | 'answered' | 'served'): string[] {
  const asked: string[] = [];
  for (let base = walk.next(); base !== undefined; base = walk.next()) {
    asked.push(base);
    const result = answer(base);
    if (result === 'unreachable') walk.unreachable(base, 'ECONNREFUSED');
    else if (result === 'missing') walk.missing(base);
    else {
      walk[result](base);
      break;
    }
  }
  return asked;
}

describe('createBaseSet', () => {
  it('uses the first base while it answers, and switches nothing', () => {
    const { set, switches } = setup();
    expect(set.inUse()).toBe(A);
    expect(run(set.walk('live'), () => 'served')).toEqual([A]);
    expect(run(set.walk('live'), () => 'answered')).toEqual([A]);
    expect(switches).toEqual([]);
  });

  it('moves on at once from a base it cannot reach, and skips it until the skip runs out', () => {
    const { set, switches, advance } = setup();
    expect(run(set.walk('live'), (base) => (base === A ? 'unreachable' : 'served'))).toEqual([A, B]);
    expect(set.inUse()).toBe(B);
    expect(switches).toEqual([{ from: A, to: B, reason: 'unreachable (ECONNREFUSED)' }]);

    // Remembered: the next requests, of any route, do not knock on A.
    expect(run(set.walk('user_profile'), () => 'served')).toEqual([B]);
    advance(UNREACHABLE_SKIP_MS - 1);
    expect(run(set.walk('live'), () => 'served')).toEqual([B]);

    // Then A is tried again first, and taken back when it answers.
    advance(1);
    expect(run(set.walk('live'), () => 'served')).toEqual([A]);
    expect(set.inUse()).toBe(A);
    expect(switches.at(-1)).toEqual({ from: B, to: A, reason: 'an earlier base answers again' });
  });

  it('keeps a dead first base skipped quietly when it is still dead on the retry', () => {
    const { set, switches, advance } = setup();
    run(set.walk('live'), (base) => (base === A ? 'unreachable' : 'served'));
    advance(UNREACHABLE_SKIP_MS);
    expect(run(set.walk('live'), (base) => (base === A ? 'unreachable' : 'served'))).toEqual([A, B]);
    expect(switches).toHaveLength(1);
  });

  it('tries every base, the skipped ones too, when none can be reached', () => {
    const { set, switches } = setup();
    expect(run(set.walk('live'), () => 'unreachable')).toEqual([A, B, C]);
    // All are skipped now; a request still asks all of them rather than none.
    expect(run(set.walk('live'), (base) => (base === C ? 'served' : 'unreachable'))).toEqual([A, B, C]);
    expect(set.inUse()).toBe(C);
    expect(switches).toEqual([{ from: A, to: C, reason: 'unreachable (ECONNREFUSED)' }]);
  });

  it('calls a 404 from every base not found, and remembers nothing', () => {
    const { set, switches } = setup();
    expect(run(set.walk('user_profile'), () => 'missing')).toEqual([A, B, C]);
    expect(run(set.walk('user_profile'), () => 'missing')).toEqual([A, B, C]);
    expect(run(set.walk('user_profile'), (base) => (base === A ? 'served' : 'missing'))).toEqual([A]);
    expect(switches).toEqual([]);
  });

  it('believes a 404 from a base that served the route lately: one request for a missing id', () => {
    const { set, advance } = setup();
    run(set.walk('user_profile'), () => 'served');
    expect(run(set.walk('user_profile'), () => 'missing')).toEqual([A]);
    // Another route has not been served yet: its 404 is checked elsewhere.
    expect(run(set.walk('channel_info'), () => 'missing')).toEqual([A, B, C]);
    advance(ROUTE_MEMORY_MS);
    expect(run(set.walk('user_profile'), () => 'missing')).toEqual([A, B, C]);
  });

  it('does not ask a base it cannot reach about a 404 the others agree on', () => {
    const { set } = setup();
    run(set.walk('live'), (base) => (base === A ? 'unreachable' : 'served'));
    expect(run(set.walk('user_profile'), () => 'missing')).toEqual([B, C]);
  });

  it('skips a base for a route it lacks once another base served that route, for that route only', () => {
    const { set, switches, advance } = setup();
    expect(run(set.walk('user_id_from_name'), (base) => (base === C ? 'served' : 'missing'))).toEqual([A, B, C]);
    // A and B lack the route: it goes to C first now, and a 404 there is believed.
    expect(run(set.walk('user_id_from_name'), () => 'served')).toEqual([C]);
    expect(run(set.walk('user_id_from_name'), () => 'missing')).toEqual([C]);
    // Should C stop answering, A and B are still asked after it.
    expect(run(set.walk('user_id_from_name'), (base) => (base === C ? 'unreachable' : 'missing'))).toEqual([C, A, B]);
    // Other routes still go to A, and a detour for one route is no switch.
    expect(run(set.walk('live'), () => 'served')).toEqual([A]);
    expect(set.inUse()).toBe(A);
    expect(switches).toEqual([]);
    advance(ROUTE_MEMORY_MS);
    expect(run(set.walk('user_id_from_name'), () => 'served')).toEqual([A]);
  });

  it('treats any other answer (a 5xx, a 429, a challenge) as final: no next base', () => {
    const { set } = setup();
    expect(run(set.walk('live'), () => 'answered')).toEqual([A]);
    expect(run(set.walk('live'), (base) => (base === A ? 'missing' : 'answered'))).toEqual([A, B]);
  });

  it('refuses an empty list', () => {
    expect(() => createBaseSet([])).toThrow();
  });
});
