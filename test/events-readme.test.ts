import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseSnapshot, SnapshotReader } from '../functions/adapters/snapshot';
import { diagnose } from '../functions/core/diagnose';
import { gatherState } from '../functions/core/gather';
import { intake } from '../functions/core/intake';
import { EVENTS_DIR, eventNames, loadEvent } from './helpers/events';

/** The rows of events/README.md's "Which snapshot goes with which event" table. */
function pairings(): { event: string; snapshot: string; verdict: string; detail: string }[] {
  const text = readFileSync(path.join(EVENTS_DIR, 'README.md'), 'utf8');
  const section = text.slice(text.indexOf('## Which snapshot goes with which event'));
  const rows: { event: string; snapshot: string; verdict: string; detail: string }[] = [];
  let events: string[] = [];
  for (const line of section.split('\n')) {
    const cells = /^\|(.*)\|(.*)\|(.*)\|$/.exec(line);
    if (!cells || /^\|\s*(Event|---)/.test(line)) continue;
    const named = [...(cells[1] as string).matchAll(/`([^`]+\.json)`/g)].map((m) => m[1] as string);
    if (named.length) events = named;
    const snapshot = /`([^`]+\.json)`/.exec(cells[2] as string)?.[1] as string;
    const [verdict, detail] = (cells[3] as string)
      .trim()
      .replace(/\s*\(.*\)$/, '')
      .split(',')
      .map((s) => s.trim().replace(/`/g, ''));
    for (const event of events)
      rows.push({ event, snapshot, verdict: verdict as string, detail: detail as string });
  }
  return rows;
}

const rows = pairings();

describe('events/README.md: which snapshot goes with which event', () => {
  it('names every event the intake matches', () => {
    const matching = eventNames().filter(
      (name) => !name.startsWith('cloudtrail-log-file') && intake(loadEvent(name)).match,
    );
    expect(matching.filter((name) => !rows.some((r) => r.event === name))).toEqual([]);
    expect(rows.length).toBeGreaterThan(matching.length);
  });

  it.each(rows.map((r) => [r.event, r.snapshot, r.verdict, r.detail]))(
    '%s against %s: %s, %s',
    async (event, snapshot, verdict, detail) => {
      const found = intake(loadEvent(event as string));
      if (!found.match) throw new Error(`${event} does not match`);
      const reader = new SnapshotReader(parseSnapshot(loadEvent(`accounts/${snapshot}`)));
      const result = diagnose(found.request, await gatherState(reader, found.request));
      expect(result.verdict).toBe(verdict);
      expect(result.verdict === 'propose' ? result.plan.mechanism : result.code).toBe(detail);
    },
  );
});
