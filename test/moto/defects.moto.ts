/**
 * What the first run against moto found, kept fixed over the real protocols: `diagnose --aws` reads
 * the account the credentials belong to and refuses other accounts' events; a key in another account
 * has its own code; a key whose policy does not admit keymend is a notified refusal, not a failure.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { diagnoseCommand } from '../../cli/commands/diagnose';
import { captureIo } from '../helpers/io';
import { type Deployment, deploy } from './lambda';
import { MOTO_ACCOUNT, resetMoto } from './moto';
import { denial, inspector } from './scenario';
import { defaultKeyPolicy, type Seeded, seedAccount } from './seed';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'keymend-moto-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function diagnoseAws(event: unknown): Promise<Record<string, unknown>> {
  const file = path.join(dir, `event-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(event));
  const io = captureIo();
  const code = await diagnoseCommand.run(['--event', file, '--aws'], io);
  expect(io.err()).toBe('');
  const result = JSON.parse(io.out());
  // A refused finding exits 1 (cli/run-command.ts), any other verdict 0.
  expect(code).toBe(result.verdict === 'refuse' ? 1 : 0);
  return result;
}

describe('diagnose --aws against moto', () => {
  let seeded: Seeded;
  beforeAll(async () => {
    await resetMoto();
    seeded = await seedAccount({ full: true });
  });

  it('diagnoses an event of the account the credentials belong to', async () => {
    expect(await diagnoseAws(denial(seeded.keyArn))).toMatchObject({ verdict: 'propose', code: 'propose' });
  });

  it("refuses another account's event as wrong-account, naming both accounts", async () => {
    const other = JSON.parse(JSON.stringify(denial(seeded.keyArn)).replaceAll(MOTO_ACCOUNT, '444455556666'));
    const result = await diagnoseAws(other);
    expect(result).toMatchObject({ verdict: 'refuse', code: 'wrong-account' });
    expect(result.reason).toContain('recorded in account 444455556666, but the account read is 123456789012');
  });

  it('a key in another account: key-in-other-account, not "not found"', async () => {
    const foreignKey = 'arn:aws:kms:us-east-1:999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const result = await diagnoseAws(denial(foreignKey));
    expect(result).toMatchObject({ verdict: 'refuse', code: 'key-in-other-account' });
    expect(result.reason).toContain('is in account 999988887777');
  });
});

describe('a key whose policy does not admit keymend, in the deployed function', () => {
  let deployment: Deployment;
  afterAll(() => deployment?.close());

  it('is refused with the key policy named and what to add, notified by e-mail, and not an error', async () => {
    await resetMoto();
    // moto evaluates key policies for explicit Deny only (README.md): a Deny of DescribeKey stands in
    // for a policy that admits neither keymend's role nor IAM policies, which AWS answers the same way.
    const seeded = await seedAccount({
      keyPolicy: defaultKeyPolicy([
        { Sid: 'NoReaders', Effect: 'Deny', Principal: '*', Action: ['kms:DescribeKey'], Resource: '*' },
      ]),
    });
    deployment = await deploy();
    const before = await inspector().grantsOnKey(seeded.keyArn);
    const result = await deployment.remediate(denial(seeded.keyArn));
    expect(result).toMatchObject({ outcome: 'refused' });
    expect(result.reason).toContain(
      `keymend may not read the key ${seeded.keyArn}: KMS denied kms:DescribeKey`,
    );
    const emails = await deployment.emails();
    expect(emails).toHaveLength(1);
    expect(emails[0]?.message).toContain('key-unreadable');
    expect(emails[0]?.message).toContain('kms:DescribeKey, kms:GetKeyPolicy and kms:ListGrants');
    expect(await inspector().grantsOnKey(seeded.keyArn)).toEqual(before);
  });
});
