/**
 * Sign-in for approvals (issue 21), as the construct takes it: the organization's OpenID Connect
 * provider, the client keymend is registered as, the Secrets Manager secret holding its client secret,
 * and who may approve. The approval function gets the settings in its environment (names in
 * functions/commons/sign-in.ts, read once at cold start) and `secretsmanager:GetSecretValue` on that
 * one secret; the remediate function gets neither.
 */
import { Token } from 'aws-cdk-lib';
import { Effect, type PolicyStatementProps } from 'aws-cdk-lib/aws-iam';
import { parseSecretArn } from '../functions/commons/arn';
import { SIGN_IN_ENV } from '../functions/commons/sign-in';

export interface KeymendSignInProps {
  /** The provider's issuer URL (https), exactly as its discovery document names it. */
  readonly issuer: string;
  /** The client id of keymend's app registration at the provider. */
  readonly clientId: string;
  /**
   * The ARN of the Secrets Manager secret whose string is the client secret. Encrypt it with the AWS
   * managed key `aws/secretsmanager` (or grant the approval function's role kms:Decrypt on yours).
   */
  readonly clientSecretArn: string;
  /** E-mail addresses that may approve, reject and revoke. @default - none: groups only */
  readonly approverEmails?: string[];
  /** Groups (values of the groups claim) whose members may approve. @default - none: e-mails only */
  readonly approverGroups?: string[];
  /** The ID token or UserInfo claim that holds the groups. @default 'groups' */
  readonly groupsClaim?: string;
}

const EMAIL = /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/;

/** Throws on sign-in props no deployment should accept, naming the prop. */
export function checkSignInProps(props: KeymendSignInProps): void {
  const fail = (prop: string, why: string): never => {
    throw new Error(`KeymendRemediation: signIn.${prop} ${why}`);
  };
  if (!Token.isUnresolved(props.issuer)) {
    let url: URL | undefined;
    try {
      url = new URL(props.issuer);
    } catch {
      fail('issuer', `is not a URL: '${props.issuer}'`);
    }
    if (url?.protocol !== 'https:') fail('issuer', `must be an https URL, not '${props.issuer}'`);
  }
  if (props.clientId.trim() === '') fail('clientId', 'is empty');
  if (!Token.isUnresolved(props.clientSecretArn) && parseSecretArn(props.clientSecretArn) === null) {
    fail('clientSecretArn', `is not a Secrets Manager secret ARN: '${props.clientSecretArn}'`);
  }
  for (const email of props.approverEmails ?? []) {
    if (!EMAIL.test(email)) fail('approverEmails', `holds '${email}', which is not an e-mail address`);
  }
  if ((props.approverEmails ?? []).length === 0 && (props.approverGroups ?? []).length === 0) {
    fail(
      'approverEmails',
      'or signIn.approverGroups must name someone: with sign-in on, nobody else may approve',
    );
  }
}

/** The approval function's sign-in environment. */
export function signInEnvironment(props: KeymendSignInProps): Record<string, string> {
  return {
    [SIGN_IN_ENV.issuer]: props.issuer,
    [SIGN_IN_ENV.clientId]: props.clientId,
    [SIGN_IN_ENV.clientSecretArn]: props.clientSecretArn,
    [SIGN_IN_ENV.approverEmails]: (props.approverEmails ?? []).join(','),
    [SIGN_IN_ENV.approverGroups]: (props.approverGroups ?? []).join(','),
    [SIGN_IN_ENV.groupsClaim]: props.groupsClaim ?? 'groups',
  };
}

/** The approval function reads the client secret, that one secret only. */
export function signInStatements(props: KeymendSignInProps): PolicyStatementProps[] {
  return [
    {
      sid: 'SignInClientSecret',
      effect: Effect.ALLOW,
      actions: ['secretsmanager:GetSecretValue'],
      resources: [props.clientSecretArn],
    },
  ];
}
