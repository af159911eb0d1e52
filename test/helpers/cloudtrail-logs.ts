/** The CloudTrail log generator lives beside the scan bench (bench/ never imports test/). */
export * from '../../bench/fixtures/cloudtrail-logs';
