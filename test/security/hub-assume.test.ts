/**
 * The hub's function roles in an organization deployment (issue 25), judged by keymend's own evaluator
 * on the synthesized template: each may assume the member role of its organization's accounts, only
 * while setting a `keymend-` source identity, and no other role; the permissions boundary holds that
 * even against a full-admin policy attached later. A single-account stack assumes no role at all.
 */
import type { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import {
  type AuthorizationRequest,
  type CompiledPolicy,
  compilePolicy,
  type Decision,
  evaluate,
  principalContext,
  type RequestPrincipal,
} from '../../functions/policy';
import type { KeymendStack } from '../../infra/keymend-stack';
import { synthOrganization } from '../infra/organization';
import { roleStatements, synth } from '../infra/synth';
import { resolve } from './template-policies';

const HUB = '111122223333';
const MEMBER = '444455556666';
const ORG = 'o-a1b2c3d4e5';
const MEMBER_ROLE = `arn:aws:iam::${MEMBER}:role/keymend/keymend-member`;

interface Role {
  principal: RequestPrincipal;
  policy: CompiledPolicy;
  boundary: CompiledPolicy;
}

function roleOf(stack: KeymendStack, json: unknown, fn: 'remediateFunction' | 'approvalFunction'): Role {
  const template = Template.fromJSON(json as Record<string, unknown>);
  const statements = resolve(template, roleStatements(stack, template, fn) as never);
  const roleId = stack.getLogicalId(stack.remediation[fn].role?.node.defaultChild as CfnElement);
  const role = (
    json as { Resources: Record<string, { Properties: { PermissionsBoundary: { Ref: string } } }> }
  ).Resources[roleId];
  const boundaryId = role?.Properties.PermissionsBoundary.Ref ?? '';
  const boundary = resolve(
    template,
    (template.toJSON().Resources[boundaryId] as { Properties: { PolicyDocument: never } }).Properties
      .PolicyDocument,
  );
  const arn = `arn:aws:iam::${HUB}:role/keymend/${roleId}`;
  return {
    principal: {
      arn,
      accountId: HUB,
      type: 'AssumedRole',
      sessionArn: `arn:aws:sts::${HUB}:assumed-role/${roleId}/fn`,
    },
    policy: compilePolicy(
      { Version: '2012-10-17', Statement: statements },
      `${roleId}-policy`,
      'identity-based',
    ),
    boundary: compilePolicy(boundary, `${roleId}-boundary`, 'permissions-boundary'),
  };
}

const organization = synthOrganization();
const HUB_ROLES = {
  remediate: roleOf(organization.hub, organization.hubTemplate, 'remediateFunction'),
  approval: roleOf(organization.hub, organization.hubTemplate, 'approvalFunction'),
};
const single = synth({});
const SINGLE_ROLES = {
  remediate: roleOf(single.stack, single.template.toJSON(), 'remediateFunction'),
  approval: roleOf(single.stack, single.template.toJSON(), 'approvalFunction'),
};

/** A full-admin identity policy, as if someone attached one later: the boundary must still hold. */
const ADMIN = compilePolicy(
  { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
  'AdministratorAccess',
  'identity-based',
);

function assume(
  role: Role,
  action: string,
  resource: string,
  context: Record<string, string> = {},
): AuthorizationRequest {
  return {
    principal: role.principal,
    action,
    resource,
    context: {
      ...principalContext(role.principal),
      'aws:ResourceAccount': resource.split(':')[4] ?? '',
      ...context,
    },
  };
}

/**
 * A trust policy that admits anyone: across accounts the role's trust must allow too, and what is judged
 * here is the hub role's side (its policy and boundary). The member's trust is member-role.test.ts's.
 */
const TRUSTING = compilePolicy(
  {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:*', Resource: '*' }],
  },
  'trust-admitting-anyone',
  'resource-based',
);

function decide(role: Role, request: AuthorizationRequest, extra: CompiledPolicy[] = []): Decision {
  return evaluate(request, {
    identityPolicies: [role.policy, ...extra],
    permissionsBoundary: role.boundary,
    resourcePolicy: TRUSTING,
    resourceAccountId: request.resource.split(':')[4] ?? '',
  }).decision;
}

const IN_ORG = { 'aws:ResourceOrgID': ORG, 'sts:SourceIdentity': 'keymend-Pq0_r-abcdefghijklmnopqrstu' };
const READ_ONLY = { ...IN_ORG, 'sts:SourceIdentity': 'keymend-read-Pq0_r-abcdefghijklmnopqrstu' };

describe('which session each hub role may open (propose mode)', () => {
  it('the approval role: keymend-<id>, which may write as the member role allows', () => {
    expect(
      decide(HUB_ROLES.approval, assume(HUB_ROLES.approval, 'sts:AssumeRole', MEMBER_ROLE, IN_ORG)),
    ).toBe('allowed');
  });

  it('the remediate role, which parses event text: keymend-read-<id> only, which the member lets write nothing', () => {
    const role = HUB_ROLES.remediate;
    expect(decide(role, assume(role, 'sts:AssumeRole', MEMBER_ROLE, READ_ONLY))).toBe('allowed');
    expect(decide(role, assume(role, 'sts:AssumeRole', MEMBER_ROLE, IN_ORG))).not.toBe('allowed');
    expect(decide(role, assume(role, 'sts:SetSourceIdentity', MEMBER_ROLE, IN_ORG))).not.toBe('allowed');
  });

  it('in auto mode the remediate role may open a keymend-auto-<id> session (the fixes auto mode applies) and no other writing one', () => {
    const auto = synthOrganization({
      mode: 'auto',
      autoApplyPrincipals: 'arn:aws:iam::444455556666:role/app-*',
    });
    const role = roleOf(auto.hub, auto.hubTemplate, 'remediateFunction');
    const AUTO = { ...IN_ORG, 'sts:SourceIdentity': 'keymend-auto-Pq0_r-abcdefghijklmnopqrstu' };
    expect(decide(role, assume(role, 'sts:AssumeRole', MEMBER_ROLE, AUTO))).toBe('allowed');
    // keymend-<id> is the approval role's session, which the member role lets change key policies.
    expect(decide(role, assume(role, 'sts:AssumeRole', MEMBER_ROLE, IN_ORG))).not.toBe('allowed');
  });
});

describe.each(Object.entries(HUB_ROLES))('the hub %s role', (name, role) => {
  const OWN = name === 'remediate' ? READ_ONLY : IN_ORG;
  it.each(['sts:AssumeRole', 'sts:SetSourceIdentity'])(
    '%s: allowed on the member role of an account of the organization, with a keymend source identity',
    (action) => {
      expect(decide(role, assume(role, action, MEMBER_ROLE, OWN))).toBe('allowed');
    },
  );

  it.each<[string, string, Record<string, string>]>([
    [
      'the member role of an account of another organization',
      MEMBER_ROLE,
      { ...IN_ORG, 'aws:ResourceOrgID': 'o-zzzzzzzzzz' },
    ],
    [
      'the member role of an account in no organization',
      MEMBER_ROLE,
      { 'sts:SourceIdentity': IN_ORG['sts:SourceIdentity'] },
    ],
    ['the member role without a source identity', MEMBER_ROLE, { 'aws:ResourceOrgID': ORG }],
    [
      'the member role with another source identity',
      MEMBER_ROLE,
      { ...IN_ORG, 'sts:SourceIdentity': 'admin' },
    ],
    [
      'another role of a member account',
      `arn:aws:iam::${MEMBER}:role/OrganizationAccountAccessRole`,
      READ_ONLY,
    ],
    ['a role named keymend-member at another path', `arn:aws:iam::${MEMBER}:role/keymend-member`, READ_ONLY],
    ['keymend`s own roles in the hub', `arn:aws:iam::${HUB}:role/keymend/KeymendHub-Approval`, READ_ONLY],
  ])('sts:AssumeRole on %s: refused, even with a full-admin policy attached', (_what, resource, context) => {
    expect(decide(role, assume(role, 'sts:AssumeRole', resource, context))).not.toBe('allowed');
    expect(decide(role, assume(role, 'sts:AssumeRole', resource, context), [ADMIN])).not.toBe('allowed');
  });

  it.each(['sts:AssumeRoleWithSAML', 'sts:AssumeRoleWithWebIdentity'])('%s: refused anywhere', (action) => {
    expect(decide(role, assume(role, action, MEMBER_ROLE, IN_ORG), [ADMIN])).not.toBe('allowed');
  });

  it('the boundary admits the member roles of the organization, and nothing else beyond it', () => {
    expect(decide(role, assume(role, 'sts:AssumeRole', MEMBER_ROLE, OWN), [ADMIN])).toBe('allowed');
  });
});

describe('retiring keymend`s grants in member accounts', () => {
  const KEY = `arn:aws:kms:us-east-1:${MEMBER}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
  // The grant names the hub approval role as retiring principal: on the key's side, it allows.
  const GRANT_SIDE = compilePolicy(
    {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:RetireGrant', Resource: '*' }],
    },
    'the-grant',
    'resource-based',
  );
  const retire = (role: Role, orgId?: string) =>
    evaluate(assume(role, 'kms:RetireGrant', KEY, orgId ? { 'aws:ResourceOrgID': orgId } : {}), {
      identityPolicies: [role.policy],
      permissionsBoundary: role.boundary,
      resourcePolicy: GRANT_SIDE,
      resourceAccountId: MEMBER,
    }).decision;

  it('the approval role, their retiring principal, may: only on keys of the organization', () => {
    expect(retire(HUB_ROLES.approval, ORG)).toBe('allowed');
    expect(retire(HUB_ROLES.approval, 'o-zzzzzzzzzz')).not.toBe('allowed');
    expect(retire(HUB_ROLES.approval)).not.toBe('allowed');
  });

  it('the remediate role may not', () => {
    expect(retire(HUB_ROLES.remediate, ORG)).not.toBe('allowed');
  });
});

describe.each(Object.entries(SINGLE_ROLES))('a single-account stack`s %s role', (_name, role) => {
  it('assumes no role, not even a member role of an organization', () => {
    expect(decide(role, assume(role, 'sts:AssumeRole', MEMBER_ROLE, IN_ORG))).not.toBe('allowed');
    expect(decide(role, assume(role, 'sts:AssumeRole', MEMBER_ROLE, IN_ORG), [ADMIN])).not.toBe('allowed');
  });
});

describe('the hub functions know their organization', () => {
  it.each(['remediateFunction', 'approvalFunction'] as const)('%s has KEYMEND_ORGANIZATION_ID', (fn) => {
    const template = Template.fromJSON(organization.hubTemplate);
    const id = organization.hub.getLogicalId(
      organization.hub.remediation[fn].node.defaultChild as CfnElement,
    );
    const props = template.toJSON().Resources[id].Properties;
    expect(props.Environment.Variables.KEYMEND_ORGANIZATION_ID).toBe(ORG);
  });

  it('a single-account stack sets no organization', () => {
    expect(JSON.stringify(single.template.toJSON())).not.toContain('KEYMEND_ORGANIZATION_ID');
  });
});
