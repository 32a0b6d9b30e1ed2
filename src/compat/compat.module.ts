import { Module } from '@nestjs/common';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { ContactsModule } from '../contacts/contacts.module';
import { MessagesModule } from '../messages/messages.module';
import { SendingModule } from '../sending/sending.module';
import { SessionsModule } from '../sessions/sessions.module';
import { StatsModule } from '../stats/stats.module';
import { DjangoMetaCompatController } from './django-meta.controller';
import { FlaskBaileysCompatController } from './flask-baileys.controller';
import { NextjsSessionsCompatController } from './nextjs-sessions.controller';
import { OdooWablasCompatController } from './odoo-wablas.controller';

/** One thin controller per seed system, mapping its routes and shapes onto our services. */
@Module({
  imports: [WebhooksModule, SessionsModule, ContactsModule, MessagesModule, SendingModule, StatsModule],
  controllers: [OdooWablasCompatController, NextjsSessionsCompatController, DjangoMetaCompatController, FlaskBaileysCompatController],
})
export class CompatModule {}
