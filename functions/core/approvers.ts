/**
 * Who may approve when sign-in is on: the people a deployment lists by e-mail address, and the members
 * of the groups it lists (from the identity provider's groups claim). Pure: the approver comes from
 * a verified ID token (adapters/sign-in.ts), the rule from the configuration.
 */

/** A person signed in with the organization's identity provider. */
export interface Approver {
  /** The provider's `sub`: stable, unique per provider. */
  subject: string;
  /** The `email` claim ('' when the provider sent none). */
  email: string;
  /** False when the provider says the address is not verified (`email_verified: false`). */
  emailVerified: boolean;
  /** The groups claim's values that the rule names (the others are not kept). */
  groups: string[];
}

/** Who may approve: listed e-mail addresses (compared case-insensitively) and listed groups. */
export interface ApproverRule {
  emails: readonly string[];
  groups: readonly string[];
}

/** True when the approver is listed by address (a verified one) or is in a listed group. */
export function mayApprove(rule: ApproverRule, approver: Approver): boolean {
  const email = approver.email.toLowerCase();
  const byEmail =
    email !== '' && approver.emailVerified && rule.emails.some((listed) => listed.toLowerCase() === email);
  return byEmail || approver.groups.some((group) => rule.groups.includes(group));
}

/** The approver in a few words for people: the e-mail address, else the subject. */
export function approverName(approver: Pick<Approver, 'email' | 'subject'>): string {
  return approver.email || `subject ${approver.subject}`;
}
