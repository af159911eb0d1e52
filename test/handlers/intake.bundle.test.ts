/** The intake handler bundled as Lambda runs it (ESM, minified), invoked with sample events. */

import { invokeBundledHandler } from '../helpers/bundle';
import { loadEvent } from '../helpers/events';

const ENTRY = 'functions/handlers/intake.ts';

describe('intake handler, bundled', () => {
  it('returns the match and logs one JSON line for a denied Kinesis call', async () => {
    const { result, stdout } = await invokeBundledHandler(
      ENTRY,
      loadEvent('lambda-esm-decrypt-denied.eventbridge.json'),
      { functionName: 'keymend-intake', awsRequestId: 'r-1' },
    );
    expect(result).toMatchObject({ match: true, request: { operation: 'kms:Decrypt' } });
    expect(stdout).toHaveLength(1);
    expect(JSON.parse(stdout[0] ?? '')).toMatchObject({
      message: 'intake decision',
      decision: 'match',
      operation: 'kms:Decrypt',
    });
  });

  it('ignores an event of another kind', async () => {
    const { result, stdout } = await invokeBundledHandler(
      ENTRY,
      loadEvent('kms-key-rotation.eventbridge.json'),
    );
    expect(result).toMatchObject({ match: false, reason: 'not-cloudtrail' });
    expect(JSON.parse(stdout[0] ?? '')).toMatchObject({ decision: 'ignore', reason: 'not-cloudtrail' });
  });
});
