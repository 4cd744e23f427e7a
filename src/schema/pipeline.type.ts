import { Field, ID, Int, ObjectType } from 'type-graphql';
import { DateTimeScalar } from './scalars.js';

@ObjectType({ description: 'Job counts of one queue.' })
export class QueueStatus {
  @Field(() => String, { description: 'Queue name.' })
  queue!: string;

  @Field(() => Int, { description: 'Jobs waiting to run.' })
  waiting!: number;

  @Field(() => Int, { description: 'Jobs running now.' })
  active!: number;

  @Field(() => Int, { description: 'Jobs waiting for their (retry or debounce) time.' })
  delayed!: number;

  @Field(() => Int, { description: 'Jobs that failed all their attempts (retryFailedJobs retries them).' })
  failed!: number;

  @Field(() => Int, { description: 'Completed jobs still kept.' })
  completed!: number;
}

@ObjectType({ description: 'One run of a pipeline job (its latest status).' })
export class PipelineRun {
  @Field(() => ID, { description: 'Run id.' })
  runId!: string;

  @Field(() => String, { description: 'Job name (e.g. aggregate, segments, import-file).' })
  jobName!: string;

  @Field(() => String, { description: 'Queue the job ran on.' })
  queue!: string;

  @Field(() => String, { description: 'BullMQ job id.' })
  jobId!: string;

  @Field(() => String, { description: 'Id of the flow the run belongs to ("" when none).' })
  flowId!: string;

  @Field(() => ID, { description: 'Store the run worked on.' })
  storeId!: string;

  @Field(() => String, { description: 'JSON of the run\'s scope: {"dates":[…]}, {"from","to"} or {"full":true}.' })
  scope!: string;

  @Field(() => String, { description: 'running, completed or failed.' })
  status!: string;

  @Field(() => Int, { description: 'Attempt number, from 1.' })
  attempt!: number;

  @Field(() => DateTimeScalar, { description: 'When the run started.' })
  startedAt!: string;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When it finished; null while running.' })
  finishedAt!: string | null;

  @Field(() => Int, { description: 'Duration in milliseconds.' })
  durationMs!: number;

  @Field(() => Int, { description: 'Rows written.' })
  rows!: number;

  @Field(() => String, { description: 'Why it failed ("" unless failed).' })
  error!: string;

  @Field(() => String, { description: 'JSON details (e.g. differences a reconciliation found); "" when none.' })
  details!: string;
}

@ObjectType({ description: 'Rejected rows of a batch with one reason.' })
export class RejectCount {
  @Field(() => String, { description: 'Reason code (e.g. invalid_enum, missing_field, out_of_range).' })
  reason!: string;

  @Field(() => Int, { description: 'Rows rejected for it.' })
  count!: number;
}

@ObjectType({ description: 'A rejected source row.' })
export class RejectedRow {
  @Field(() => Int, { description: 'Row number in the source (from 1).' })
  rowNumber!: number;

  @Field(() => String, { description: 'Entity the row was read as.' })
  entity!: string;

  @Field(() => String, { description: 'Field at fault.' })
  field!: string;

  @Field(() => String, { description: 'Reason code.' })
  reason!: string;

  @Field(() => String, { description: 'What is wrong, for people.' })
  message!: string;

  @Field(() => String, { description: 'The row as received (JSON).' })
  raw!: string;
}

@ObjectType({ description: 'An import (file) or event batch with its reconciled counts: read = inserted + unchanged + rejected.' })
export class ImportBatch {
  @Field(() => ID, { description: 'Batch id.' })
  batchId!: string;

  @Field(() => ID, { description: 'Store the batch loaded into.' })
  storeId!: string;

  @Field(() => String, { description: 'File name or "events".' })
  source!: string;

  @Field(() => String, { description: 'Uploaded file name ("" for events).' })
  fileName!: string;

  @Field(() => String, { description: 'Queue job id ("" when loaded directly).' })
  jobId!: string;

  @Field(() => String, { description: 'Entity loaded (orders, order_items, …).' })
  entity!: string;

  @Field(() => String, { description: 'Source format (csv, jsonl, xlsx, online-retail, json).' })
  format!: string;

  @Field(() => String, { description: 'running, completed or failed.' })
  status!: string;

  @Field(() => Int, { description: 'Rows read.' })
  read!: number;

  @Field(() => Int, { description: 'Rows inserted (new or changed).' })
  inserted!: number;

  @Field(() => Int, { description: 'Rows already stored identically.' })
  unchanged!: number;

  @Field(() => Int, { description: 'Rows rejected.' })
  rejected!: number;

  @Field(() => DateTimeScalar, { description: 'When the batch started.' })
  startedAt!: string;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When it finished; null while running.' })
  finishedAt!: string | null;

  @Field(() => String, { description: 'Why it failed ("" unless failed).' })
  error!: string;

  @Field(() => [RejectCount], { nullable: true, description: 'Rejects counted by reason, most frequent first (importBatch only; null in lists).' })
  rejectsByReason?: RejectCount[] | null;

  @Field(() => [RejectedRow], { nullable: true, description: 'The first rejected rows by row number (importBatch only; null in lists).' })
  sampleRejects?: RejectedRow[] | null;
}

@ObjectType({ description: 'A queued job that failed all its attempts (retryFailedJobs retries it).' })
export class FailedJob {
  @Field(() => String, { description: 'Queue name.' })
  queue!: string;

  @Field(() => ID, { description: 'Job id.' })
  jobId!: string;

  @Field(() => String, { description: 'Job name (e.g. import-file, aggregate).' })
  name!: string;

  @Field(() => String, { description: 'Store of the job ("" when it has none).' })
  storeId!: string;

  @Field(() => String, { description: 'Why the last attempt failed.' })
  failedReason!: string;

  @Field(() => Int, { description: 'Attempts made.' })
  attemptsMade!: number;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When it failed; null when unknown.' })
  failedAt!: string | null;
}

@ObjectType({ description: 'Health of the ingestion and analytics pipeline.' })
export class Pipeline {
  @Field(() => [QueueStatus], { nullable: true, description: 'Job counts per queue (all stores); null for a key limited to some stores.' })
  queues!: QueueStatus[] | null;

  @Field(() => [PipelineRun], { description: 'The most recent runs, newest first.' })
  recentRuns!: PipelineRun[];

  @Field(() => [PipelineRun], { description: 'The most recent failed runs, newest first, with their error.' })
  failures!: PipelineRun[];

  @Field(() => [FailedJob], { description: 'Queued jobs that failed all their attempts, newest first, with the reason (of the key\'s stores only, for a key limited to stores).' })
  failedJobs!: FailedJob[];
}
