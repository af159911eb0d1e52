/**
 * `keymend snapshot`: reads what bears on one principal's use of one key (and stream) from a real
 * account, read-only, into the snapshot format (docs/snapshot.md), so `diagnose` and `scan
 * --diagnose` can run offline on a team's own policies. What it writes passes parseSnapshot first.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createAwsAccountReader } from '../../functions/adapters/aws-account';
import { parseSnapshot } from '../../functions/adapters/snapshot';
import {
  parseAliasArn,
  parseKeyArn,
  parsePrincipalArn,
  parseRoleArn,
  parseStreamArn,
  parseUserArn,
} from '../../functions/commons/arn';
import { KeymendError, SnapshotError, UsageError } from '../../functions/commons/errors';
import type {
  AccountReader,
  AccountSnapshot,
  KeyState,
  OrganizationState,
} from '../../functions/core/account';
import { OUTPUT_OPTIONS, type OutputFormat, outputOption, parseCommandLine } from '../args';
import { helpText } from '../help';
import { oneLine } from '../input';
import type { Command } from '../io';
import { EXIT_STATUS_HELP, runCommand } from '../run-command';
import { schemaReference } from '../schema-file';

const FORMATS = ['json', 'jsonl'] as const;

const HELP = `Usage: keymend snapshot --principal ARN --key ARN [--stream ARN] [--out FILE]
                        [--output json|jsonl]

Reads, read-only, what decides whether a principal may use a key through a
Kinesis stream, from the account the AWS credentials are for, and writes it in
the snapshot format (docs/snapshot.md) that 'keymend diagnose --account' and
'keymend scan --diagnose --account' read:
  - the principal (a role or user): inline, managed (default version) and group
    policies, permissions boundary, tags;
  - the key: state, manager, aliases, key policy, and the principal's grants;
  - the stream, when given: which key it encrypts with (and that key too, when
    it is another one).
  - the organization: its id, the account's path (OUs) and its SCPs and RCPs
    at every level, each with its id, name and target, where visible.
The path, SCPs and RCPs are readable only from the management account or a
delegated administrator; elsewhere they are left out, and diagnose refuses when
AWS's message names an SCP or RCP. The snapshot is validated before it is
written; policy documents are kept exactly as read.
Calls made: iam:GetRole or GetUser (and their List/Get policy calls),
kms:DescribeKey, GetKeyPolicy, ListAliases, ListGrants, ListResourceTags,
kinesis:DescribeStreamSummary (its key and retention), iam:ListAccountAliases,
organizations:DescribeOrganization, ListParents, ListRoots,
ListPoliciesForTarget and DescribePolicy. Nothing is changed.

Options:
  --principal ARN  the role ARN (with its path) or user ARN; its account is
                   the snapshot's account. Required.
  --key ARN        the key ARN (or alias ARN), in that account; its Region is
                   the snapshot's Region. Required.
  --stream ARN     the Kinesis stream ARN, in that account and Region.
  --out FILE       where to write the snapshot (default: standard output).
  --output FORMAT  json (default): pretty; jsonl: on one line. A snapshot is
                   JSON; it names snapshot.schema.json in "$schema", relative
                   to where it is written, so editors check it.
  -h, --help       show this help.

${EXIT_STATUS_HELP}
Here a failure is also a principal, key or stream not found, or what was read
not being a valid snapshot (the message names the field).

Example:
  K=arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
  keymend snapshot --key "$K" \\
    --principal arn:aws:iam::111122223333:role/service-role/orders-consumer \\
    --stream arn:aws:kinesis:us-east-1:111122223333:stream/orders --out mine.json
`;

/** Something the account does not hold, or that these credentials cannot see. */
class NotFoundError extends KeymendError {
  override readonly name: string = 'NotFoundError';
}

export interface SnapshotOptions {
  format?: OutputFormat;
  principal: string;
  key: string;
  stream?: string;
  out?: string;
}

function options(argv: string[]): SnapshotOptions {
  const { values } = parseCommandLine(argv, {
    principal: { type: 'string' },
    key: { type: 'string' },
    stream: { type: 'string' },
    out: { type: 'string' },
    ...OUTPUT_OPTIONS,
  });
  const { principal, key, stream, out } = values;
  if (!principal) throw new UsageError('--principal ARN is required');
  if (!key) throw new UsageError('--key ARN is required');
  if (!parseRoleArn(principal) && !parseUserArn(principal)) {
    throw new UsageError(
      `--principal must be a role ARN (with its path) or a user ARN, not a session (got ${JSON.stringify(principal)})`,
    );
  }
  const owner = parsePrincipalArn(principal)?.accountId;
  const keyArn = parseKeyArn(key) ?? parseAliasArn(key);
  if (!keyArn) throw new UsageError(`--key must be a KMS key ARN or alias ARN (got ${JSON.stringify(key)})`);
  if (keyArn.accountId !== owner) {
    throw new UsageError(
      `--key is in account ${keyArn.accountId}, the principal in ${owner}: a key policy can only be read in its own account, so snapshot each account apart`,
    );
  }
  if (stream !== undefined) {
    const streamArn = parseStreamArn(stream);
    if (!streamArn)
      throw new UsageError(`--stream must be a Kinesis stream ARN (got ${JSON.stringify(stream)})`);
    if (streamArn.accountId !== owner || streamArn.region !== keyArn.region) {
      throw new UsageError('--stream must be in the account of --principal and the Region of --key');
    }
  }
  if (out === '') throw new UsageError('--out needs a FILE');
  return {
    format: outputOption(values, FORMATS, 'json'),
    principal,
    key,
    ...(stream !== undefined ? { stream } : {}),
    ...(out !== undefined ? { out } : {}),
  };
}

/**
 * Reads the snapshot for `o` through `reader` (whose account and Region are the snapshot's) and
 * validates it.
 * @throws NotFoundError when the principal, key or stream is not there; SnapshotError when invalid.
 */
export async function takeSnapshot(reader: AccountReader, o: SnapshotOptions): Promise<AccountSnapshot> {
  const [principal, key, stream, organization, accountAlias] = await Promise.all([
    reader.getPrincipal(o.principal),
    reader.getKey(o.key),
    o.stream === undefined ? Promise.resolve(null) : reader.getStream(o.stream),
    reader.getOrganization(),
    reader.getAccountAlias ? reader.getAccountAlias() : Promise.resolve(null),
  ]);
  const where = `account ${reader.accountId}`;
  if (!principal) throw new NotFoundError(`principal ${o.principal} not found in ${where}`);
  if (!key) throw new NotFoundError(`key ${o.key} not found in ${where} (Region ${reader.region})`);
  if (o.stream !== undefined && !stream) throw new NotFoundError(`stream ${o.stream} not found in ${where}`);
  const keys: KeyState[] = [key];
  if (stream?.keyArn && stream.keyArn !== key.arn) {
    const streamKey = await reader.getKey(stream.keyArn);
    if (streamKey) keys.push(streamKey);
  }
  const snapshot = structuredClone({
    accountId: reader.accountId,
    ...(accountAlias ? { accountAlias } : {}),
    region: reader.region,
    principals: [principal],
    keys,
    ...(stream ? { streams: [stream] } : {}),
    // The organization's id, the account's path and its SCPs and RCPs (each with id, name and target),
    // where visible: conditions and organization policies then answer offline as they do with --aws.
    ...(organization ? { organization: organizationSeen(organization) } : {}),
  });
  return parseSnapshot(snapshot);
}

/** What the reader could see of the organization: its id, the account's path, its SCPs and RCPs. */
function organizationSeen(organization: OrganizationState): OrganizationState {
  const seen: OrganizationState = {};
  if (organization.id !== undefined) seen.id = organization.id;
  if (organization.path !== undefined) seen.path = organization.path;
  if (organization.serviceControlPolicies !== undefined)
    seen.serviceControlPolicies = organization.serviceControlPolicies;
  if (organization.resourceControlPolicies !== undefined)
    seen.resourceControlPolicies = organization.resourceControlPolicies;
  return seen;
}

/** The snapshot command over readers from `readerFor` (the AWS SDK's, unless a test passes its own). */
export function makeSnapshotCommand(
  readerFor: (accountId: string, region: string, grantee: string) => AccountReader = (
    accountId,
    region,
    grantee,
  ) => createAwsAccountReader({ accountId, region, grantee }),
): Command {
  return {
    name: 'snapshot',
    summary: 'read a principal, key and stream from a real account into a snapshot file (read-only)',
    help: helpText(HELP),
    run: (argv, io) =>
      runCommand('snapshot', io, async () => {
        const o = options(argv);
        const accountId = parsePrincipalArn(o.principal)?.accountId as string;
        const region = (parseKeyArn(o.key) ?? parseAliasArn(o.key))?.region as string;
        let snapshot: AccountSnapshot;
        try {
          snapshot = await takeSnapshot(readerFor(accountId, region, o.principal), o);
        } catch (error) {
          if (!(error instanceof SnapshotError)) throw error;
          throw new KeymendError(`what was read is not a valid snapshot: ${oneLine(error)}`, {
            cause: error,
          });
        }
        // `$schema` lets an editor check the file as people change it (snapshot.schema.json).
        const directory = o.out === undefined ? process.cwd() : path.dirname(path.resolve(o.out));
        const file: AccountSnapshot & { $schema: string } = {
          $schema: schemaReference(directory),
          ...snapshot,
        };
        const text = `${JSON.stringify(file, null, o.format === 'json' ? 2 : undefined)}\n`;
        if (o.out === undefined) {
          io.stdout(text);
          return;
        }
        try {
          await writeFile(o.out, text);
        } catch (error) {
          throw new KeymendError(`cannot write ${o.out}: ${oneLine(error)}`, { cause: error });
        }
        io.stderr(
          `keymend snapshot: wrote ${o.out} (${snapshot.principals.length} principal, ${snapshot.keys.length} ${snapshot.keys.length === 1 ? 'key' : 'keys'}, ${snapshot.streams?.length ?? 0} stream)\n`,
        );
      }),
  };
}

export const snapshotCommand: Command = makeSnapshotCommand();
