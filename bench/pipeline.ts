/**
 * The whole decision in-process: intake of the EventBridge event, the account read from the demo
 * snapshot (SnapshotReader, no I/O), and diagnose (evaluation, plan and proof), for every sample
 * event in events/ that is a denial in the demo account. Decisions per second.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseSnapshot, SnapshotReader } from '../functions/adapters/snapshot';
import { diagnose } from '../functions/core/diagnose';
import { gatherState } from '../functions/core/gather';
import { intake } from '../functions/core/intake';
import { ROOT } from './root';
import { engine, interleave, rate, round, table, thousands } from './timing';

const EVENTS = path.join(ROOT, 'events');

export interface PipelineFigures {
  decisionsPerSec: number;
  /** diagnose alone, on state read beforehand. */
  diagnosePerSec: number;
  lines: string[];
}

/** The sample events (parsed JSON) that intake matches as denials in the demo account. */
export function demoDenials(): { events: unknown[]; reader: SnapshotReader } {
  const snapshot = parseSnapshot(
    JSON.parse(readFileSync(path.join(EVENTS, 'accounts', 'demo.json'), 'utf8')),
  );
  const events: unknown[] = [];
  for (const file of readdirSync(EVENTS).filter((f) => f.endsWith('.json'))) {
    const event: unknown = JSON.parse(readFileSync(path.join(EVENTS, file), 'utf8'));
    const found = intake(event);
    if (found.match && found.request.accountId === snapshot.accountId) events.push(event);
  }
  return { events, reader: new SnapshotReader(snapshot) };
}

export async function pipelineBench(options: { seconds: number }): Promise<PipelineFigures> {
  const { events, reader } = demoDenials();
  const requests = events.flatMap((e) => {
    const found = intake(e);
    return found.match ? [found.request] : [];
  });
  const states = await Promise.all(requests.map((r) => gatherState(reader, r)));
  const whole = engine('intake + read snapshot + diagnose', async () => {
    for (const event of events) {
      const found = intake(event);
      if (found.match) diagnose(found.request, await gatherState(reader, found.request));
    }
    return events.length;
  });
  const alone = engine('diagnose (state read before)', async () => {
    for (const [i, request] of requests.entries()) diagnose(request, states[i] as never);
    return requests.length;
  });
  const engines = [whole, alone];
  for (const e of engines) await round(e, 0.5);
  await interleave(engines, options.seconds);
  return {
    decisionsPerSec: rate(whole),
    diagnosePerSec: rate(alone),
    lines: [
      `Decisions: ${events.length} sample denials from events/ in the demo account (each with its plan and proof)`,
      ...table(
        ['pipeline', 'decisions', 'seconds', 'decisions/s', 'ms/decision'],
        engines.map((e) => [
          e.name,
          String(e.operations),
          e.seconds.toFixed(2),
          thousands(rate(e)),
          (1000 / rate(e)).toFixed(3),
        ]),
      ),
    ],
  };
}
