/**
 * One request as the statements of a policy set test it: the action split once, the resource's first
 * five ARN segments found once, and the context as conditions and policy variables read it (Ctx). The
 * context's key names are lowercased on the first read only: most statements never reach a condition
 * or a policy variable.
 */
import { isArnShaped } from './arn-pattern';
import type { Ctx } from './template';
import type { AuthorizationRequest, ContextValue, RequestPrincipal } from './types';

/** aws:PrincipalType by the principal's kind. */
export const PRINCIPAL_TYPE: Readonly<Record<RequestPrincipal['type'], string>> = {
  AssumedRole: 'AssumedRole',
  IAMUser: 'User',
  Root: 'Account',
  FederatedUser: 'FederatedUser',
};

const TAG_PREFIX = 'aws:principaltag/';
const NO_VALUES: readonly ContextValue[] = [];

/**
 * The request, read once per evaluation. As a Ctx, key names are matched without case (a later key
 * wins over an earlier one that differs only in case), and the caller's own global keys
 * (context.ts `principalContext`) answer where the request does not carry them.
 */
export class RequestView implements Ctx {
  readonly principal: RequestPrincipal;
  /** Lowercased `service:action`, and its two halves. */
  readonly action: string;
  readonly service: string;
  readonly actionName: string;
  readonly resource: string;
  /** Whether the caller has a permissions boundary (NotPrincipal reads it). */
  readonly boundaryAttached: boolean;
  private readonly context: Readonly<Record<string, ContextValue>>;
  /** The context's lowercased key names and their values, in order, built on the first read. */
  private keys: string[] | null = null;
  private values: readonly ContextValue[] = NO_VALUES;
  private shaped: boolean | null = null;
  private prefix: string | null | undefined = undefined;

  constructor(request: AuthorizationRequest, boundaryAttached: boolean) {
    this.principal = request.principal;
    this.action = request.action.toLowerCase();
    const colon = this.action.indexOf(':');
    this.service = colon === -1 ? '' : this.action.slice(0, colon);
    this.actionName = this.action.slice(colon + 1);
    this.resource = request.resource;
    this.boundaryAttached = boundaryAttached;
    this.context = request.context;
  }

  get(key: string): string | readonly string[] | undefined {
    const keys = this.keys ?? this.index();
    // The last key of that name wins.
    const at = keys.lastIndexOf(key);
    if (at === -1) return this.principalValue(key);
    const value = this.values[at];
    if (!Array.isArray(value)) return String(value);
    return value.every((v) => typeof v === 'string') ? value : value.map(String);
  }

  private index(): string[] {
    const keys: string[] = [];
    const values: ContextValue[] = [];
    for (const name in this.context) {
      const value = this.context[name];
      if (value === undefined || value === null) continue;
      keys.push(name.toLowerCase());
      values.push(value);
    }
    this.keys = keys;
    this.values = values;
    return keys;
  }

  /** The caller's global keys, as principalContext gives them (tags: the first tag of that name). */
  private principalValue(key: string): string | undefined {
    const principal = this.principal;
    switch (key) {
      case 'aws:principalarn':
        return principal.arn;
      case 'aws:principalaccount':
        return principal.accountId;
      case 'aws:principaltype':
        return PRINCIPAL_TYPE[principal.type];
      case 'aws:userid':
        return principal.userId;
      case 'aws:username':
        return principal.type === 'IAMUser' ? principal.username : undefined;
    }
    if (principal.tags === undefined || !key.startsWith(TAG_PREFIX)) return undefined;
    for (const [tag, value] of Object.entries(principal.tags)) {
      if (value !== undefined && `${TAG_PREFIX}${tag.toLowerCase()}` === key) return value;
    }
    return undefined;
  }

  /** Whether the resource has six ARN segments. */
  get resourceShaped(): boolean {
    this.shaped ??= isArnShaped(this.resource);
    return this.shaped;
  }

  /** The resource's first five ARN segments with their colons; null for fewer. */
  get resourcePrefix(): string | null {
    if (this.prefix === undefined) {
      let at = -1;
      for (let n = 0; n < 5 && (n === 0 || at !== -1); n++) at = this.resource.indexOf(':', at + 1);
      this.prefix = at === -1 ? null : this.resource.slice(0, at + 1);
    }
    return this.prefix;
  }
}
