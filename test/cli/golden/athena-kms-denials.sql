SELECT
  eventversion,
  eventtime,
  eventsource,
  eventname,
  eventtype,
  awsregion,
  sourceipaddress,
  useragent,
  errorcode,
  errormessage,
  requestparameters,
  eventid,
  recipientaccountid,
  useridentity.type AS useridentity_type,
  useridentity.principalid AS useridentity_principalid,
  useridentity.arn AS useridentity_arn,
  useridentity.accountid AS useridentity_accountid,
  useridentity.invokedby AS useridentity_invokedby,
  useridentity.sessioncontext.sessionissuer.type AS sessionissuer_type,
  useridentity.sessioncontext.sessionissuer.principalid AS sessionissuer_principalid,
  useridentity.sessioncontext.sessionissuer.arn AS sessionissuer_arn,
  useridentity.sessioncontext.sessionissuer.accountid AS sessionissuer_accountid,
  useridentity.sessioncontext.sessionissuer.username AS sessionissuer_username,
  json_format(CAST(transform(resources, r -> MAP(ARRAY['ARN', 'accountId', 'type'], ARRAY[r.arn, r.accountid, r.type])) AS JSON)) AS resources_json
FROM "security"."cloudtrail_org"
WHERE "timestamp" BETWEEN ? AND ?
  AND eventtime BETWEEN ? AND ?
  AND "account" IN (?, ?)
  AND "region" IN (?)
  AND eventsource = 'kms.amazonaws.com'
  AND errorcode IN ('AccessDenied', 'AccessDeniedException')
  AND eventname IN ('Decrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'DescribeKey')
  AND (
    useridentity.invokedby = 'kinesis.amazonaws.com'
    OR sourceipaddress = 'kinesis.amazonaws.com'
    OR json_extract(requestparameters, '$.encryptionContext["aws:kinesis:arn"]') IS NOT NULL
  )
ORDER BY eventtime, eventid
