/**
 * A verdict that turns on something keymend cannot know is never presented as certain: whether Kinesis
 * calls KMS in a forward access session, a key such as aws:SourceIp, or a key whose source keymend cannot
 * see (the key's tags). And when AWS's message names another layer than the one keymend finds blocking,
 * the diagnosis says so.
 */
import type { KeyState, OrganizationState, PrincipalState } from '../../functions/core/account';
import { type DiagnoseResult, diagnose, type ResolvedState } from '../../functions/core/diagnose';
import { intake } from '../../functions/core/intake';
import type { KinesisKmsRequest } from '../../functions/core/request';
import { loadEvent } from '../helpers/events';

const FAS = 'https://docs.aws.amazon.com/IAM/latest/UserGuide/access_forward_access_sessions.html';
const GLOBAL_KEYS = 'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html';
const DENIED = 'https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html';
const ACCOUNT = '111122223333';
const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const STREAM = 'arn:aws:kinesis:us-east-1:111122223333:stream/orders';
const ROLE = 'arn:aws:iam::111122223333:role/service-role/orders-consumer';
const ORG = 'o-a1b2c3d4e5';

const doc = (...Statement: unknown[]) => ({ Version: '2012-10-17', Statement });
const FULL_ACCESS = { Effect: 'Allow', Action: '*', Resource: '*' };
const DELEGATE = {
  Sid: 'Enable IAM User Permissions',
  Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
  Action: 'kms:*',
  Resource: '*',
};

/** The consumer's denial as the intake reads it: "no identity-based policy allows". */
function deniedDecrypt(): KinesisKmsRequest {
  const parsed = intake(loadEvent('consumer-decrypt-denied-service-role.eventbridge.json'));
  if (!parsed.match) throw new Error('the sample event no longer matches');
  return parsed.request;
}

/** The demo consumer, which may read the stream but has no KMS permission: keymend proposes a grant. */
function state(
  changes: {
    principal?: Partial<PrincipalState>;
    key?: Partial<KeyState>;
    organization?: Partial<OrganizationState>;
  } = {},
): ResolvedState {
  return {
    accountId: ACCOUNT,
    principal: {
      arn: ROLE,
      inlinePolicies: {
        read: doc({
          Effect: 'Allow',
          Action: ['kinesis:GetRecords', 'kinesis:SubscribeToShard'],
          Resource: STREAM,
        }),
      },
      managedPolicies: {},
      tags: { team: 'orders' },
      ...changes.principal,
    },
    key: {
      arn: KEY,
      keyManager: 'CUSTOMER',
      keyState: 'Enabled',
      aliases: ['alias/orders'],
      policy: doc(DELEGATE),
      tags: {},
      origin: 'AWS_KMS',
      multiRegion: false,
      ...changes.key,
    },
    stream: { arn: STREAM, keyArn: KEY },
    organization: {
      id: ORG,
      path: `${ORG}/r-ab12/`,
      serviceControlPolicies: [[doc(FULL_ACCESS)]],
      resourceControlPolicies: [[doc({ ...FULL_ACCESS, Principal: '*' })]],
      ...changes.organization,
    },
  };
}

const refusal = (result: DiagnoseResult) => {
  if (result.verdict !== 'refuse')
    throw new Error(`expected a refusal, got ${result.verdict}: ${result.reason}`);
  return result;
};

describe('forward access sessions', () => {
  it(`the network-perimeter RCP's aws:ViaAWSService exemption decides: refuse, naming it, with both answers (${FAS})`, () => {
    const rcp = doc({
      Sid: 'EnforceNetworkPerimeter',
      Effect: 'Deny',
      Principal: '*',
      Action: 'kms:*',
      Resource: '*',
      Condition: {
        NotIpAddressIfExists: { 'aws:SourceIp': '192.0.2.0/24' },
        BoolIfExists: { 'aws:PrincipalIsAWSService': 'false', 'aws:ViaAWSService': 'false' },
      },
    });
    const result = refusal(
      diagnose(
        deniedDecrypt(),
        state({
          organization: { resourceControlPolicies: [[doc({ ...FULL_ACCESS, Principal: '*' }), rcp]] },
        }),
      ),
    );
    expect(result.code).toBe('forward-access-session-uncertain');
    expect(result.uncertainty?.keys).toEqual(['aws:ViaAWSService']);
    expect(result.uncertainty?.statements).toEqual([
      {
        policyType: 'resource-control',
        policy: 'resource-control-policies[0][1]',
        statement: 'EnforceNetworkPerimeter',
      },
    ]);
    const decisions = result.uncertainty?.answers.map((a) => a.decision);
    expect(decisions).toEqual(['explicit-deny', 'implicit-deny']);
    expect(result.reason).toContain('forward access session');
    // AWS said "no identity-based policy allows": only the forward-access-session reading explains that,
    // which the reason points out without acting on it.
    expect(result.reason).toContain(
      'fits only the reading that Kinesis calls KMS in a forward access session',
    );
  });

  it(`a policy that tests aws:ViaAWSService without deciding the verdict changes nothing (${FAS})`, () => {
    const scp = doc(FULL_ACCESS, {
      Effect: 'Deny',
      Action: 's3:*',
      Resource: '*',
      Condition: { Bool: { 'aws:ViaAWSService': 'false' } },
    });
    const result = diagnose(deniedDecrypt(), state({ organization: { serviceControlPolicies: [[scp]] } }));
    expect(result.verdict).toBe('propose');
  });
});

describe('unknowable keys', () => {
  it(`a Deny on aws:SourceIp with no service exemption: refuse as unknowable, with both answers (${GLOBAL_KEYS}#condition-keys-sourceip)`, () => {
    const scp = doc(FULL_ACCESS, {
      Sid: 'DenyOutsideCorporateNetwork',
      Effect: 'Deny',
      Action: '*',
      Resource: '*',
      Condition: { NotIpAddress: { 'aws:SourceIp': ['192.0.2.0/24'] } },
    });
    const result = refusal(
      diagnose(deniedDecrypt(), state({ organization: { serviceControlPolicies: [[scp]] } })),
    );
    expect(result.code).toBe('unknowable-condition');
    expect(result.uncertainty?.keys).toEqual(['aws:SourceIp']);
    expect(result.uncertainty?.answers.map((a) => a.decision)).toEqual(['implicit-deny', 'explicit-deny']);
  });

  it(`an SCP level that allows only from the corporate network: whether the SCP or only IAM blocks is unknowable (${GLOBAL_KEYS}#condition-keys-sourceip)`, () => {
    const networkOnly = doc({
      Sid: 'AllowFromCorporateNetwork',
      Effect: 'Allow',
      Action: '*',
      Resource: '*',
      Condition: { IpAddress: { 'aws:SourceIp': '192.0.2.0/24' } },
    });
    const result = refusal(
      diagnose(
        deniedDecrypt(),
        state({ organization: { serviceControlPolicies: [[doc(FULL_ACCESS)], [networkOnly]] } }),
      ),
    );
    expect(result.code).toBe('unknowable-condition');
    const [favour, against] = result.uncertainty?.answers ?? [];
    expect(favour?.decidedBy.map((d) => d.policyType)).toEqual(['identity-based']);
    expect(against?.decidedBy.map((d) => d.policyType)).toEqual(['service-control', 'identity-based']);
  });

  it(`names only the statements that decide, not every statement testing such a key (${GLOBAL_KEYS}#condition-keys-sourceip)`, () => {
    const scp = doc(
      FULL_ACCESS,
      {
        Sid: 'S3FromEndpointOnly',
        Effect: 'Deny',
        Action: 's3:*',
        Resource: '*',
        Condition: { StringNotEquals: { 'aws:SourceVpce': 'vpce-1a2b3c4d' } },
      },
      {
        Sid: 'DenyOutsideCorporateNetwork',
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: { NotIpAddress: { 'aws:SourceIp': '192.0.2.0/24' } },
      },
    );
    const result = refusal(
      diagnose(deniedDecrypt(), state({ organization: { serviceControlPolicies: [[scp]] } })),
    );
    expect(result.uncertainty?.keys).toEqual(['aws:SourceIp']);
    expect(result.uncertainty?.statements).toEqual([
      {
        policyType: 'service-control',
        policy: 'service-control-policies[0][0]',
        statement: 'DenyOutsideCorporateNetwork',
      },
    ]);
  });

  it(`an identity Allow that holds only from a VPC endpoint: whether the call is already allowed is unknowable (${GLOBAL_KEYS}#condition-keys-sourcevpce)`, () => {
    const inline = doc({
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: KEY,
      Condition: { StringEquals: { 'aws:SourceVpce': 'vpce-1a2b3c4d' } },
    });
    const result = refusal(
      diagnose(deniedDecrypt(), state({ principal: { inlinePolicies: { vpce: inline } } })),
    );
    expect(result.code).toBe('unknowable-condition');
    expect(result.uncertainty?.answers.map((a) => a.decision)).toEqual(['allowed', 'implicit-deny']);
  });

  it(`a key whose tags keymend cannot see: a Deny on aws:ResourceTag is unknowable; with the tags known, it is decided (${GLOBAL_KEYS}#condition-keys-resourcetag)`, () => {
    const scp = doc(FULL_ACCESS, {
      Effect: 'Deny',
      Action: 'kms:*',
      Resource: '*',
      Condition: { StringEquals: { 'aws:ResourceTag/quarantine': 'true' } },
    });
    const organization = { serviceControlPolicies: [[scp]] };
    const unseen = state({ organization });
    if (unseen.key) delete unseen.key.tags;
    expect(refusal(diagnose(deniedDecrypt(), unseen)).code).toBe('unknowable-condition');
    expect(diagnose(deniedDecrypt(), state({ organization })).verdict).toBe('propose');
    expect(
      refusal(diagnose(deniedDecrypt(), state({ organization, key: { tags: { quarantine: 'true' } } }))).code,
    ).toBe('explicit-deny');
  });

  it(`a statement testing aws:SourceIp that does not bear on the call changes nothing (${GLOBAL_KEYS}#condition-keys-sourceip)`, () => {
    const scp = doc(FULL_ACCESS, {
      Effect: 'Deny',
      Action: 's3:*',
      Resource: '*',
      Condition: { NotIpAddress: { 'aws:SourceIp': '192.0.2.0/24' } },
    });
    expect(
      diagnose(deniedDecrypt(), state({ organization: { serviceControlPolicies: [[scp]] } })).verdict,
    ).toBe('propose');
  });
});

describe('the layer AWS names and the layer keymend finds', () => {
  it(`agreeing, the diagnosis carries no note (${DENIED})`, () => {
    const result = diagnose(deniedDecrypt(), state());
    expect(result.verdict).toBe('propose');
    expect(result.diagnosis?.notes).toBeUndefined();
  });

  it(`AWS names the identity policy, keymend finds the key policy: the diagnosis says so (${DENIED})`, () => {
    const allowed = doc({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: KEY });
    const noDelegation = doc({
      Sid: 'KeyAdmins',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::111122223333:role/KeyAdmin' },
      Action: 'kms:*',
      Resource: '*',
    });
    const result = diagnose(
      deniedDecrypt(),
      state({ principal: { inlinePolicies: { kms: allowed } }, key: { policy: noDelegation } }),
    );
    expect(result.diagnosis?.blockingLayers).toEqual(['resource-based']);
    expect(result.diagnosis?.notes).toEqual([
      expect.objectContaining({
        code: 'layer-disagreement',
        message: expect.stringContaining('identity-based'),
      }),
    ]);
  });
});

describe("the key's resource keys stay on the key", () => {
  it(`a call without Kinesis markers: the stream access check does not borrow the key's tags (${GLOBAL_KEYS}#condition-keys-resourcetag)`, () => {
    const parsed = intake(loadEvent('consumer-decrypt-denied-context-only.record.json'));
    if (!parsed.match) throw new Error('the sample event no longer matches');
    expect(parsed.request.viaKinesis).toBe(false);
    const read = doc({
      Effect: 'Allow',
      Action: ['kinesis:GetRecords', 'kinesis:SubscribeToShard'],
      Resource: STREAM,
      Condition: { StringEquals: { 'aws:ResourceTag/project': 'orders' } },
    });
    const result = diagnose(
      parsed.request,
      state({ principal: { inlinePolicies: { read } }, key: { tags: { project: 'orders' } } }),
    );
    expect(refusal(result).code).toBe('forged-context');
  });
});

describe('kms:RequestAlias', () => {
  it(`a Deny unless the key is named by an approved alias turns on what Kinesis passed: unknowable (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-request-alias)`, () => {
    const inline = doc(
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: KEY },
      {
        Sid: 'OnlyThroughApprovedAlias',
        Effect: 'Deny',
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { StringNotEquals: { 'kms:RequestAlias': 'alias/orders' } },
      },
    );
    const result = refusal(
      diagnose(deniedDecrypt(), state({ principal: { inlinePolicies: { kms: inline } } })),
    );
    expect(result.code).toBe('unknowable-condition');
    expect(result.uncertainty?.keys).toEqual(['kms:RequestAlias']);
  });
});
