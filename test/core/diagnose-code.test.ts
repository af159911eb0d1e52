import { parseSnapshot, SnapshotReader } from '../../functions/adapters/snapshot';
import { diagnose } from '../../functions/core/diagnose';
import { gatherState } from '../../functions/core/gather';
import { intake } from '../../functions/core/intake';
import { eventNames, loadEvent } from '../helpers/events';

const demo = new SnapshotReader(parseSnapshot(loadEvent('accounts/demo.json')));

/** The sample events the intake matches: the ones diagnose gets to decide about. */
const matching = eventNames().filter(
  (name) => !name.startsWith('cloudtrail-log-file') && intake(loadEvent(name)).match,
);

describe('every diagnose result carries its code', () => {
  it.each(matching)('%s', async (name) => {
    const found = intake(loadEvent(name));
    if (!found.match) throw new Error('filtered to matches');
    const result = diagnose(found.request, await gatherState(demo, found.request));
    expect(typeof result.code).toBe('string');
    if (result.verdict === 'propose') expect(result.code).toBe('propose');
    else expect(result.code).not.toBe('propose');
  });

  it('propose included: the demo consumer', async () => {
    const found = intake(loadEvent('consumer-decrypt-denied-service-role.eventbridge.json'));
    if (!found.match) throw new Error('the sample must match');
    const result = diagnose(found.request, await gatherState(demo, found.request));
    expect(result).toMatchObject({ verdict: 'propose', code: 'propose' });
  });
});
