import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKeyEntity } from './api-key.entity';
import { ApiKeysService } from './api-keys.service';
import { ThrottlerModule, ThrottlerStorage } from '@nestjs/throttler';
import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AppConfig } from '../config/app-config';
import { ApiKeyGuard, requiredScope } from './api-key.guard';
import { ApiThrottlerGuard } from './api-throttler.guard';
import { FailedAuthLimiter } from './failed-auth-limiter';
import { SharedCounters, SharedThrottlerStorage } from './shared-counters';
import { SharedCountersRepository, SharedCountersStore } from './shared-counters.repository';
import { RedisCountersStore } from './shared-counters.redis';
import { DataSource } from 'typeorm';

@Global()
@Module({
  imports: [
    TypeOrmModule.forFeature([ApiKeyEntity]),
    ThrottlerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => {
        const reflector = new Reflector();
        const perScope = {
          read: config.RATE_LIMIT_READ_PER_MINUTE ?? config.RATE_LIMIT_PER_MINUTE,
          send: config.RATE_LIMIT_SEND_PER_MINUTE ?? config.RATE_LIMIT_PER_MINUTE,
          admin: config.RATE_LIMIT_ADMIN_PER_MINUTE ?? config.RATE_LIMIT_PER_MINUTE,
        };
        return {
          throttlers: [{ name: 'default', ttl: 60_000, limit: (ctx: ExecutionContext) => perScope[requiredScope(reflector, ctx)] }],
        };
      },
    }),
  ],
  // Guard order matters: the key is authenticated first, so the throttler can count per key.
  providers: [
    ApiKeysService,
    FailedAuthLimiter,
    // Where processes' counts meet: Redis when REDIS_URL is set (boot fails when it does not answer), else PostgreSQL.
    {
      provide: SharedCountersStore,
      inject: [AppConfig, DataSource],
      useFactory: (config: AppConfig, db: DataSource): SharedCountersStore | Promise<SharedCountersStore> =>
        config.REDIS_URL ? RedisCountersStore.connect(config.REDIS_URL, config.REDIS_KEY_PREFIX) : new SharedCountersRepository(db),
    },
    SharedCounters,
    // The guard's storage: counts shared by every process on the database instead of the throttler's in-memory map.
    SharedThrottlerStorage,
    { provide: ThrottlerStorage, useExisting: SharedThrottlerStorage },
    { provide: APP_GUARD, useClass: ApiKeyGuard },
    { provide: APP_GUARD, useClass: ApiThrottlerGuard },
  ],
  exports: [ApiKeysService, FailedAuthLimiter, SharedCounters],
})
export class AuthModule {}
