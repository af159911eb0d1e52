/**
 * Diagnosis notes ("check first") reach every output a person reads before deciding: the e-mail (above
 * THE CHANGE), the chat message, `diagnose --format text` and `scan --diagnose`. The note here is the
 * real one: AWS's message blames the key policy while keymend finds the identity policy blocking.
 */
import { diagnoseCommand } from '../../cli/commands/diagnose';
import { scanCommand } from '../../cli/commands/scan';
import { layerDisagreement } from '../../functions/core/layer-note';
import type { OutgoingMessage } from '../../functions/core/ports';
import { renderNotifications } from '../../functions/render/notification';
import { accountFile } from '../helpers/accounts';
import { loadEvent } from '../helpers/events';
import { captureIo } from '../helpers/io';
import { sampleProposal } from '../helpers/proposals';

const STALE = "keymend's picture of the account is incomplete or stale";

/** The consumer's denial, with AWS's message blaming the key policy (a resource-based policy). */
function blamingKeyPolicy() {
  const event = structuredClone(
    loadEvent<{ detail: Record<string, unknown> }>('consumer-decrypt-denied-service-role.eventbridge.json'),
  );
  event.detail.errorMessage = String(event.detail.errorMessage).replace('identity-based', 'resource-based');
  return event;
}

async function notedProposal() {
  const proposal = await sampleProposal();
  if (!proposal.diagnosis) throw new Error('the sample has no diagnosis');
  const note = layerDisagreement(
    { kind: 'implicit', policyType: 'resource-based' },
    proposal.diagnosis.current,
    proposal.diagnosis.blockingLayers,
  );
  if (!note) throw new Error('no note for a disagreeing layer');
  proposal.diagnosis.notes = [note];
  return proposal;
}

describe('notes in notifications', () => {
  it('the e-mail shows every note in a CHECK FIRST section above THE CHANGE', async () => {
    const proposal = await notedProposal();
    const [email] = renderNotifications('proposed', proposal, null) as [OutgoingMessage, OutgoingMessage];
    const lines = email.message.split('\n');
    const check = lines.findIndex((l) => l.startsWith('CHECK FIRST'));
    const change = lines.findIndex((l) => l.startsWith('THE CHANGE'));
    expect(check).toBeGreaterThan(0);
    expect(change).toBeGreaterThan(check);
    expect(lines[check + 1]).toContain(STALE);
    expect(lines[check + 1]).toContain('resource-based');
  });

  it('the chat message says check first with the note', async () => {
    const proposal = await notedProposal();
    const [, chat] = renderNotifications('proposed', proposal, null) as [OutgoingMessage, OutgoingMessage];
    const description = JSON.parse(chat.message).content.description as string;
    expect(description).toMatch(/\*Check first:\* .*incomplete or stale/);
  });

  it('without a note there is no CHECK FIRST section', async () => {
    const [email, chat] = renderNotifications('proposed', await sampleProposal(), null) as [
      OutgoingMessage,
      OutgoingMessage,
    ];
    expect(email.message).not.toContain('CHECK FIRST');
    expect(chat.message).not.toContain('Check first');
  });
});

describe('notes in the command line', () => {
  it('diagnose --format text prints the note', async () => {
    const io = captureIo(JSON.stringify(blamingKeyPolicy()));
    const code = await diagnoseCommand.run(
      ['--event', '-', '--account', accountFile('demo'), '--format', 'text'],
      io,
    );
    expect([code, io.err()]).toEqual([0, '']);
    expect(io.out()).toMatch(/check first: AWS named the resource-based policy/);
  });

  it('scan --diagnose prints the note under the problem, and --json carries it', async () => {
    const log = JSON.stringify({ Records: [blamingKeyPolicy().detail] });
    const text = captureIo(log);
    expect(await scanCommand.run(['-', '--diagnose', '--account', accountFile('demo')], text)).toBe(0);
    expect(text.out()).toMatch(/check first: AWS named the resource-based/);
    const json = captureIo(log);
    expect(await scanCommand.run(['-', '--json', '--diagnose', '--account', accountFile('demo')], json)).toBe(
      0,
    );
    const summary = JSON.parse(json.out());
    expect(summary.problems[0].diagnosis.notes).toEqual([expect.stringContaining(STALE)]);
  });
});
