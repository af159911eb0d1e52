/**
 * What a person can do about a denial keymend refuses to fix: who must act, and what to change, with
 * the exact statement where one is needed (scoped as keymend's own fix would be: one operation, one
 * key, only through Kinesis for one stream). Pure: data in, data out. The names in the steps come from
 * the event and the account and are untrusted: renderers escape them like any other value.
 */
import type { DecidedBy, PolicyLayer } from '../policy';
import type { Diagnosis, RefusalCode } from './diagnose';
import { fixStatement, type PolicyStatement } from './plan';
import type { KinesisKmsRequest } from './request';

/** One thing a person can do. */
export interface NextStep {
  /** Who can do it (the key's administrators in account X, an IAM administrator of account Y, ...). */
  who: string;
  /** What to do, in a sentence or two. */
  what: string;
  /** The statement to add, when adding one is the step. */
  statement?: PolicyStatement | Omit<PolicyStatement, 'Sid'>;
}

/** What the next steps are worked out from. */
export interface NextStepInput {
  code: RefusalCode;
  request: KinesisKmsRequest;
  /** The key's ARN when known (the record's, or the one the account resolved). */
  keyArn: string | null;
  /** The account keymend runs in. */
  accountId: string;
  diagnosis: Diagnosis | null;
  /** For `outside-organization`: the account keymend could not place in its organization (not read). */
  unverifiedAccount?: string;
}

function accountOfArn(arn: string | null): string | null {
  const account = arn?.split(':')[4];
  return account && /^\d{12}$/.test(account) ? account : null;
}

/** Who can change a policy of a layer, for the principal's and key's accounts. */
function owner(layer: PolicyLayer | 'vpc-endpoint', principalAccount: string, keyAccount: string): string {
  switch (layer) {
    case 'identity-based':
    case 'permissions-boundary':
      return `an IAM administrator of account ${principalAccount}`;
    case 'resource-based':
    case 'grant':
      return `the key's administrators (account ${keyAccount})`;
    case 'session':
      return 'whoever assumes the role and passes the session policy (the code or service calling sts:AssumeRole)';
    case 'service-control':
    case 'resource-control':
      return "the organization's management account (or a delegated administrator for Organizations policies)";
    case 'vpc-endpoint':
      return "the network team that owns the VPC's KMS interface endpoint";
    default: {
      const unreachable: never = layer;
      return String(unreachable);
    }
  }
}

/** How a person changes a policy of that layer. */
function howToChange(layer: PolicyLayer): string {
  switch (layer) {
    case 'identity-based':
      return 'iam:PutRolePolicy / iam:PutUserPolicy for an inline policy, iam:CreatePolicyVersion for a managed one';
    case 'permissions-boundary':
      return "iam:CreatePolicyVersion on the boundary's managed policy";
    case 'resource-based':
      return 'kms:PutKeyPolicy on the key';
    case 'grant':
      return 'kms:RevokeGrant on the key';
    case 'session':
      return 'the Policy or PolicyArns of the AssumeRole call';
    case 'service-control':
    case 'resource-control':
      return 'organizations:UpdatePolicy';
    default: {
      const unreachable: never = layer;
      return String(unreachable);
    }
  }
}

const LAYER_NAMES: Record<PolicyLayer, string> = {
  'identity-based': 'IAM policy',
  'resource-based': 'key policy',
  grant: 'grant',
  'permissions-boundary': 'permissions boundary',
  session: 'session policy',
  'service-control': 'service control policy (SCP)',
  'resource-control': 'resource control policy (RCP)',
};

/** `the SCP p-123 (statement DenyX)`: the policy as the evaluator names it, and its statement. */
function policyNamed(d: DecidedBy): string {
  const statement = d.statement === '' ? '' : `, statement ${d.statement}`;
  return `the ${LAYER_NAMES[d.policyType]} ${d.policy}${statement}`;
}

/** The statement a principal's side needs (identity policy, boundary, SCP): as keymend's inline fix. */
function identitySide(request: KinesisKmsRequest, keyArn: string): Omit<PolicyStatement, 'Sid'> | null {
  if (!request.streamArn) return null;
  return fixStatement({
    principalArn: request.principalArn,
    keyArn,
    streamArn: request.streamArn,
    region: request.region,
    operation: request.operation,
  });
}

/** The statement the key policy needs: naming the principal, as keymend's key-policy fix. */
function keySide(request: KinesisKmsRequest, keyArn: string): Omit<PolicyStatement, 'Sid'> | null {
  if (!request.streamArn) return null;
  return fixStatement(
    {
      principalArn: request.principalArn,
      keyArn,
      streamArn: request.streamArn,
      region: request.region,
      operation: request.operation,
    },
    request.principalArn,
  );
}

const withStatement = (
  step: Omit<NextStep, 'statement'>,
  statement: NextStep['statement'] | null,
): NextStep => (statement ? { ...step, statement } : step);

/** The snapshot commands that refresh keymend's view of an account, then diagnose again. */
const RERUN =
  'Take a fresh snapshot (keymend snapshot --out account.json, with credentials of that account) and run keymend diagnose --event EVENT.json --account account.json again, or keymend diagnose --aws.';

/** How to find out whether `account` is in the organization, and let keymend see it when it is. */
function membershipSteps(account: string): NextStep[] {
  return [
    {
      who: "the organization's management account (or a delegated administrator for AWS Organizations)",
      what: `keymend could not tell whether account ${account} is in the organization it serves, so it changed nothing. Check: aws organizations describe-account --account-id ${account} answers for a member account only (AccountNotFoundException: it is not one).`,
    },
    {
      who: 'whoever runs keymend',
      what: `If account ${account} is a member, let keymend read it, then diagnose the denial again: in an organization deployment, the member StackSet must have a stack instance there (role keymend/keymend-member) that the hub can assume; with keymend local, give that account's snapshot (with organization.id) as another --account.`,
    },
  ];
}

/**
 * The next steps for a refusal, most useful first. Never empty: a code with nothing specific to add
 * still says who can look further.
 */
export function nextSteps(input: NextStepInput): NextStep[] {
  const { code, request, diagnosis } = input;
  const keyArn = input.keyArn ?? request.keyArn ?? request.keyReference ?? 'the key';
  const principalAccount = accountOfArn(request.principalArn) ?? request.accountId;
  const keyAccount = accountOfArn(input.keyArn ?? request.keyArn) ?? input.accountId;
  const op = request.operation;
  const stream = request.streamArn ?? 'the stream';
  const deciding = diagnosis?.decidedBy ?? [];
  const iamAdmin = owner('identity-based', principalAccount, keyAccount);
  const keyAdmins = owner('resource-based', principalAccount, keyAccount);

  switch (code) {
    case 'explicit-deny': {
      const denies = deciding.filter((d) => d.statement !== '');
      const steps = (denies.length > 0 ? denies : deciding).map((d) => ({
        who: owner(d.policyType, principalAccount, keyAccount),
        what: `Decide whether ${policyNamed(d)} should deny ${op} by ${request.principalArn} on ${keyArn}. It is a Deny: only changing that policy (${howToChange(d.policyType)}) lifts it, and if it is a guardrail on purpose, the stream's reader or writer must change instead.`,
      }));
      return steps.length > 0
        ? steps
        : [
            {
              who: iamAdmin,
              what: `Find the explicit Deny of ${op} that AWS reports and decide whether it should apply.`,
            },
          ];
    }
    case 'boundary-blocks': {
      const boundary = deciding.find((d) => d.policyType === 'permissions-boundary');
      return [
        withStatement(
          {
            who: iamAdmin,
            what: `Add the statement below to the permissions boundary${boundary && boundary.policy !== 'permissions-boundary' ? ` ${boundary.policy}` : ''} of ${request.principalArn} (${howToChange('permissions-boundary')}; a boundary shared by other roles widens for them too). keymend never changes boundaries. Once it allows ${op}, keymend can propose the rest of the fix.`,
          },
          identitySide(request, keyArn),
        ),
      ];
    }
    case 'organization-policy-blocks': {
      const blocking = deciding.filter(
        (d) => d.policyType === 'service-control' || d.policyType === 'resource-control',
      );
      const named =
        blocking.length > 0
          ? blocking.map(policyNamed).join('; ')
          : 'the SCPs and RCPs on the way to the account';
      return [
        withStatement(
          {
            who: owner('service-control', principalAccount, keyAccount),
            what: `No Allow of ${op} is in ${named}. Allow it there (scoped as below, or as wide as your organization's guardrails intend), at the level (root, OU or account) the policy is attached to.`,
          },
          identitySide(request, keyArn),
        ),
      ];
    }
    case 'aws-managed-key':
      return [
        {
          who: iamAdmin,
          what: `The stream uses an AWS managed key (alias/aws/kinesis): its key policy already lets every principal of account ${keyAccount} use it through Kinesis, and it cannot be changed. Look instead for an explicit Deny of ${op} in the principal's IAM policies, permissions boundary, session policy or an SCP.`,
        },
        {
          who: `the owner of the stream ${stream}`,
          what: `An AWS managed key cannot be used from another account. For a reader or writer in another account, encrypt the stream with a customer managed key whose policy allows that account (aws kinesis start-stream-encryption --encryption-type KMS --key-id KEY_ARN).`,
        },
      ];
    case 'invisible-layer': {
      const type = request.deniedBy.policyType;
      const look =
        type === 'vpc-endpoint'
          ? 'the policy of the VPC interface endpoint for KMS the caller goes through'
          : type === 'session'
            ? 'the session policy passed when the role was assumed (AssumeRole Policy or PolicyArns)'
            : type === 'service-control' || type === 'resource-control'
              ? "the organization's SCPs and RCPs here: it reads them (organizations:ListRoots, ListPoliciesForTarget, DescribePolicy) only where its role may, in the management account or a delegated administrator for AWS Organizations policies; elsewhere they are refused, and a snapshot can carry them with id, name and target (organization.serviceControlPolicies, resourceControlPolicies)"
              : "the policies AWS names in its message that keymend's account state does not show (SCPs and RCPs, session policies, VPC endpoint policies)";
      return [
        {
          who: owner(
            type === 'vpc-endpoint' || type === 'session' ? type : 'service-control',
            principalAccount,
            keyAccount,
          ),
          what: `keymend cannot read ${look}. Check there for what denies ${op} by ${request.principalArn} on ${keyArn}.`,
        },
        { who: 'whoever runs keymend', what: RERUN },
      ];
    }
    case 'foreign-key-policy':
      return [
        withStatement(
          {
            who: `the key's administrators in account ${keyAccount} (the key's owner)`,
            what: `Only account ${keyAccount} can change the policy of ${keyArn}: add the statement below to it (kms:PutKeyPolicy). keymend in account ${input.accountId} cannot.`,
          },
          keySide(request, keyArn),
        ),
        // Across accounts both sides must allow: the caller's IAM too, when it does not yet.
        ...(diagnosis === null || diagnosis.blockingLayers.includes('identity-based')
          ? [
              withStatement(
                {
                  who: iamAdmin,
                  what: `Across accounts both sides must allow: account ${principalAccount} must also allow ${op} on the key in the principal's IAM policies (the statement below).`,
                },
                identitySide(request, keyArn),
              ),
            ]
          : []),
      ];
    case 'key-in-other-account':
      return [
        withStatement(
          {
            who: `the key's administrators in account ${keyAccount} (the key's owner)`,
            what: `keymend cannot read the policy of ${keyArn} from account ${input.accountId}. If it does not admit ${request.principalArn} yet, add the statement below to it (kms:PutKeyPolicy); only account ${keyAccount} can.`,
          },
          keySide(request, keyArn),
        ),
        withStatement(
          {
            who: iamAdmin,
            what: `Across accounts both sides must allow: give ${request.principalArn} the statement below in its IAM policies (iam:PutRolePolicy), once the key policy admits it.`,
          },
          identitySide(request, keyArn),
        ),
      ];
    case 'key-unreadable':
      return [
        {
          who: keyAdmins,
          what: `KMS denied keymend's own read of ${keyArn}: its key policy admits neither keymend's role nor IAM policies of account ${input.accountId}. Add a statement allowing keymend's role kms:DescribeKey, kms:GetKeyPolicy and kms:ListGrants on the key (and kms:CreateGrant for the grants it proposes), or the "Enable IAM User Permissions" statement for the account root; then the next denial is diagnosed.`,
        },
      ];
    case 'wrong-account':
      return [
        {
          who: 'whoever runs keymend',
          what: `The denial was recorded in account ${request.accountId}: deploy keymend there, or diagnose it against a snapshot of that account. ${RERUN}`,
        },
      ];
    case 'principal-not-found':
    case 'key-not-found':
    case 'invalid-policy':
      return [
        {
          who: 'whoever runs keymend',
          what: `keymend's view of the account is stale or incomplete. ${RERUN}`,
        },
      ];
    case 'key-not-enabled':
      return [
        {
          who: keyAdmins,
          what: `The key is not enabled, so every use fails whatever the policies say. Enable it (aws kms enable-key), or if it is pending deletion, cancel that (aws kms cancel-key-deletion) and enable it; or re-encrypt the stream with another key.`,
        },
      ];
    case 'stream-key-mismatch':
      return [
        {
          who: `the owner of the stream ${stream}`,
          what: 'The call named a key the stream does not use. Check the reader or writer configuration (a stale key in a client, a re-encrypted stream) before granting anything.',
        },
      ];
    case 'forged-context':
      return [
        {
          who: `the security team of account ${principalAccount}`,
          what: `The call did not come through Kinesis and ${request.principalArn} may not read or write ${stream}. Find who made it (the CloudTrail record's sourceIPAddress and userAgent) before granting anything.`,
        },
      ];
    case 'unsupported-principal':
      return [
        {
          who: iamAdmin,
          what: `keymend fixes roles and users only. Use a role for this reader or writer, or grant ${op} on the key to it by hand.`,
        },
      ];
    case 'unsupported-operation':
    case 'no-stream':
    case 'malformed-request':
      return [
        {
          who: keyAdmins,
          what: 'No least-privilege fix can be scoped to one stream for this call: decide by hand whether the caller should use this key at all.',
        },
      ];
    case 'forward-access-session-uncertain':
    case 'unknowable-condition':
      return [
        {
          who: `${keyAdmins} and ${iamAdmin}`,
          what: 'The verdict depends on something keymend cannot know (see the reason). Read the policy statements it names and decide; if the statement is meant to allow Kinesis, make its condition not depend on that value.',
        },
      ];
    case 'outside-organization':
      return [
        ...(input.unverifiedAccount ? membershipSteps(input.unverifiedAccount) : []),
        {
          who: `the security team of account ${principalAccount}, and the key's administrators in account ${keyAccount}`,
          what: `keymend acts only inside the organization it serves. If ${request.principalArn} should use ${keyArn} across the organization's boundary, the key's owner must admit it in the key policy and account ${principalAccount} must allow it in IAM, by hand and on purpose; if not, find out why it tried.`,
        },
      ];
    case 'no-sufficient-fix':
      return [
        withStatement(
          {
            who: `${iamAdmin}, or ${keyAdmins}`,
            what: `None of keymend's fixes is proven enough (see the mechanisms set aside). Add the statement below to the principal's IAM policies by hand, or the key-policy form naming the principal, and check what else blocks.`,
          },
          identitySide(request, keyArn),
        ),
      ];
    default: {
      const unreachable: never = code;
      return [{ who: 'whoever runs keymend', what: `Unknown refusal ${String(unreachable)}.` }];
    }
  }
}
