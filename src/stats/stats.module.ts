import { Module } from '@nestjs/common';
import { StatsController } from './stats.controller';
import { StatsCompactor } from './stats-compactor';
import { StatsService } from './stats.service';

@Module({ controllers: [StatsController], providers: [StatsService, StatsCompactor], exports: [StatsService] })
export class StatsModule {}
