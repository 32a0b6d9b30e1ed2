import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config';
import { AdvisoryLocks } from './advisory-locks';
import { buildDataSourceOptions } from './data-source-options';

/** The database connection (TypeORM, PostgreSQL or the embedded PGlite) and advisory locks, for every module. */
@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({ ...buildDataSourceOptions(config), retryAttempts: 3, retryDelay: 1000 }),
    }),
  ],
  providers: [AdvisoryLocks],
  exports: [AdvisoryLocks],
})
export class DatabaseModule {}
