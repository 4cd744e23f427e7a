import { Field, ID, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A record of an ingestEvents batch that was refused, and why.' })
export class RejectedEvent {
  @Field(() => Int, { description: 'Position of the record in the events argument, from 0.' })
  index!: number;

  @Field(() => String, { description: 'The first field at fault.' })
  field!: string;

  @Field(() => String, { description: 'Machine-readable reason, e.g. invalid_enum, invalid_value, missing.' })
  reason!: string;

  @Field(() => String, { description: 'What is wrong with the record, for people.' })
  message!: string;
}

@ObjectType({ description: 'Answer to ingestEvents: the batch is queued durably; good records are stored by a worker shortly after.' })
export class IngestEventsResult {
  @Field(() => ID, { description: 'Id of the queued batch job; the same batch for the same store always gets the same id.' })
  jobId!: string;

  @Field(() => Int, { description: 'Records received.' })
  received!: number;

  @Field(() => Int, { description: 'Records that passed validation and will be stored (records already stored are kept once).' })
  accepted!: number;

  @Field(() => Boolean, { description: 'True when this exact batch was already submitted: nothing new was queued.' })
  duplicate!: boolean;

  @Field(() => [RejectedEvent], { description: 'Records refused, with the reason; they are kept in rejected_records.' })
  rejected!: RejectedEvent[];
}
