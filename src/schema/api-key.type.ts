import { Field, ID, Int, ObjectType } from 'type-graphql';
import type { ApiKeyRecord, Scope } from '../auth/api-keys.js';
import { ScopeEnum } from './scope.enum.js';
import { DateTimeScalar } from './scalars.js';

@ObjectType({ description: 'An API key as an admin sees it. The key itself is never shown again after createApiKey, and its hash never.' })
export class ApiKey {
  @Field(() => ID, { description: 'Stable id of the key; revokeApiKey takes it.' })
  id!: string;

  @Field(() => String, { description: 'Name given at creation, to tell keys apart.' })
  name!: string;

  @Field(() => [ScopeEnum], { description: 'What the key may do.' })
  scopes!: Scope[];

  @Field(() => [ID], { description: 'Stores the key may see; empty means every store.' })
  stores!: string[];

  @Field(() => Int, { description: 'Requests per minute this key may make; 0 means the server default (RATE_LIMIT_PER_MINUTE).' })
  rateLimit!: number;

  @Field(() => DateTimeScalar, { description: 'When the key was created (UTC).' })
  createdAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When the key was revoked (UTC); null while it is active.' })
  revokedAt!: Date | null;

  static from(r: ApiKeyRecord): ApiKey {
    return Object.assign(new ApiKey(), {
      id: r.keyId,
      name: r.name,
      scopes: r.scopes,
      stores: r.stores,
      rateLimit: r.rateLimit,
      createdAt: new Date(r.createdAt),
      revokedAt: r.revokedAt ? new Date(r.revokedAt) : null,
    });
  }
}

@ObjectType({ description: 'A newly created API key: the only time the plain key is shown.' })
export class CreatedApiKey {
  @Field(() => String, { description: 'The plain key. Store it now: only its SHA-256 hash is kept, so it cannot be shown again.' })
  key!: string;

  @Field(() => ApiKey, { description: 'The new key\'s settings.' })
  apiKey!: ApiKey;
}
