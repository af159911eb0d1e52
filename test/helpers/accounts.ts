/** The account snapshots in events/accounts/, read and validated as the CLI reads them. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseSnapshot, SnapshotReader } from '../../functions/adapters/snapshot';
import type { AccountSnapshot } from '../../functions/core/account';
import { EVENTS_DIR } from './events';

/** The snapshots' folder. */
export const ACCOUNTS_DIR = path.join(EVENTS_DIR, 'accounts');

/** The path of `events/accounts/NAME.json`. */
export const accountFile = (name: string): string => path.join(ACCOUNTS_DIR, `${name}.json`);

/** `events/accounts/NAME.json`, validated: a fresh copy each call, which a test may change. */
export function loadSnapshot(name: string): AccountSnapshot {
  return parseSnapshot(JSON.parse(readFileSync(accountFile(name), 'utf8')));
}

/** A SnapshotReader over `events/accounts/NAME.json`. */
export function snapshotReader(name: string): SnapshotReader {
  return new SnapshotReader(loadSnapshot(name));
}

/** A key's default key policy (the one KMS gives it): `account` delegates to IAM, so its IAM policies decide. */
export function delegatingKeyPolicy(account: string) {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${account}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
    ],
  };
}
