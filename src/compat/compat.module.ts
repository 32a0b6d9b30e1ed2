import { Module } from '@nestjs/common';
import { IngestModule } from '../ingest/ingest.module';
import { ProvidersModule } from '../providers/providers.module';
import { ConversationsModule } from '../conversations/conversations.module';
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
  imports: [IngestModule, ProvidersModule, SessionsModule, ContactsModule, ConversationsModule, MessagesModule, SendingModule, StatsModule],
  controllers: [OdooWablasCompatController, NextjsSessionsCompatController, DjangoMetaCompatController, FlaskBaileysCompatController],
})
export class CompatModule {}
