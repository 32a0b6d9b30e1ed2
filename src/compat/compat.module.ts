import { Module } from '@nestjs/common';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { SessionsModule } from '../sessions/sessions.module';
import { NextjsSessionsCompatController } from './nextjs-sessions.controller';
import { OdooWablasCompatController } from './odoo-wablas.controller';

/** One thin controller per seed system, mapping its routes and shapes onto our services. */
@Module({ imports: [WebhooksModule, SessionsModule], controllers: [OdooWablasCompatController, NextjsSessionsCompatController] })
export class CompatModule {}
