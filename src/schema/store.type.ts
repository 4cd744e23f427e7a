import { Field, ID, ObjectType } from 'type-graphql';

/** A shop (tenant) whose data this deployment serves. */
@ObjectType({ description: 'A shop (tenant) whose data this deployment serves.' })
export class Store {
  @Field(() => ID, { description: 'Store id, as passed in every `store` argument.' })
  id!: string;

  @Field(() => String, { description: 'Display name.' })
  name!: string;

  @Field(() => String, { description: 'IANA time zone in which the store\'s dates (`Date` values) are reckoned.' })
  timezone!: string;

  @Field(() => String, { description: 'ISO 3166-1 alpha-2 country of the store (its holiday calendar); empty when unknown.' })
  country!: string;

  @Field(() => String, { description: 'ISO 4217 currency of the store\'s money amounts.' })
  currency!: string;
}
