/** Flow ports over the in-memory store and account, a recording publisher and a fixed clock. */

import { inProcessLinkSigner } from '../../functions/adapters/link-signer';
import { LocalAccount } from '../../functions/adapters/local-account';
import type { AccountWriter, OutgoingMessage } from '../../functions/core/ports';
import type { NotificationKind } from '../../functions/core/proposal';
import type { ApprovalRequest } from '../../functions/flows/approve';
import type { FlowContext } from '../../functions/flows/context';
import type { RemediateConfig } from '../../functions/flows/remediate';
import { kindText, NOTIFICATION_KINDS } from '../../functions/render/kinds';
import { loadAccount } from './denials';
import { MemoryStore } from './memory-store';

/** AWS actions that change the account (the rest of LocalAccount's stats are reads). */
const WRITE_ACTION = /:(Create|Put|Delete|Revoke|Retire)/;

/** The in-process stand-ins of the two KMS HMAC keys: approve, reject and review links; revoke links. */
export const LINK_KEYS = {
  decision: new Uint8Array(Buffer.from('test-signing-key-0123456789abcdef-0123456789')),
  revoke: new Uint8Array(Buffer.from('test-revoke-key-0123456789abcdef-0123456789')),
};
/** The approval function's signer: both keys. */
export const approvalSigner = inProcessLinkSigner(LINK_KEYS);
/** The remediate function's signer: the decision key only. */
export const remediateSigner = inProcessLinkSigner({ decision: LINK_KEYS.decision });

export const TEST_CONFIG: RemediateConfig = {
  mode: 'propose',
  autoApplyPrincipals: [],
  preferMechanism: 'kms-grant',
  linkTtlHours: 72,
  autoApplyHourlyLimit: 10,
  autoApplyCloudFormation: false,
  enabledMechanisms: ['kms-grant', 'iam-inline-policy'],
  approvalUrl: 'http://127.0.0.1:8787',
};

export interface FlowFixture {
  ports: FlowContext;
  store: MemoryStore;
  /** The account, as AWS would hold it (reads and writes through LocalAccount). */
  account: LocalAccount;
  /** The writes keymend made, in order, by AccountWriter method. */
  writes: string[];
  /** How many AWS read calls keymend made so far. */
  reads(): number;
  /** The e-mails published, in order (one per notification). */
  outbox: OutgoingMessage[];
  /** Every message published (e-mail and chat). */
  published: OutgoingMessage[];
  /** The kind of each e-mail in `outbox`, read from its subject. */
  kinds(): (NotificationKind | 'unknown')[];
  /** Moves the clock on by `ms`. */
  advance(ms: number): void;
  /** Makes the publisher throw. */
  failPublishing(fail: boolean): void;
}

export function flowFixture(snapshot = 'demo.json'): FlowFixture {
  const store = new MemoryStore();
  const account = new LocalAccount(loadAccount(snapshot));
  const writes: string[] = [];
  // Calls go to `account` at call time, so a test may replace one of its methods.
  const recorded =
    <A, R>(name: string, call: (args: A) => Promise<R>) =>
    (args: A): Promise<R> => {
      writes.push(name);
      return call(args);
    };
  const writer: AccountWriter = {
    createGrant: recorded('createGrant', (args) => account.createGrant(args)),
    retireGrant: recorded('retireGrant', (args) => account.retireGrant(args)),
    putPrincipalPolicy: recorded('putPrincipalPolicy', (args) => account.putPrincipalPolicy(args)),
    deletePrincipalPolicy: recorded('deletePrincipalPolicy', (args) => account.deletePrincipalPolicy(args)),
    getKeyPolicy: (keyArn) => account.getKeyPolicy(keyArn),
    putKeyPolicy: recorded('putKeyPolicy', (args) => account.putKeyPolicy(args)),
  };
  const outbox: OutgoingMessage[] = [];
  const published: OutgoingMessage[] = [];
  let now = Date.parse('2026-12-03T10:00:00.000Z');
  let failing = false;
  const ports: FlowContext = {
    store,
    reader: account,
    writer,
    publisher: {
      async publish(message) {
        if (failing) throw new Error('SNS is down');
        published.push(message);
        if (message.topic === 'email') outbox.push(message);
      },
    },
    // The remediate function's signer: the decision key only (it can never sign a revoke link).
    signer: remediateSigner,
    now: () => new Date(now),
  };
  return {
    ports,
    store,
    account,
    writes,
    reads: () =>
      Object.entries(account.stats())
        .filter(([action]) => !WRITE_ACTION.test(action))
        .reduce((sum, [, n]) => sum + n, 0),
    outbox,
    published,
    kinds: () => outbox.map(kindOf),
    advance: (ms) => {
      now += ms;
    },
    failPublishing: (fail) => {
      failing = fail;
    },
  };
}

/** The kind of a notification, read from its subject. */
export function kindOf(message: OutgoingMessage): NotificationKind | 'unknown' {
  return (
    NOTIFICATION_KINDS.find((k) => message.subject.includes(`] keymend: ${kindText(k).label}:`)) ?? 'unknown'
  );
}

/** The approval link for `action` in an e-mail's text. */
export function linkIn(message: OutgoingMessage | undefined, action: 'approve' | 'reject' | 'revoke'): URL {
  const urls = (message?.message ?? '').match(/https?:\/\/[^\s]+\/p\/[^\s]+/g) ?? [];
  const found = urls.map((u) => new URL(u)).find((u) => u.searchParams.get('a') === action);
  if (!found) throw new Error(`no ${action} link in the message`);
  return found;
}

/** The POST a person's click on an approve `link` sends (the form the link's page submits). */
export function approvalClick(link: URL): ApprovalRequest {
  return {
    method: 'POST',
    path: link.pathname,
    query: {},
    form: { a: 'approve', t: link.searchParams.get('t') ?? '' },
    sourceIp: '203.0.113.9',
    userAgent: 'test',
  };
}
