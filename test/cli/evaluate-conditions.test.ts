// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} here is IAM policy-variable syntax.
/**
 * `keymend evaluate --via-kinesis` builds the request diagnose builds (functions/core/context-keys.ts):
 * the key's tags, aliases and attributes, the organization's keys, and, with --forward-access-session,
 * the forward-access-session keys. The two never disagree.
 */
import { evaluateCommand } from '../../cli/commands/evaluate';
import { SnapshotReader } from '../../functions/adapters/snapshot';
import type { AccountSnapshot } from '../../functions/core/account';
import { diagnose } from '../../functions/core/diagnose';
import { gatherState } from '../../functions/core/gather';
import { intake } from '../../functions/core/intake';
import { loadEvent } from '../helpers/events';
import { captureIo } from '../helpers/io';

const GLOBAL_KEYS = 'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html';
const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const STREAM = 'arn:aws:kinesis:us-east-1:111122223333:stream/orders';
const ROLE = 'arn:aws:iam::111122223333:role/service-role/orders-consumer';
const doc = (...Statement: unknown[]) => ({ Version: '2012-10-17', Statement });
const FULL = { Effect: 'Allow', Action: '*', Resource: '*' };

function snapshot(scp: Record<string, unknown>): AccountSnapshot {
  return {
    accountId: '111122223333',
    region: 'us-east-1',
    principals: [
      {
        arn: ROLE,
        inlinePolicies: {
          read: doc({
            Effect: 'Allow',
            Action: ['kinesis:GetRecords', 'kms:Decrypt'],
            Resource: [STREAM, KEY],
          }),
        },
        managedPolicies: {},
        tags: { 'dp:include:network': 'true' },
      },
    ],
    keys: [
      {
        arn: KEY,
        keyManager: 'CUSTOMER',
        keyState: 'Enabled',
        aliases: ['alias/orders'],
        tags: { project: 'orders' },
        origin: 'AWS_KMS',
        multiRegion: false,
        policy: doc({
          Sid: 'Enable IAM User Permissions',
          Effect: 'Allow',
          Principal: { AWS: 'arn:aws:iam::111122223333:root' },
          Action: 'kms:*',
          Resource: '*',
        }),
      },
    ],
    streams: [{ arn: STREAM, keyArn: KEY }],
    organization: {
      id: 'o-a1b2c3d4e5',
      path: 'o-a1b2c3d4e5/r-ab12/',
      serviceControlPolicies: [[doc(FULL, scp)]],
      resourceControlPolicies: [[doc({ ...FULL, Principal: '*' })]],
    },
  };
}

const deny = (Condition: Record<string, unknown>) => ({
  Effect: 'Deny',
  Action: 'kms:*',
  Resource: '*',
  Condition,
});
const SCPS: [name: string, scp: Record<string, unknown>, expected: string][] = [
  [
    'our own accounts only (aws:ResourceAccount)',
    deny({ StringNotEquals: { 'aws:ResourceAccount': '${aws:PrincipalAccount}' } }),
    'allowed',
  ],
  [
    'our organization only (aws:ResourceOrgID)',
    deny({ StringNotEquals: { 'aws:ResourceOrgID': 'o-a1b2c3d4e5' } }),
    'allowed',
  ],
  [
    'our OU only (aws:PrincipalOrgPaths)',
    deny({ 'ForAllValues:StringNotLike': { 'aws:PrincipalOrgPaths': 'o-a1b2c3d4e5/r-ab12/*' } }),
    'allowed',
  ],
  [
    'symmetric only (kms:EncryptionAlgorithm)',
    deny({ StringNotEquals: { 'kms:EncryptionAlgorithm': 'SYMMETRIC_DEFAULT' } }),
    'allowed',
  ],
  [
    'quarantined keys (aws:ResourceTag)',
    deny({ StringEquals: { 'aws:ResourceTag/project': 'orders' } }),
    'explicit-deny',
  ],
  [
    'aliases under alias/ord* (kms:ResourceAliases)',
    deny({ 'ForAnyValue:StringLike': { 'kms:ResourceAliases': 'alias/ord*' } }),
    'explicit-deny',
  ],
  ['no imported keys (kms:KeyOrigin)', deny({ StringEquals: { 'kms:KeyOrigin': 'EXTERNAL' } }), 'allowed'],
];

async function evaluateCli(snap: AccountSnapshot, extra: string[] = []) {
  const io = captureIo(JSON.stringify(snap));
  const args = [
    '--account',
    '-',
    '--principal',
    ROLE,
    '--action',
    'kms:Decrypt',
    '--resource',
    KEY,
    '--via-kinesis',
    STREAM,
  ];
  const code = await evaluateCommand.run([...args, ...extra], io);
  expect(io.err()).toBe('');
  expect(code).toBe(0);
  return JSON.parse(io.out()).decision as string;
}

describe('keymend evaluate and diagnose build the same request', () => {
  it.each(SCPS)(
    `an SCP allowing %s: evaluate says what diagnose finds (${GLOBAL_KEYS})`,
    async (_name, scp, expected) => {
      const snap = snapshot(scp);
      expect(await evaluateCli(snap)).toBe(expected);
      const parsed = intake(loadEvent('consumer-decrypt-denied-service-role.eventbridge.json'));
      if (!parsed.match) throw new Error('the sample event no longer matches');
      const state = await gatherState(new SnapshotReader(snap), parsed.request);
      expect(diagnose(parsed.request, state).diagnosis?.current).toBe(expected);
    },
  );

  it(`--forward-access-session sets aws:ViaAWSService, which the network-perimeter exemption tests (${GLOBAL_KEYS}#condition-keys-viaawsservice)`, async () => {
    const snap = snapshot({
      Effect: 'Deny',
      Action: 'kms:*',
      Resource: '*',
      Condition: {
        NotIpAddressIfExists: { 'aws:SourceIp': '192.0.2.0/24' },
        BoolIfExists: { 'aws:ViaAWSService': 'false' },
        StringEquals: { 'aws:PrincipalTag/dp:include:network': 'true' },
      },
    });
    expect(await evaluateCli(snap)).toBe('explicit-deny');
    expect(await evaluateCli(snap, ['--forward-access-session'])).toBe('allowed');
  });

  it(`prints the uncertainty with every answer when the decision turns on a forward access session (${GLOBAL_KEYS}#condition-keys-viaawsservice)`, async () => {
    const snap = snapshot({
      Sid: 'NetworkPerimeter',
      Effect: 'Deny',
      Action: 'kms:*',
      Resource: '*',
      Condition: {
        NotIpAddressIfExists: { 'aws:SourceIp': '192.0.2.0/24' },
        BoolIfExists: { 'aws:ViaAWSService': 'false' },
      },
    });
    const io = captureIo(JSON.stringify(snap));
    const args = [
      '--account',
      '-',
      '--principal',
      ROLE,
      '--action',
      'kms:Decrypt',
      '--resource',
      KEY,
      '--via-kinesis',
      STREAM,
    ];
    expect(await evaluateCommand.run(args, io)).toBe(0);
    const printed = JSON.parse(io.out());
    expect(printed.uncertainty.code).toBe('forward-access-session-uncertain');
    expect(printed.uncertainty.answers.map((a: { decision: string }) => a.decision)).toEqual([
      'explicit-deny',
      'allowed',
    ]);
  });

  it('prints no uncertainty when the decision is certain', async () => {
    const io = captureIo(JSON.stringify(snapshot(FULL)));
    const args = [
      '--account',
      '-',
      '--principal',
      ROLE,
      '--action',
      'kms:Decrypt',
      '--resource',
      KEY,
      '--via-kinesis',
      STREAM,
    ];
    expect(await evaluateCommand.run(args, io)).toBe(0);
    expect(JSON.parse(io.out())).not.toHaveProperty('uncertainty');
  });

  it('--forward-access-session without --via-kinesis is a usage error', async () => {
    const io = captureIo(JSON.stringify(snapshot(FULL)));
    const code = await evaluateCommand.run(
      [
        '--account',
        '-',
        '--principal',
        ROLE,
        '--action',
        'kms:Decrypt',
        '--resource',
        KEY,
        '--forward-access-session',
      ],
      io,
    );
    expect(code).toBe(2);
    expect(io.err()).toContain('--forward-access-session needs --via-kinesis');
  });
});
