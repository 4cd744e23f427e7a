import { Field, ID, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'An import job: a file under DATA_DIR/incoming queued for the import worker.' })
export class ImportJob {
  @Field(() => ID, { description: 'Job id: the same file for the same store and entity always gets the same id (GET /v1/imports/:jobId follows it).' })
  jobId!: string;

  @Field(() => String, { description: 'BullMQ state: waiting, active, completed, failed, delayed, …' })
  state!: string;

  @Field(() => ID, { description: 'Store the file is imported into.' })
  store!: string;

  @Field(() => String, { description: 'File name.' })
  file!: string;

  @Field(() => String, { nullable: true, description: 'Entity the file holds (null for the online-retail format).' })
  entity!: string | null;

  @Field(() => String, { nullable: true, description: 'Format asked for (null: detected from the file).' })
  format!: string | null;

  @Field(() => Int, { description: 'Attempts made so far.' })
  attemptsMade!: number;

  @Field(() => String, { nullable: true, description: 'Why the last attempt failed; null unless it did.' })
  failedReason!: string | null;

  @Field(() => Boolean, { description: 'True when this exact file was already queued for the store and entity: nothing new was queued.' })
  duplicate!: boolean;
}

@ObjectType({ description: 'Failed jobs of one queue moved back to waiting.' })
export class RetriedJobs {
  @Field(() => String, { description: 'Queue name.' })
  queue!: string;

  @Field(() => Int, { description: 'Jobs retried.' })
  retried!: number;

  @Field(() => [String], { description: 'Their job ids.' })
  jobIds!: string[];
}

@ObjectType({ description: 'A rebuild of one store\'s aggregates, queued as an analytics flow.' })
export class RebuildFlow {
  @Field(() => ID, { description: 'Store rebuilt.' })
  store!: string;

  @Field(() => ID, { description: 'Flow id (GET /v1/flows/:store/:flowId follows it).' })
  flowId!: string;

  @Field(() => String, { description: 'Job id of the flow\'s last step: the rebuild is done when it is completed.' })
  rootJobId!: string;

  @Field(() => [String], { description: 'Steps of the flow in the order they run (rollups first, data version last).' })
  steps!: string[];
}
