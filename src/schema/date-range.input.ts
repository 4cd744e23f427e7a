import { Field, InputType, ObjectType } from 'type-graphql';
import { DateScalar } from './scalars.js';

@InputType({ description: 'A range of calendar days in the store\'s time zone, both ends included. At most MAX_RANGE_DAYS days long.' })
export class DateRangeInput {
  @Field(() => DateScalar, { description: 'First day of the range (included).' })
  from!: string;

  @Field(() => DateScalar, { description: 'Last day of the range (included); not before `from`.' })
  to!: string;
}

@ObjectType({ description: 'A range of calendar days in the store\'s time zone, both ends included.' })
export class DateRange {
  @Field(() => DateScalar, { description: 'First day (included).' })
  from!: string;

  @Field(() => DateScalar, { description: 'Last day (included).' })
  to!: string;

  static of(r: { from: string; to: string }): DateRange {
    return Object.assign(new DateRange(), { from: r.from, to: r.to });
  }
}
