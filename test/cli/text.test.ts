import { deniedByText, intakeText, minute, printable, shortArn, wrap } from '../../cli/text';
import { intake } from '../../functions/core/intake';
import { loadEvent } from '../helpers/events';

describe('cli/text', () => {
  it('printable escapes controls, terminal escapes and non-ASCII, and keeps ASCII', () => {
    expect(printable('a\u001b[31mb\nc\u202ed\u00e9 ~')).toBe('a\\u001b[31mb\\u000ac\\u202ed\\u00e9 ~');
  });

  it('text of an event never carries what a terminal would act on', () => {
    const record = loadEvent('consumer-decrypt-success.record.json');
    record.eventSource = 'kms.amazonaws.com\u001b]0;owned\u0007';
    const lines = intakeText(intake(record));
    const printableAscii = (c: string) => c >= ' ' && c <= '~';
    expect([...lines.join('')].filter((c) => !printableAscii(c))).toEqual([]);
    expect(lines.join('\n')).toContain('\\u001b]0;owned\\u0007');
  });

  it('wrap keeps every line within the width, indented, cutting only words longer than a line', () => {
    const lines = wrap(`one two ${'x'.repeat(100)} three`, 4, 40);
    for (const line of lines) {
      expect(line.length).toBeLessThanOrEqual(40);
      expect(line.startsWith('    ')).toBe(true);
    }
    expect(lines.map((l) => l.trim().replace(/ /g, '')).join('')).toBe(`onetwo${'x'.repeat(100)}three`);
  });

  it('shortArn drops the account and Region it is told, and keeps foreign ARNs whole', () => {
    const role = 'arn:aws:iam::111122223333:role/service-role/orders-consumer';
    expect(shortArn(role, '111122223333', 'us-east-1')).toBe('role/service-role/orders-consumer');
    expect(shortArn(role, '444455556666', 'us-east-1')).toBe(role);
    expect(shortArn(null, '111122223333', 'us-east-1')).toBe('(unknown)');
  });

  it.each([
    [{ kind: 'implicit', policyType: 'identity-based' }, 'no identity-based policy allows it'],
    [{ kind: 'explicit', policyType: 'identity-based' }, 'an explicit deny in an identity-based policy'],
    [{ kind: 'explicit', policyType: 'service-control' }, 'an explicit deny in a service-control policy'],
    [{ kind: 'unknown', policyType: null }, 'denied (no reason given)'],
  ] as const)('deniedByText %j', (deniedBy, text) => {
    expect(deniedByText(deniedBy)).toBe(text);
  });

  it('minute shows UTC to the minute, and unparsable times as printable text', () => {
    expect(minute('2026-11-30T12:34:56Z')).toBe('2026-11-30 12:34');
    expect(minute('soon\u001b')).toBe('soon\\u001b');
  });
});
