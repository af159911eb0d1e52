/**
 * The operator's commands against moto, over the real wire protocols: `keymend list --aws` reads the
 * deployed table's status index (created as the stack creates it) with the table's name from the
 * stack's outputs; `keymend revoke ID --aws` undoes an approved grant with the caller's credentials
 * (the approval function's revoke step) and records it; `keymend scan s3://` reads a trail's objects
 * in place, narrowed by day. The clients are the CLI's own (the default credential chain finds moto),
 * but for S3, which moto's server answers only path-style.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { recordMaker } from '../../bench/fixtures/cloudtrail-logs';
import { applyCommand } from '../../cli/commands/apply';
import { diagnoseCommand } from '../../cli/commands/diagnose';
import { listCommand } from '../../cli/commands/list';
import { revokeCommand } from '../../cli/commands/revoke';
import { makeScanCommand } from '../../cli/commands/scan';
import type { ScanSummary } from '../../cli/scan-summary';
import { captureIo } from '../helpers/io';
import { type Deployment, deploy } from './lambda';
import { MOTO_ACCOUNT, motoClientConfig, REGION, resetMoto } from './moto';
import { denial, inspector, linkIn, press } from './scenario';
import { ROLE_ARN, type Seeded, STREAM_ARN, seedAccount } from './seed';

let seeded: Seeded;
let deployment: Deployment | undefined;

beforeEach(async () => {
  await resetMoto();
  seeded = await seedAccount();
});
afterEach(() => {
  deployment?.close();
  deployment = undefined;
});

async function run(command: typeof listCommand, argv: string[]) {
  const io = captureIo();
  const code = await command.run(argv, io);
  return { code, out: io.out(), err: io.err() };
}

/** The stack's outputs the CLI reads, as CloudFormation holds them for a deployed keymend. */
async function stackFor(d: Deployment, name: string, more: Record<string, string> = {}): Promise<void> {
  await new CloudFormationClient(motoClientConfig()).send(
    new CreateStackCommand({
      StackName: name,
      TemplateBody: JSON.stringify({
        Resources: { Placeholder: { Type: 'AWS::SNS::Topic' } },
        Outputs: {
          TableName: { Value: d.env.remediate.KEYMEND_TABLE },
          EmailTopicArn: { Value: d.env.approval.KEYMEND_EMAIL_TOPIC_ARN },
          RetiringPrincipalArn: { Value: d.env.approval.KEYMEND_RETIRING_PRINCIPAL },
          EnabledMechanisms: { Value: d.env.approval.KEYMEND_ENABLED_MECHANISMS },
          ...Object.fromEntries(Object.entries(more).map(([key, value]) => [key, { Value: value }])),
        },
      }),
    }),
  );
}

describe('keymend list and revoke --aws against moto', () => {
  it('lists the approved grant from the status index, revokes it with the caller credentials, lists it revoked', async () => {
    const { grantsOnKey } = inspector();
    deployment = await deploy();
    const before = await grantsOnKey(seeded.keyArn);
    expect((await deployment.remediate(denial(seeded.keyArn))).outcome).toBe('proposed');
    await press(deployment, (await linkIn(deployment)).link, 'approve', () => grantsOnKey(seeded.keyArn));
    expect(await grantsOnKey(seeded.keyArn)).toHaveLength(before.length + 1);
    await stackFor(deployment, 'Keymend');

    const listed = await run(listCommand, [
      '--aws',
      '--region',
      REGION,
      '--status',
      'applied',
      '--output',
      'json',
    ]);
    expect([listed.code, listed.err]).toEqual([0, '']);
    const rows = JSON.parse(listed.out) as { id: string; status: string; change: string; keyArn: string }[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'applied', keyArn: seeded.keyArn });
    expect(rows[0]?.change).toMatch(/^KMS grant .* for Decrypt, only for stream\/orders \(grant /);

    const id = rows[0]?.id as string;
    const revoked = await run(revokeCommand, [id, '--aws', '--region', REGION]);
    expect([revoked.code, revoked.err]).toEqual([0, '']);
    // Whose account, with its alias (issue 25).
    expect(revoked.out).toBe(
      `Revoked ${id} in account ${MOTO_ACCOUNT} (${seeded.accountAlias}): what keymend applied was undone and recorded.\n`,
    );
    expect(await grantsOnKey(seeded.keyArn)).toEqual(before);

    const after = await run(listCommand, ['--aws', '--region', REGION, '--output', 'jsonl']);
    expect(
      after.out
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([expect.objectContaining({ id, status: 'revoked' })]);
    const again = await run(revokeCommand, [id, '--aws', '--region', REGION]);
    expect(again.code).toBe(1);
    expect(again.out).toBe(
      `Not revoked (refused) in account ${MOTO_ACCOUNT} (${seeded.accountAlias}): the proposal is revoked: there is nothing of keymend's to undo.\n`,
    );
  });

  it('exits 1 naming the stack when there is none', async () => {
    const { code, err } = await run(listCommand, ['--aws', '--region', REGION, '--stack', 'Nowhere']);
    expect(code).toBe(1);
    expect(err).toMatch(
      /^keymend list: (no stack Nowhere here|cannot read cloudformation:DescribeStacks Nowhere)/,
    );
  });
});

describe('keymend apply --plan FILE --aws against moto', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'keymend-apply-moto-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** `keymend diagnose --aws --output json` of the consumer's denial, written as a plan file. */
  async function planOfDenial(more: string[] = []): Promise<string> {
    const event = path.join(dir, 'denial.json');
    writeFileSync(event, JSON.stringify(denial(seeded.keyArn)));
    const io = captureIo();
    const code = await diagnoseCommand.run(['--event', event, '--aws', '--output', 'json', ...more], io);
    expect([code, io.err()]).toEqual([0, '']);
    expect(JSON.parse(io.out())).toMatchObject({ verdict: 'propose' });
    const plan = path.join(dir, 'plan.json');
    writeFileSync(plan, io.out());
    return plan;
  }

  it("applies diagnose's plan with the caller credentials; list shows it applied, revoke undoes it", async () => {
    const { grantsOnKey } = inspector();
    deployment = await deploy();
    await stackFor(deployment, 'Keymend');
    const before = await grantsOnKey(seeded.keyArn);
    const plan = await planOfDenial();
    expect(JSON.parse(readFileSync(plan, 'utf8')).plan.mechanism).toBe('kms-grant');

    const dry = await run(applyCommand, ['--plan', plan, '--aws', '--region', REGION, '--dry-run']);
    expect([dry.code, dry.err]).toEqual([0, '']);
    expect(dry.out).toMatch(/^Would apply: KMS grant keymend-Decrypt-orders/);
    expect(await grantsOnKey(seeded.keyArn)).toEqual(before);

    const applied = await run(applyCommand, [
      '--plan',
      plan,
      '--aws',
      '--region',
      REGION,
      '--output',
      'json',
    ]);
    expect([applied.code, applied.err]).toEqual([0, '']);
    const result = JSON.parse(applied.out) as { outcome: string; proposalId: string };
    expect(result.outcome).toBe('applied');
    const grants = await grantsOnKey(seeded.keyArn);
    expect(grants).toHaveLength(before.length + 1);
    expect(grants.find((g) => !before.some((b) => b.id === g.id))).toMatchObject({
      grantee: ROLE_ARN,
      operations: ['Decrypt'],
      constraints: { EncryptionContextSubset: { 'aws:kinesis:arn': STREAM_ARN } },
    });
    // The approval's e-mail went out, naming the caller.
    const emails = await deployment.emails();
    expect(emails.at(-1)?.subject).toMatch(/Approved, applied/);
    expect(emails.at(-1)?.message).toMatch(/Approved by: keymend apply \(arn:aws:/);

    const listed = await run(listCommand, ['--aws', '--region', REGION, '--output', 'json']);
    expect([listed.code, listed.err]).toEqual([0, '']);
    expect(JSON.parse(listed.out)).toEqual([
      expect.objectContaining({ id: result.proposalId, status: 'applied', keyArn: seeded.keyArn }),
    ]);

    // Applied once: the same plan again finds the denial gone (moto's KMS lists the grant), and refuses.
    const again = await run(applyCommand, ['--plan', plan, '--aws', '--region', REGION, '--output', 'json']);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.out)).toMatchObject({ outcome: 'refused', code: 'denial-gone' });

    const revoked = await run(revokeCommand, [result.proposalId, '--aws', '--region', REGION]);
    expect([revoked.code, revoked.err]).toEqual([0, '']);
    expect(await grantsOnKey(seeded.keyArn)).toEqual(before);
    const after = await run(listCommand, ['--aws', '--region', REGION, '--output', 'json']);
    expect(JSON.parse(after.out)).toEqual([
      expect.objectContaining({ id: result.proposalId, status: 'revoked' }),
    ]);
  });

  it('refuses an inline policy where the stack enables none, and writes nothing', async () => {
    deployment = await deploy();
    await stackFor(deployment, 'Keymend');
    const inline = await planOfDenial(['--prefer', 'iam-inline-policy']);
    expect(JSON.parse(readFileSync(inline, 'utf8')).plan.mechanism).toBe('iam-inline-policy');
    const { code, out } = await run(applyCommand, [
      '--plan',
      inline,
      '--aws',
      '--region',
      REGION,
      '--output',
      'json',
    ]);
    expect(code).toBe(1);
    expect(JSON.parse(out)).toMatchObject({ outcome: 'refused', code: 'mechanism-disabled' });
    const listed = await run(listCommand, ['--aws', '--region', REGION, '--output', 'json']);
    expect(JSON.parse(listed.out)).toEqual([]);
  });
});

describe('keymend scan s3:// against moto', () => {
  it('reads the log files under a Region folder in place, only the days in range, leaving digests out', async () => {
    const s3 = new S3Client({ ...motoClientConfig(), forcePathStyle: true });
    const bucket = 'trail-bucket';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const consumer = recordMaker('consumer-decrypt-denied-no-invokedby.record.json');
    const folder = `AWSLogs/${MOTO_ACCOUNT}/CloudTrail/${REGION}/`;
    const put = async (day: string, time: string, count: number) => {
      const records = Array.from({ length: count }, (_, n) =>
        consumer({ n, session: `s${n}`, time: new Date(`${day}T${time.slice(0, 2)}:${time.slice(2)}:00Z`) }),
      );
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `${folder}${day.replaceAll('-', '/')}/${MOTO_ACCOUNT}_CloudTrail_${REGION}_${day.replaceAll('-', '')}T${time}Z_${count}.json.gz`,
          Body: gzipSync(`{"Records":[${records.join(',')}]}`),
        }),
      );
    };
    await put('2026-11-29', '2300', 7);
    await put('2026-11-30', '0105', 3);
    await put('2026-11-30', '1210', 2);
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `AWSLogs/${MOTO_ACCOUNT}/CloudTrail-Digest/${REGION}/2026/11/30/digest.json.gz`,
        Body: gzipSync('{"digest": true}'),
      }),
    );
    const command = makeScanCommand(() => ({
      cloudTrail: () => new CloudTrailClient(motoClientConfig()),
      s3: () => s3,
    }));
    const io = captureIo();
    const code = await command.run(
      [
        `s3://${bucket}/${folder}`,
        '--since',
        '2026-11-30T00:00Z',
        '--until',
        '2026-11-30T23:00Z',
        '--output',
        'json',
      ],
      io,
    );
    expect([code, io.err()]).toEqual([0, '']);
    const summary = JSON.parse(io.out()) as ScanSummary;
    // The 29th's file is outside the range; the two files of the 30th are read.
    expect(summary).toMatchObject({ files: 2, records: 5, denials: 5 });
    expect(summary.problems.map((p) => p.count)).toEqual([5]);
  });
});
