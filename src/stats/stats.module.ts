import { Module } from '@nestjs/common';
import { StatsController } from './stats.controller';
import { StatsCompactor } from './stats-compactor';
import { StatsRepository } from './stats.repository';
import { StatsService } from './stats.service';

@Module({ controllers: [StatsController], providers: [StatsService, StatsCompactor, StatsRepository], exports: [StatsService] })
export class StatsModule {}
