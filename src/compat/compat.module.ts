import { Module } from '@nestjs/common';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { OdooWablasCompatController } from './odoo-wablas.controller';

/** One thin controller per seed system, mapping its routes and shapes onto our services. */
@Module({ imports: [WebhooksModule], controllers: [OdooWablasCompatController] })
export class CompatModule {}
