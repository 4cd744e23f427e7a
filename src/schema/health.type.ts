import { Field, Float, ObjectType } from 'type-graphql';

@ObjectType({ description: 'Whether the service and what it depends on are up.' })
export class Health {
  @Field(() => String, { description: '"ok" when the warehouse and Redis answer, otherwise "degraded".' })
  status!: string;

  @Field(() => String, { description: 'The running version of ecommerce-analytics.' })
  version!: string;

  @Field(() => String, { description: 'Warehouse engine: "embedded" (chdb in-process) or "server" (ClickHouse over HTTP).' })
  engine!: string;

  @Field(() => Boolean, { description: 'The warehouse answered a query just now.' })
  warehouse!: boolean;

  @Field(() => Boolean, { description: 'Redis answered PING just now.' })
  redis!: boolean;

  @Field(() => Float, { description: 'Seconds since this process started.' })
  uptimeSeconds!: number;
}
